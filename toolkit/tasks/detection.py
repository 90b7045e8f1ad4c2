"""Detection task: decode ``[4 + nc, N]`` outputs (NMS on the host, or an end-to-end head's top-k), COCO mAP via
pycocotools."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EdgekitError
from .boxes import Letterbox, nms, xywh_to_xyxy


@dataclass(frozen=True)
class DetectionDecoding:
    """How raw detector output becomes boxes (recorded in the manifest)."""

    #: ``xywh-scores``: one ``[B, 4 + nc, N]`` tensor, xywh in input pixels + class scores, NMS on the host (a
    #: one-to-many head); ``xyxy-topk``: the same tensor from an end-to-end (one-to-one) head, xyxy boxes, selected
    #: by top-k without NMS exactly as Ultralytics' ``Detect.postprocess`` does (a property of the model, kept
    #: when a preset changes the rest)
    format: str = "xywh-scores"
    conf_threshold: float = 0.001
    iou_threshold: float = 0.6
    max_detections: int = 300
    pre_nms_topk: int = 3000
    #: every class above ``conf_threshold`` of an anchor is a candidate (as ``yolo val``), not only its best
    multi_label: bool = False
    #: input pixels per unit of the output's xywh: 1, or the input size for boxes normalised to 0..1
    #: (Ultralytics' TFLite exports); a property of the model, kept when a preset changes the rest
    box_scale: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> DetectionDecoding:
        """Checked: known keys, thresholds in [0, 1], positive counts."""
        from ..schema import check_object

        types = {
            "format": str,
            "conf_threshold": (int, float),
            "iou_threshold": (int, float),
            "max_detections": int,
            "pre_nms_topk": int,
            "multi_label": bool,
            "box_scale": (int, float),
        }
        data = check_object(data, "decoding", {}, types)
        decoding = cls(**data)
        if (
            decoding.format not in DECODING_FORMATS
            or not (0 <= decoding.conf_threshold <= 1 and 0 <= decoding.iou_threshold <= 1)
            or decoding.max_detections < 1
            or decoding.pre_nms_topk < 1
            or not decoding.box_scale > 0
        ):
            raise EdgekitError(f"decoding: unsupported values {data}")
        return decoding


#: what a detector's output holds (``DetectionDecoding.format``): NMS on the host, or end-to-end top-k
DECODING_FORMATS = ("xywh-scores", "xyxy-topk")


#: evaluation settings by name (``edgekit bench --preset``): the manifest's own, or those of ``yolo val``
#: (Ultralytics' defaults: conf 0.001, NMS IoU 0.7, 300 detections, multi-label, up to 30000 candidates)
EVALUATION_PRESETS: dict[str, DetectionDecoding] = {
    "edgekit": DetectionDecoding(),
    "ultralytics": DetectionDecoding(
        conf_threshold=0.001, iou_threshold=0.7, max_detections=300, pre_nms_topk=30000, multi_label=True
    ),
}


def _candidates(scores_all: np.ndarray, spec: DetectionDecoding) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(anchor index, class, score) of every candidate above the confidence threshold."""
    if spec.multi_label:
        anchors, classes = np.nonzero(scores_all > spec.conf_threshold)
        return anchors, classes, scores_all[anchors, classes]
    classes = scores_all.argmax(1)
    scores = scores_all[np.arange(len(classes)), classes]
    anchors = np.flatnonzero(scores > spec.conf_threshold)
    return anchors, classes[anchors], scores[anchors]


def decode_detections(output: np.ndarray, spec: DetectionDecoding) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's ``[4 + nc, N]`` output -> (xyxy in input pixels, scores, class indices) after NMS."""
    return select_detections(output, spec)[1:]


def select_detections(
    output: np.ndarray, spec: DetectionDecoding, classes_stop: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One image's ``[4 + nc (+ more), N]`` output -> (kept anchor indices, xyxy in input pixels, scores, class
    indices) after NMS; the class scores are rows ``4:classes_stop`` (the rest: per-anchor extras such as
    keypoints, which the anchor indices pick).

    Anchors with a non-finite box or score are no candidates: one NaN box would make NMS's class offset NaN.
    An end-to-end head's output (``xyxy-topk``) is selected by top-k instead (``select_end_to_end``).
    """
    if spec.format == "xyxy-topk":
        return select_end_to_end(output, spec, classes_stop)
    anchors, classes, scores = _candidates(output[4:classes_stop].T, spec)
    finite = np.isfinite(output[:4].T[anchors]).all(1) & np.isfinite(scores)
    anchors, classes, scores = anchors[finite], classes[finite], scores[finite]
    if anchors.size > spec.pre_nms_topk:
        top = np.argsort(-scores, kind="stable")[: spec.pre_nms_topk]
        anchors, classes, scores = anchors[top], classes[top], scores[top]
    xyxy = xywh_to_xyxy(output[:4].T[anchors].astype(np.float64) * spec.box_scale)
    kept = nms(xyxy, scores, classes, spec.iou_threshold, spec.max_detections)
    return anchors[kept], xyxy[kept], scores[kept], classes[kept]


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values, largest first (ties: the lower index first, as a stable sort)."""
    return np.argsort(-values, kind="stable")[:k]


def select_end_to_end(
    output: np.ndarray, spec: DetectionDecoding, classes_stop: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """An end-to-end head's ``[4 + nc, N]`` output (xyxy boxes) -> (anchor indices, xyxy, scores, classes), no
    NMS: the ``max_detections`` anchors with the highest best-class score, then the ``max_detections`` highest
    (anchor, class) scores among them, then those above ``conf_threshold`` (Ultralytics' ``get_topk_index``
    followed by its validator's end-to-end filter). Non-finite scores or boxes are never selected."""
    boxes = output[:4].T.astype(np.float64) * spec.box_scale
    scores_all = np.nan_to_num(output[4:classes_stop].T.astype(np.float64), nan=-np.inf)
    scores_all[~np.isfinite(boxes).all(1)] = -np.inf
    k = min(spec.max_detections, scores_all.shape[0])
    anchors = _top(scores_all.max(1), k)
    pairs = _top(scores_all[anchors].reshape(-1), k)
    nc = scores_all.shape[1]
    anchors, classes = anchors[pairs // nc], pairs % nc
    scores = scores_all[anchors, classes]
    kept = scores > spec.conf_threshold
    return anchors[kept], boxes[anchors[kept]], scores[kept], classes[kept]


def to_coco_results(
    image_id: int, xyxy: np.ndarray, scores: np.ndarray, classes: np.ndarray, category_ids: list[int]
) -> list[dict[str, Any]]:
    """Detections in COCO results format (``bbox`` is x, y, w, h in original image pixels)."""
    return [
        {
            "image_id": image_id,
            "category_id": category_ids[int(c)],
            "bbox": [
                round(float(b[0]), 3),
                round(float(b[1]), 3),
                round(float(b[2] - b[0]), 3),
                round(float(b[3] - b[1]), 3),
            ],
            "score": round(float(s), 5),
        }
        for b, s, c in zip(xyxy, scores, classes)
    ]


def predict_image(
    output: np.ndarray,
    spec: DetectionDecoding,
    box: Letterbox,
    image_id: int,
    height: int,
    width: int,
    category_ids: list[int],
) -> list[dict[str, Any]]:
    """Decode one image's output and map it back to original-image COCO results."""
    xyxy, scores, classes = decode_detections(output, spec)
    return to_coco_results(image_id, box.boxes_to_original(xyxy, height, width), scores, classes, category_ids)


def coco_map(annotations_path: Path, results: list[dict[str, Any]]) -> dict[str, float]:
    """COCO bbox metrics by pycocotools: mAP50-95, mAP50, mAP75 and per-size APs."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    keys = ("map50_95", "map50", "map75", "map_small", "map_medium", "map_large")
    if not results:
        return dict.fromkeys(keys, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(annotations_path))
        dt = gt.loadRes(json.loads(json.dumps(results)))
        evaluator = COCOeval(gt, dt, "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    # pycocotools reports -1 where a size bucket has no ground truth
    return {k: max(float(v), 0.0) for k, v in zip(keys, evaluator.stats[:6])}

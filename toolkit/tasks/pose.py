"""Pose task: decode ``[4 + nc + K * d, N]`` outputs (boxes, class scores, K keypoints of d = 2 or 3 values per
anchor, as Ultralytics' ``-pose`` models export them), NMS on the host, OKS mAP via pycocotools (numpy only).

OKS uses COCO's per-keypoint sigmas for 17 keypoints and ``1 / K`` each otherwise, as ``yolo val`` does; the
ground truth's ``area`` is the object's scale (edgekit's YOLO reader writes box area x 0.53, as ``yolo val``).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..card import ModelCard
from ..data.datasets import DetectionDataset, ImageRecord
from ..errors import DataError
from ..schema import read_json_file
from .boxes import Letterbox
from .detection import DetectionDecoding, coco_map, select_detections, to_coco_results
from .evaluation import Progress, predict_images


def keypoint_count(annotations_path: Path) -> int:
    """Keypoints per object in a COCO keypoints file: its first category's names, else the first annotation's."""
    coco = read_json_file(annotations_path, "COCO JSON", DataError)
    named = [c.get("keypoints") for c in coco["categories"] if isinstance(c.get("keypoints"), list)]
    flat = next((a["keypoints"] for a in coco["annotations"] if a.get("keypoints")), None)
    count = len(named[0]) if named else (len(flat) // 3 if flat and not len(flat) % 3 else 0)
    if not count:
        raise DataError(f"{annotations_path}: no keypoint names in its categories and no keypoints to count")
    for index, ann in enumerate(coco["annotations"]):
        if ann.get("keypoints") and len(ann["keypoints"]) != 3 * count:
            raise DataError(
                f"{annotations_path}: annotations[{index}] has {len(ann['keypoints']) // 3} keypoints, its "
                f"category names {count}"
            )
    return count


def keypoint_dims(channels: int, classes: int, count: int) -> int:
    """Values per keypoint (2: x, y; 3: x, y, visibility) in an output of ``channels`` rows; ``DataError`` when
    the rows are not 4 box + ``classes`` scores + ``count`` keypoints."""
    extra = channels - 4 - classes
    if extra <= 0 or extra % count or extra // count not in (2, 3):
        raise DataError(
            f"model output has {channels} rows per anchor; a pose model for {classes} classes and "
            f"{count} keypoints has {4 + classes + 2 * count} or {4 + classes + 3 * count}"
        )
    return extra // count


def to_original(points: np.ndarray, box: Letterbox, height: int, width: int) -> np.ndarray:
    """Keypoints ``[..., 2]`` from the letterboxed frame back to the original image, clipped to it."""
    out = points.astype(np.float64, copy=True)
    out[..., 0] = ((out[..., 0] - box.left) / box.ratio).clip(0, width)
    out[..., 1] = ((out[..., 1] - box.top) / box.ratio).clip(0, height)
    return out


def predict_pose(
    output: np.ndarray,
    spec: DetectionDecoding,
    classes: int,
    count: int,
    box: Letterbox,
    image_id: int,
    height: int,
    width: int,
    category_ids: list[int],
) -> list[dict[str, Any]]:
    """One image's output as COCO results: each detection's ``bbox`` plus its ``keypoints`` (x, y, score)."""
    dims = keypoint_dims(output.shape[0], classes, count)
    anchors, xyxy, scores, labels = select_detections(output, spec, 4 + classes)
    points = output[4 + classes :, anchors].T.reshape(len(anchors), count, dims).astype(np.float64)
    xy = to_original(points[..., :2] * spec.box_scale, box, height, width)
    visible = points[..., 2] if dims == 3 else np.ones(xy.shape[:2])
    results = to_coco_results(image_id, box.boxes_to_original(xyxy, height, width), scores, labels, category_ids)
    for result, where, seen in zip(results, xy, visible):
        result["keypoints"] = [round(float(v), 3) for xyv in zip(where[:, 0], where[:, 1], seen) for v in xyv]
    return results


def oks_map(annotations_path: Path, results: list[dict[str, Any]], count: int, max_detections: int) -> dict[str, float]:
    """Keypoint mAP50-95 and mAP50 over OKS thresholds, by pycocotools (up to ``max_detections`` per image)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not results:
        return {"oks_map50_95": 0.0, "oks_map50": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(annotations_path))
        evaluator = COCOeval(gt, gt.loadRes(json.loads(json.dumps(results))), "keypoints")
        if count != 17:  # else pycocotools' own: COCO's person sigmas
            evaluator.params.kpt_oks_sigmas = np.full(count, 1.0 / count)
        evaluator.params.maxDets = [max_detections]
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][:, :, :, 0, -1]  # [OKS threshold, recall, class], all areas

    def mean(values: np.ndarray) -> float:
        valid = values[values > -1]  # -1: a class without ground truth
        return float(valid.mean()) if valid.size else 0.0

    return {"oks_map50_95": mean(precision), "oks_map50": mean(precision[0])}


def evaluate_pose(
    session: Any,
    card: ModelCard,
    dataset: DetectionDataset,
    tick: Progress | None = None,
    decoding: DetectionDecoding | None = None,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """OKS mAP (and box mAP) of ``session`` on a keypoints ``dataset``; returns (metrics, COCO results)."""
    spec = decoding or DetectionDecoding.from_dict(card.decoding or {})
    count, classes = keypoint_count(dataset.annotations_path), len(dataset.class_names)

    def predict(output: np.ndarray, box: Letterbox, record: ImageRecord) -> list[dict[str, Any]]:
        return predict_pose(
            output, spec, classes, count, box, record.image_id, record.height, record.width, dataset.category_ids
        )

    results = predict_images(session, card, dataset, predict, tick)
    metrics = oks_map(dataset.annotations_path, results, count, spec.max_detections)
    box_metrics = coco_map(dataset.annotations_path, results)
    return {**metrics, "map50_95": box_metrics["map50_95"], "map50": box_metrics["map50"]}, results

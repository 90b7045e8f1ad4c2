"""Where the gap between ``edgekit bench`` and ``yolo val`` comes from, setting by setting (edgekit's venv).

    python benchmarks/yolov8n/eval_settings.py      # -> benchmarks/yolov8n/eval_settings.json

The committed YOLOv8n ONNX is run once on the 200 val images (ONNX Runtime); its outputs are then scored by
pycocotools with the default decoding, with NMS IoU 0.7, and with ``--preset ultralytics`` (IoU 0.7 plus
multi-label candidates). A second pass resizes like OpenCV's ``INTER_LINEAR`` (half-pixel bilinear without
antialiasing) instead of Pillow's bilinear, to size that difference too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
from edgekit.data.preprocess import Preprocessing, read_image
from edgekit.data.resolve import resolve_dataset
from edgekit.tasks.boxes import Letterbox
from edgekit.tasks.detection import EVALUATION_PRESETS, DetectionDecoding, coco_map, predict_image

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent / "models" / "yolov8n-shapes.onnx"
SETTINGS = {
    "edgekit default (IoU 0.6, best class)": DetectionDecoding(),
    "NMS IoU 0.7": DetectionDecoding(iou_threshold=0.7),
    "--preset ultralytics (IoU 0.7, multi-label)": EVALUATION_PRESETS["ultralytics"],
}


def _opencv_linear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 HWC resized like ``cv2.resize(..., INTER_LINEAR)``: half-pixel centres, no antialiasing."""
    height, width = image.shape[:2]
    xs = np.clip((np.arange(size[0]) + 0.5) * width / size[0] - 0.5, 0, width - 1)
    ys = np.clip((np.arange(size[1]) + 0.5) * height / size[1] - 0.5, 0, height - 1)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (xs - x0)[None, :, None], (ys - y0)[:, None, None]
    pixels = image.astype(np.float32)
    top = pixels[y0][:, x0] * (1 - fx) + pixels[y0][:, x1] * fx
    bottom = pixels[y1][:, x0] * (1 - fx) + pixels[y1][:, x1] * fx
    return np.clip(np.round(top * (1 - fy) + bottom * fy), 0, 255).astype(np.uint8)


def _opencv_letterbox(image: np.ndarray, preprocessing: Preprocessing) -> tuple[np.ndarray, Letterbox]:
    """The same letterbox as ``preprocessing.apply``, resized the OpenCV way."""
    box = Letterbox.fit(image.shape[0], image.shape[1], preprocessing.size)
    canvas = np.full((preprocessing.size, preprocessing.size, 3), preprocessing.pad_value, dtype=np.uint8)
    canvas[box.top : box.top + box.new_height, box.left : box.left + box.new_width] = _opencv_linear(
        image, (box.new_width, box.new_height)
    )
    return preprocessing.normalize(canvas), box


def _outputs(resize: str) -> tuple[list, object]:
    session = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    preprocessing = Preprocessing(size=256, resize="letterbox")
    dataset = resolve_dataset("shapes-det", "val")
    out = []
    for record in dataset.images:
        image = read_image(record.path)
        chw, box = preprocessing.apply(image) if resize == "pillow" else _opencv_letterbox(image, preprocessing)
        out.append((record, box, session.run(None, {"images": chw[None]})[0][0]))
    return out, dataset


def _score(outputs: list, dataset, decoding: DetectionDecoding) -> dict[str, float]:
    results = []
    for record, box, output in outputs:
        results += predict_image(
            output, decoding, box, record.image_id, record.height, record.width, dataset.category_ids
        )
    metrics = coco_map(dataset.annotations_path, results)
    return {"map50_95": round(metrics["map50_95"], 4), "map50": round(metrics["map50"], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where eval_settings.json goes")
    args = parser.parse_args()
    document = {
        "model": "benchmarks/models/yolov8n-shapes.onnx",
        "images": 200,
        "engine": "pycocotools",
        "yolo_val": json.loads((HERE / "yolo_val.json").read_text())["map50_95"],
        "scores": {},
    }
    for resize in ("pillow", "opencv"):
        outputs, dataset = _outputs(resize)
        for name, decoding in SETTINGS.items():
            document["scores"][f"{name}, {resize} resize"] = {
                **_score(outputs, dataset, decoding),
                "decoding": dataclasses.asdict(decoding),
            }
    (args.out_dir / "eval_settings.json").write_text(json.dumps(document, indent=2) + "\n")
    for name, score in document["scores"].items():
        print(f"{score['map50_95']:.4f}  {name}")
    print(f"{document['yolo_val']:.4f}  yolo val")


if __name__ == "__main__":
    main()

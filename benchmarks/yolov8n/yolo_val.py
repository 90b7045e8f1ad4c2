"""``yolo val`` of models on the same 200 val images edgekit scores (Ultralytics' venv, CPU, offline).

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/yolo_val.py /tmp/shapes-yolo/data.yaml
    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/yolo_val.py DATA --out benchmarks/peers/yolo_val.json \\
        /tmp/peers/int8.onnx /tmp/peers/int8_openvino_model /tmp/peers/int8.tflite

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/yolo_val.py /tmp/shapes-pose/data.yaml --task pose

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/yolo_val.py DATA --nms-free \
        --out benchmarks/yolo26/yolo_val_e2e.json benchmarks/models/yolo26n-shapes-converged.pt

``--nms-free``: ``nms=False``, Ultralytics' end-to-end (one-to-one) head of a YOLO26 checkpoint, no NMS.

Without models: the committed ONNX, into ``benchmarks/yolov8n/yolo_val.json`` (``--task pose``: the committed
YOLOv8n-pose and YOLO11n-pose into ``benchmarks/pose/yolo_val.json``): the figures ``edgekit bench --preset
ultralytics`` is held to.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTINGS = {"imgsz": 256, "batch": 1, "conf": 0.001, "iou": 0.7, "max_det": 300, "rect": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--task", default="detect", choices=("detect", "pose"))
    parser.add_argument("--nms-free", action="store_true", help="nms=False: a YOLO26's end-to-end head")
    args = parser.parse_intermixed_args()
    pose = args.task == "pose"
    models_dir = HERE.parent / "models"
    defaults = (
        [models_dir / f"{arch}-pose-shapes.onnx" for arch in ("yolov8n", "yolo11n")]
        if pose
        else [models_dir / "yolov8n-shapes.onnx"]
    )
    out = args.out or (HERE.parent / "pose" / "yolo_val.json" if pose else HERE / "yolo_val.json")
    import ultralytics
    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    models = args.models or defaults
    results = []
    for model in models:
        metrics = YOLO(str(model), task=args.task).val(
            data=args.data,
            device="cpu",
            plots=False,
            verbose=False,
            **{k: v for k, v in SETTINGS.items() if k != "rect"},
            **({"nms": False} if args.nms_free else {}),
        )
        results.append(
            {
                "model": model.name,
                "map50_95": round(float(metrics.box.map), 4),
                "map50": round(float(metrics.box.map50), 4),
            }
        )
        if pose:
            results[-1] |= {
                "oks_map50_95": round(float(metrics.pose.map), 4),
                "oks_map50": round(float(metrics.pose.map50), 4),
            }
    document = {
        "tool": f"ultralytics {ultralytics.__version__}",
        "settings": {**SETTINGS, **({"nms": False} if args.nms_free else {})},
        "images": 200,
        "results": results,
    }
    if not args.models and not pose:  # the single-model form the tests read
        document |= {**results[0], "model": f"benchmarks/models/{defaults[0].name}"}
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()

"""``yolo val`` of models on the same 200 val images edgekit scores (Ultralytics' venv, CPU, offline).

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/yolo_val.py /tmp/shapes-yolo/data.yaml
    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/yolo_val.py DATA --out benchmarks/peers/yolo_val.json \\
        /tmp/peers/int8.onnx /tmp/peers/int8_openvino_model /tmp/peers/int8.tflite

Without models: the committed ONNX, into ``benchmarks/yolov8n/yolo_val.json`` (the figure
``edgekit bench --preset ultralytics`` is held to).
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
    parser.add_argument("--out", type=Path, default=HERE / "yolo_val.json")
    args = parser.parse_intermixed_args()
    import ultralytics
    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    models = args.models or [HERE.parent / "models" / "yolov8n-shapes.onnx"]
    results = []
    for model in models:
        metrics = YOLO(str(model), task="detect").val(data=args.data, device="cpu", plots=False, verbose=False,
                                                       **{k: v for k, v in SETTINGS.items() if k != "rect"})
        results.append({"model": model.name, "map50_95": round(float(metrics.box.map), 4),
                        "map50": round(float(metrics.box.map50), 4)})
    document = {"tool": f"ultralytics {ultralytics.__version__}", "settings": SETTINGS, "images": 200,
                "results": results}
    if not args.models:  # the single-model form the tests read
        document |= {"model": "benchmarks/models/yolov8n-shapes.onnx",
                     **{k: results[0][k] for k in ("map50_95", "map50")}}
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()

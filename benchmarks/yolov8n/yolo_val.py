"""``yolo val`` of the committed ONNX on the same 200 val images edgekit scores (Ultralytics' venv, CPU, offline).

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/yolo_val.py /tmp/shapes-yolo/data.yaml

Writes ``benchmarks/yolov8n/yolo_val.json``: the figure ``edgekit bench --preset ultralytics`` is held to.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    model_path = HERE.parent / "models" / "yolov8n-shapes.onnx"
    metrics = YOLO(str(model_path), task="detect").val(data=sys.argv[1], imgsz=256, batch=1, device="cpu",
                                                        plots=False)
    import ultralytics

    result = {"model": "benchmarks/models/yolov8n-shapes.onnx", "tool": f"ultralytics {ultralytics.__version__}",
              "settings": {"imgsz": 256, "batch": 1, "conf": 0.001, "iou": 0.7, "max_det": 300, "rect": False},
              "images": 200, "map50_95": round(float(metrics.box.map), 4), "map50": round(float(metrics.box.map50), 4)}
    (HERE / "yolo_val.json").write_text(json.dumps(result, indent=2) + "\n")
    print(result)


if __name__ == "__main__":
    main()

"""Phase 1 of the peer benchmark: Ultralytics exports a committed YOLO checkpoint itself (its own venv, CPU,
offline); the YOLOv8n unless a third argument names another (``benchmarks/models/yolo11n-shapes.pt``).

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/peer_exports.py /tmp/shapes-yolo/data.yaml OUT_DIR [MODEL]

Writes OUT_DIR/{fp32.onnx, int8.onnx, int8_openvino_model/, ...} and OUT_DIR/exports.json (what worked, what
failed and why). Ultralytics calibrates INT8 on ``split=train`` here, like edgekit on its calibration split:
neither sees the val images it is scored on. Phase 2 is ``benchmarks/peers/ultralytics.py``.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

MODEL = Path(__file__).resolve().parent.parent / "models" / "yolov8n-shapes.pt"
#: name -> (format, export arguments)
EXPORTS = {
    "fp32.onnx": ("onnx", {"simplify": True}),
    "int8.onnx": ("onnx", {"int8": True, "simplify": True}),
    "int8_openvino_model": ("openvino", {"int8": True}),
    "int8.tflite": ("tflite", {"int8": True}),
}


def main() -> None:
    from ultralytics import YOLO, __version__, settings

    settings.update({"sync": False})
    data, out = sys.argv[1], Path(sys.argv[2])
    model = Path(sys.argv[3]).resolve() if len(sys.argv) > 3 else MODEL
    out.mkdir(parents=True, exist_ok=True)
    earlier = json.loads((out / "exports.json").read_text()) if (out / "exports.json").is_file() else {}
    report = {"ultralytics": __version__, "model": str(model.name), "exports": {}}
    for name, (fmt, extra) in EXPORTS.items():
        if (out / name).exists() and earlier.get("exports", {}).get(name, {}).get("status") == "ok":
            report["exports"][name] = earlier["exports"][name]  # made by an earlier run: kept
            continue
        work = out / f".work-{name}"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(model.parent, work, ignore=lambda d, files: [f for f in files if f != model.name])
        start = time.perf_counter()
        try:
            made = Path(
                YOLO(str(work / model.name)).export(
                    format=fmt, imgsz=256, device="cpu", data=data, split="train", **extra
                )
            )
            shutil.move(str(made), out / name)
            report["exports"][name] = {"status": "ok", "seconds": round(time.perf_counter() - start, 1)}
        except Exception as exc:  # noqa: BLE001 - record why an export failed and go on
            report["exports"][name] = {"status": f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
        shutil.rmtree(work, ignore_errors=True)
    (out / "exports.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

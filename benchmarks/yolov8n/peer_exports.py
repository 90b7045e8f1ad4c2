"""Phase 1 of the peer benchmark: Ultralytics exports a committed YOLO checkpoint itself (its own venv, CPU,
offline); the YOLOv8n unless a third argument names another (``benchmarks/models/yolo11n-shapes.pt``).

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/peer_exports.py /tmp/shapes-yolo/data.yaml OUT_DIR \
        [MODEL] [--imgsz 640]

Writes OUT_DIR/{fp32.onnx, int8.onnx, int8_openvino_model/, ...} and OUT_DIR/exports.json (what worked, what
failed and why, its wall time and the peak RSS of the process that made it: each export runs in a child of its
own, so the peak is that export's alone). Ultralytics calibrates INT8 on ``split=train`` here, like edgekit on
its calibration split: neither sees the val images it is scored on. Phase 2 is ``benchmarks/peers/ultralytics.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
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


def _export_one(name: str, data: str, out: Path, model: Path, imgsz: int) -> None:
    """The child: one Ultralytics export into OUT_DIR/NAME (from a private copy of the checkpoint)."""
    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    fmt, extra = EXPORTS[name]
    work = out / f".work-{name}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(model.parent, work, ignore=lambda d, files: [f for f in files if f != model.name])
    try:
        made = Path(
            YOLO(str(work / model.name)).export(
                format=fmt, imgsz=imgsz, device="cpu", data=data, split="train", **extra
            )
        )
        shutil.rmtree(out / name, ignore_errors=True)
        shutil.move(str(made), out / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_child(args: argparse.Namespace, name: str) -> dict:
    """Export NAME in a child process: its status, wall time and peak RSS (``wait4``)."""
    command = [sys.executable, __file__, args.data, str(args.out), str(args.model), "--imgsz", str(args.imgsz)]
    start = time.perf_counter()
    process = subprocess.Popen([*command, "--only", name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    stderr = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    seconds = round(time.perf_counter() - start, 1)
    if os.waitstatus_to_exitcode(status) != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        return {"status": f"failed: {(lines or ['(no message)'])[-1][:200]}", "seconds": seconds}
    return {"status": "ok", "seconds": seconds, "peak_rss_bytes": usage.ru_maxrss * 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("out", type=Path)
    parser.add_argument("model", type=Path, nargs="?", default=MODEL)
    parser.add_argument("--imgsz", type=int, default=256)
    parser.add_argument("--only", choices=sorted(EXPORTS), help=argparse.SUPPRESS)  # the child's one export
    args = parser.parse_args()
    args.model = args.model.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only:
        _export_one(args.only, args.data, args.out, args.model, args.imgsz)
        return
    from ultralytics import __version__

    earlier = json.loads((args.out / "exports.json").read_text()) if (args.out / "exports.json").is_file() else {}
    report = {"ultralytics": __version__, "model": args.model.name, "imgsz": args.imgsz, "exports": {}}
    for name in EXPORTS:
        made_before = earlier.get("exports", {}).get(name, {})
        if (args.out / name).exists() and made_before.get("status") == "ok" and earlier.get("imgsz") == args.imgsz:
            report["exports"][name] = made_before  # made by an earlier run: kept
            continue
        report["exports"][name] = _run_child(args, name)
        print(name, report["exports"][name], flush=True)
    (args.out / "exports.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

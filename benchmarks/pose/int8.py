"""The pose task's INT8 figures: each committed YOLO pose model exported to every runtime's INT8 target and
benched beside its FP32 ONNX in one interleaved run (edgekit's venv; OKS mAP with ``--preset ultralytics``).

    python benchmarks/pose/make_data.py /tmp/shapes-pose
    python benchmarks/pose/int8.py /tmp/shapes-pose/data.yaml

Writes ``benchmarks/pose/<model>-int8.{json,md}`` (``--out-dir`` another folder); latency: plain p50 of all timed
runs, as a ratio to the FP32 ONNX of the same run. ``--smoke`` (the CI smoke test): the YOLOv8n-pose to ORT only,
on a small generated copy of shapes-pose, one short round.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import edgekit
from edgekit.calibration_data.arrows import write_dataset
from edgekit.fsutil import write_text_atomic
from edgekit.report.files import to_markdown

HERE = Path(__file__).resolve().parent
MODELS = ("yolov8n-pose-shapes", "yolo11n-pose-shapes")
TARGETS = ["onnx-fp32", "ort-int8", "openvino-int8", "tflite-int8"]


def run(model: str, data: str, work: Path, out_dir: Path, smoke: bool) -> None:
    """Export ``model`` to the INT8 targets and bench them with its FP32 parent; write the JSON and Markdown."""
    targets = TARGETS[:2] if smoke else TARGETS
    rows = edgekit.export(
        str(HERE.parent / "models" / f"{model}.onnx"),
        targets,
        work / model,
        data=data,
        force=True,
        calib_images=16 if smoke else 128,
    )
    failed = {row.target: row.status for row in rows if row.status != "ok"}
    timing = {"runs": 2, "warmup": 1, "min_seconds": 0.0, "rounds": 1} if smoke else {"rounds": 10}
    document = edgekit.benchmark(
        [row.path for row in rows if row.status == "ok"], data=data, preset="ultralytics", **timing
    )
    write_text_atomic(
        out_dir / f"{model}-int8.json", json.dumps(document.to_dict() | {"export_failures": failed}, indent=2) + "\n"
    )
    write_text_atomic(out_dir / f"{model}-int8.md", to_markdown(document))
    print(to_markdown(document))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", help="shapes-pose's data.yaml (not needed with --smoke)")
    parser.add_argument("--out-dir", type=Path, default=HERE)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if not args.data and not args.smoke:
        parser.error("pass shapes-pose's data.yaml (benchmarks/pose/make_data.py writes it)")
    with tempfile.TemporaryDirectory(prefix="edgekit-pose-") as tmp:
        data = str(write_dataset(Path(tmp) / "data", 16, 16)) if args.smoke else args.data
        for model in MODELS[:1] if args.smoke else MODELS:
            run(model, data, Path(tmp), args.out_dir, args.smoke)


if __name__ == "__main__":
    main()

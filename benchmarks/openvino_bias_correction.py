"""openvino-int8 with NNCF's fast bias correction on and off, per model, each pair benched in one interleaved run
beside its FP32 ONNX (``--preset ultralytics`` for the YOLO models, edgekit's evaluation for nano-det).

    python benchmarks/openvino_bias_correction.py      # edgekit's venv; writes benchmarks/openvino_bias_correction.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import edgekit
from edgekit.fsutil import write_text_atomic

HERE = Path(__file__).resolve().parent
MODELS = {
    "yolo11n-shapes": (str(HERE / "models" / "yolo11n-shapes.onnx"), "ultralytics"),
    "yolov8n-shapes": (str(HERE / "models" / "yolov8n-shapes.onnx"), "ultralytics"),
    "nano-det": ("nano-det", None),
}


def _summary(row: dict, fp32: dict) -> dict:
    """mAP50-95, its drop from the FP32 ONNX in points, p50 and its ratio to the FP32 ONNX's."""
    score, base = row["metrics"]["map50_95"], fp32["metrics"]["map50_95"]
    p50 = row["latency_ms"]["p50"]
    return {
        "map50_95": score,
        "drop_pts": (base - score) * 100,
        "p50_ms": p50,
        "p50_ratio": p50 / fp32["latency_ms"]["p50"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where the JSON goes (benchmarks/)")
    parser.add_argument("--smoke", action="store_true", help="nano-det only, 16 calibration images, one short round")
    args = parser.parse_args()
    models = {"nano-det": MODELS["nano-det"]} if args.smoke else MODELS
    calib = {"calib_images": 16} if args.smoke else {}
    timing = {"runs": 2, "warmup": 1, "min_seconds": 0.0, "rounds": 1} if args.smoke else {"rounds": 5}
    report = {}
    with tempfile.TemporaryDirectory(prefix="edgekit-ov-fbc-") as work:
        for name, (model, preset) in models.items():
            dirs = []
            for label, fast in (("fast", "true"), ("full", "false")):
                targets = ["onnx-fp32", "openvino-int8"] if label == "fast" else ["openvino-int8"]
                rows = edgekit.export(
                    model,
                    targets,
                    Path(work) / name / label,
                    data="shapes-det",
                    overrides={"openvino-int8": {"fast_bias_correction": fast}},
                    **calib,
                )
                dirs += [row.path for row in rows]
            document = edgekit.benchmark(dirs, data="shapes-det", preset=preset, **timing).to_dict()
            rows = {f"{Path(r['artifact']).parent.name}/{r['target']}": r for r in document["results"]}
            report[name] = {
                "preset": preset or "edgekit",
                "environment": document["environment"],
                "rows": {key: _summary(row, rows["fast/onnx-fp32"]) for key, row in rows.items()},
            }
            print(name, json.dumps(report[name]["rows"], indent=1))
    write_text_atomic(args.out_dir / "openvino_bias_correction.json", json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

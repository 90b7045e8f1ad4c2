"""Which calibration is worth it: each INT8 target's calibration options on the real YOLOv8n, scored on fresh images.

    python benchmarks/calibration_study.py [--model benchmarks/models/yolov8n-shapes.onnx] [--target T ...]
    python benchmarks/calibration_study.py --model benchmarks/models/yolo26n-shapes-converged.pt --trust \
        --name calibration_study_yolo26n      # in Ultralytics' venv (the .pt is exported to ONNX first)

Every variant is calibrated on shapes-det's calibration split (as ``edgekit export --data shapes-det``) and
scored, with the FP32 parent, on a *study* split of 300 images generated with a seed used nowhere else
(neither the val split that the README's figures use nor the YOLOv8n's training images), so the choice of
defaults is not fitted to the images the benchmarks report. Writes ``benchmarks/NAME.{json,md}`` (``--name``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import edgekit
from edgekit.calibration_data.build import write_detection_split
from edgekit.fsutil import write_text_atomic
from edgekit.provenance import provenance
from rich.console import Console

HERE = Path(__file__).resolve().parent
STUDY_SEED, STUDY_IMAGES = 7007, 300
#: (label, target, config overrides); the first of each target is edgekit's default
VARIANTS = [
    ("MeanMinMax (default)", "ort-int8", {}),
    ("Percentile 99.999", "ort-int8", {"calibration_method": "Percentile"}),
    ("MinMax", "ort-int8", {"calibration_method": "MinMax"}),
    ("Entropy", "ort-int8", {"calibration_method": "Entropy"}),
    ("per-tensor weights", "ort-int8", {"per_channel": "false"}),
    ("full bias correction, mixed (default)", "openvino-int8", {}),
    ("fast bias correction", "openvino-int8", {"fast_bias_correction": "true"}),
    ("performance preset (symmetric activations)", "openvino-int8", {"preset": "performance"}),
    ("per-channel MeanMinMax (default)", "tflite-int8", {}),
    ("MinMax (the converter's own)", "tflite-int8", {"calibration_method": "MinMax"}),
    ("per-tensor weights", "tflite-int8", {"per_channel": "false"}),
]


def study_split(root: Path, images: int = STUDY_IMAGES) -> Path:
    """Write the study split (images, YOLO labels, COCO JSON) under ``root``; returns the COCO JSON."""
    write_detection_split(root, "study", STUDY_SEED, images)
    return root / "annotations" / "instances_study.json"


def _label(model: str) -> str:
    path = Path(model).resolve()
    if not path.is_file():
        return model
    return str(path.relative_to(HERE.parent)) if path.is_relative_to(HERE.parent) else str(path)


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default=str(HERE / "models" / "yolov8n-shapes.onnx"),
        help="an ONNX file or a built-in model name (nano-det)",
    )
    parser.add_argument("--work", type=Path, default=Path("runs/calibration-study"))
    parser.add_argument("--name", default="calibration_study", help="output files OUT_DIR/NAME.{json,md}")
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where they go (benchmarks/)")
    parser.add_argument("--target", action="append", help="only these targets' variants (repeatable)")
    parser.add_argument("--trust", action="store_true", help="load a pickled checkpoint (.pt) you trust")
    parser.add_argument(
        "--smoke", action="store_true", help="the first variant on 8 calibration and 8 study images (the CI smoke test)"
    )
    args = parser.parse_args()
    chosen = [v for v in VARIANTS if not args.target or v[1] in args.target]
    variants, images, calib = (chosen[:1], 8, 8) if args.smoke else (chosen, STUDY_IMAGES, 128)
    console = Console()
    labels, seconds = {}, {}
    rows = edgekit.export(
        args.model, ["onnx-fp32"], args.work / "fp32", data="shapes-det", force=True, trust=args.trust
    )
    labels[str(rows[0].path)] = ("onnx-fp32", "FP32 parent")
    for index, (label, target, overrides) in enumerate(variants):
        start = time.perf_counter()
        rows = edgekit.export(
            args.model,
            [target],
            args.work / str(index),
            data="shapes-det",
            force=True,
            overrides={target: overrides},
            calib_images=calib,
            trust=args.trust,
        )
        seconds[str(rows[0].path)] = time.perf_counter() - start
        if rows[0].status == "ok":
            labels[str(rows[0].path)] = (target, label)
        else:
            console.print(f"{target} {label}: {rows[0].status}")
    with tempfile.TemporaryDirectory() as tmp:
        annotations = study_split(Path(tmp), images)
        document = edgekit.benchmark(
            list(labels), data=str(annotations), runs=1, warmup=0, min_seconds=0.0, rounds=1
        ).to_dict()
    fp32 = next(r for r in document["results"] if r["target"] == "onnx-fp32")["metrics"]["map50_95"]
    study = []
    for row in document["results"]:
        target, label = labels[row["artifact"]]
        study.append(
            {
                "target": target,
                "variant": label,
                "map50_95": row["metrics"]["map50_95"],
                "drop_points": (fp32 - row["metrics"]["map50_95"]) * 100,
                "export_seconds": seconds.get(row["artifact"]),
            }
        )
    result = {
        "provenance": provenance(),
        "model": _label(args.model),
        "study_split": {"seed": STUDY_SEED, "images": images},
        "environment": document["environment"],
        "variants": study,
    }
    write_text_atomic(args.out_dir / f"{args.name}.json", json.dumps(result, indent=2) + "\n")
    lines = [
        f"Calibration variants of {result['model']}, mAP50-95 on {images} fresh study images "
        f"(seed {STUDY_SEED}), edgekit default evaluation",
        "",
        "| target | variant | mAP50-95 | drop vs FP32 (pts) | export s |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {v['target']} | {v['variant']} | {v['map50_95']:.4f} | {v['drop_points']:+.2f} | "
        f"{_seconds(v['export_seconds'])} |"
        for v in study
    ]
    write_text_atomic(args.out_dir / f"{args.name}.md", "\n".join(lines) + "\n")
    console.print("\n".join(lines), markup=False, highlight=False)


if __name__ == "__main__":
    main()

"""What each INT8 accuracy remedy is worth: export a model to an INT8 target with the remedy on and off,
bench both beside the FP32 parent in one run, and print mAP / drop / p50 ratio.

    python benchmarks/int8_remedies.py --model nano-det --target ort-int8 --option keep_decode_float
    python benchmarks/int8_remedies.py --target tflite-int8 --option split_outputs --base keep_decode_float=false
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import edgekit
from edgekit.config import parse_overrides
from edgekit.report.tables import bench_table
from rich.console import Console


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="nano-det")
    parser.add_argument("--target", default="ort-int8")
    parser.add_argument("--option", default="keep_decode_float", help="boolean config field of the target")
    parser.add_argument("--base", action="append", default=[], help="KEY=VALUE held fixed in both exports")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--smoke", action="store_true", help="16 calibration images, one short round (CI smoke)")
    args = parser.parse_args()
    calib = {"calib_images": 16} if args.smoke else {}
    timing = {"runs": 2, "warmup": 1, "min_seconds": 0.0, "rounds": 1} if args.smoke else {}
    console = Console(width=160)
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        edgekit.export(args.model, ["onnx-fp32"], root / "fp32")
        paths = [root / "fp32" / "onnx-fp32"]
        for value in ("true", "false"):
            out = root / f"{args.option}={value}"
            options = parse_overrides(args.base) | {args.option: value}
            rows = edgekit.export(args.model, [args.target], out, overrides={args.target: options}, **calib)
            console.print(f"{args.target} {args.option}={value}: {rows[0].status}")
            if rows[0].status == "ok":
                paths.append(out / args.target)
        document = edgekit.benchmark(paths, args.json, **timing)
        rows = [
            dataclasses.replace(row, target=f"{row.target} ({path.parent.name})")
            for row, path in zip(document.rows, paths)
        ]
        console.print(bench_table(dataclasses.replace(document, rows=tuple(rows))))


if __name__ == "__main__":
    main()

"""INT8 targets with some of their options changed, against their defaults and the FP32 ONNX, in one bench.

    python benchmarks/yolo26/int8_variants.py MODEL.onnx --variant openvino-int8 \
        --variant openvino-int8:overflow_fix=enable [--variant TARGET[:KEY=VALUE,...] ...]
        [--rounds 5 | --accuracy-only] [--out JSON] [--smoke]

Each ``--variant`` is one export: a target with its defaults, or with the options after the colon
(``--option TARGET.KEY=VALUE`` of ``edgekit export``). All of them and the FP32 ONNX are scored on the same images
(``--preset ultralytics``) and timed in one interleaved bench (``--rounds``), so each drop and p50 ratio comes from
one run on one machine; ``--accuracy-only`` times 2 runs of each, no speed figure.
``int8-640-{e2e,o2m}-overflow-fix.json`` (OpenVINO's saturation fix on a CPU without VNNI), ``int8-640-*-ort-*.json``
(ORT's quantization types) and ``../yolo640/openvino-overflow-fix-*.json`` came from this script.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import edgekit
from edgekit.config import parse_overrides
from edgekit.fsutil import write_text_atomic
from edgekit.provenance import provenance
from int8 import summarise  # the sibling script's summary (this folder is on sys.path when run)

HERE = Path(__file__).resolve().parent


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    """``"openvino-int8:overflow_fix=enable,preset=mixed"`` -> the target and its options."""
    target, _, options = spec.partition(":")
    return target, parse_overrides([pair for pair in options.split(",") if pair])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a detector's ONNX (YOLOv8 convention), or a built-in model")
    parser.add_argument("--variant", action="append", required=True, help="TARGET or TARGET:KEY=VALUE,...")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--accuracy-only", action="store_true", help="2 timed runs of each: no speed figure")
    parser.add_argument("--out", type=Path, default=HERE / "int8-variants.json")
    parser.add_argument("--smoke", action="store_true", help="8 calibration images, edgekit's own evaluation")
    args = parser.parse_args()
    variants = [parse_variant(spec) for spec in args.variant]
    sizes = {"calib_images": 8} if args.smoke else {}
    short = args.accuracy_only or args.smoke
    timing = {"runs": 2, "warmup": 1, "min_seconds": 0.0, "rounds": 1} if short else {"rounds": args.rounds}
    with tempfile.TemporaryDirectory(prefix="edgekit-int8-variants-") as work:
        (parent,) = edgekit.export(args.model, ["onnx-fp32"], Path(work) / "fp32", data="shapes-det")
        paths, labels = [parent.path], {}
        for index, (target, options) in enumerate(variants):
            (row,) = edgekit.export(
                args.model, [target], Path(work) / str(index), data="shapes-det", overrides={target: options}, **sizes
            )
            if row.status != "ok":
                raise SystemExit(f"{args.variant[index]}: {row.status}")
            paths.append(row.path)
            labels[str(row.path)] = args.variant[index]
        preset = None if args.smoke else "ultralytics"
        document = edgekit.benchmark(paths, data="shapes-det", preset=preset, **timing).to_dict()
    report = {
        "provenance": provenance(),
        "model": Path(args.model).name,
        "timed": not short,
        "fp32_map50_95": document["results"][0]["metrics"]["map50_95"],
        "summary": summarise(document, labels, timed=not short),
        "bench": document,
    }
    write_text_atomic(args.out, json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))


if __name__ == "__main__":
    main()

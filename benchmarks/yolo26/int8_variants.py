"""INT8 targets with some of their options changed, against their defaults and the FP32 ONNX, in one bench.

    python benchmarks/yolo26/int8_variants.py MODEL.onnx --variant openvino-int8 \
        --variant openvino-int8:overflow_fix=enable [--variant TARGET[:KEY=VALUE,...] ...]
        [--rounds 5 | --accuracy-only] [--out JSON] [--smoke] [--work DIR [--export-only]]

Each ``--variant`` is one export: a target with its defaults, or with the options after the colon
(``--option TARGET.KEY=VALUE`` of ``edgekit export``). All of them and the FP32 ONNX are scored on the same images
(``--preset ultralytics``) and timed in one interleaved bench (``--rounds``), so each drop and p50 ratio comes from
one run on one machine; ``--accuracy-only`` times 2 runs of each, no speed figure. ``--work DIR`` keeps the
artifacts there and reuses those an earlier run left (export under load with ``--export-only``, then bench on an
idle machine).
``int8-640-{e2e,o2m}-overflow-fix.json`` (OpenVINO's saturation fix on a CPU without VNNI), ``int8-640-*-ort-*.json``
(ORT's quantization types) and ``../yolo640/openvino-overflow-fix-*.json`` came from this script.
"""

from __future__ import annotations

import argparse
import json
import re
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


def export_all(
    model: str, variants: list[tuple[str, dict[str, str]]], specs: list[str], work: Path, sizes: dict[str, int]
) -> tuple[list[str], dict[str, str]]:
    """The FP32 parent and every variant exported under ``work`` (an artifact already there is kept): their paths
    (the parent first) and each variant's label by path. Each variant's folder is named after its spec."""

    def exported(folder: Path, target: str, overrides: dict[str, dict[str, str]]) -> str:
        if (folder / target / "edgekit.json").is_file():
            return str(folder / target)
        (row,) = edgekit.export(model, [target], folder, data="shapes-det", overrides=overrides, **sizes)
        if row.status != "ok":
            raise SystemExit(f"{folder.name}: {row.status}")
        return str(row.path)

    paths = [exported(work / "fp32", "onnx-fp32", {})]
    labels = {}
    for index, (target, options) in enumerate(variants):
        path = exported(work / re.sub(r"[^A-Za-z0-9_.-]+", "_", specs[index]), target, {target: options})
        paths.append(path)
        labels[path] = specs[index]
    return paths, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a detector's ONNX (YOLOv8 convention), or a built-in model")
    parser.add_argument("--variant", action="append", required=True, help="TARGET or TARGET:KEY=VALUE,...")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--accuracy-only", action="store_true", help="2 timed runs of each: no speed figure")
    parser.add_argument("--out", type=Path, default=HERE / "int8-variants.json")
    parser.add_argument("--smoke", action="store_true", help="8 calibration images, edgekit's own evaluation")
    parser.add_argument("--work", type=Path, help="keep the artifacts here, one folder per model; reuse them")
    parser.add_argument("--export-only", action="store_true", help="with --work: export, bench nothing")
    args = parser.parse_args()
    if args.export_only and args.work is None:
        parser.error("--export-only keeps nothing without --work DIR")
    variants = [parse_variant(spec) for spec in args.variant]
    sizes = {"calib_images": 8} if args.smoke else {}
    short = args.accuracy_only or args.smoke
    timing = {"runs": 2, "warmup": 1, "min_seconds": 0.0, "rounds": 1} if short else {"rounds": args.rounds}
    with tempfile.TemporaryDirectory(prefix="edgekit-int8-variants-") as scratch:
        work = args.work or Path(scratch)
        paths, labels = export_all(args.model, variants, args.variant, work, sizes)
        if args.export_only:
            return
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

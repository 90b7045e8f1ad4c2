"""Does `edgekit gate` hold still on noise and trip on real regressions? Measured, not assumed.

    edgekit pipeline benchmarks/scenario.toml --force
    python benchmarks/gate_stability.py runs/gate/artifacts/model --repeats 10 --out runs/gate-stability

1. Benches the same artifacts ``repeats + 1`` times in a row and gates each run against the one before it
   (with ``benchmarks/gate.toml``): every one of these should pass.
2. Regression (a): the FP32 model shipped under the ``ort-int8`` name (size and latency should fail).
3. Regression (b): ``ort-int8`` calibrated on 2 images instead of 128: first 2 of the model's own calibration
   split (on this homogeneous generated data that costs almost nothing, and the gate should say so), then 2
   unrepresentative ones, a flat grey frame and a dim low-contrast scene (accuracy should fail).

Writes every results JSON, every verdict (Markdown) and ``summary.json`` under ``--out``.

    python benchmarks/gate_stability.py --summarise runs/gate-stability > benchmarks/gate-stability/summary.json

rebuilds the summary from the results JSONs a run left: every verdict with its checks (artifact, metric,
change, limit) and the lane that decided, and each run's provenance: the figures docs/gate.md quotes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path

import edgekit
import numpy as np
from edgekit import tomlread
from edgekit.calibration_data.build import training_image
from edgekit.fsutil import sha256_file
from edgekit.manifest import MANIFEST_NAME
from edgekit.provenance import provenance
from edgekit.report.gate import load_thresholds
from PIL import Image

CONFIG = Path(__file__).parent / "gate.toml"
SCENARIO = Path(__file__).parent / "scenario.toml"


def bench(paths: list[Path], out: Path, options: dict) -> edgekit.ResultsDocument:
    return edgekit.benchmark(paths, out, **options)


def gate(baseline: edgekit.ResultsDocument, current: edgekit.ResultsDocument) -> tuple[bool, str]:
    return edgekit.gate_check(baseline, current, CONFIG)


def fp32_under_int8_name(artifacts: Path, work: Path) -> Path:
    """A copy of ort-int8 whose model is the FP32 parent, as a broken exporter would ship it."""
    swapped = work / "ort-int8"
    shutil.copytree(artifacts / "ort-int8", swapped)
    shutil.copy(artifacts / "onnx-fp32" / "model.onnx", swapped / "model.onnx")
    manifest = json.loads((swapped / MANIFEST_NAME).read_text())
    manifest["model_sha256"] = manifest["file_sha256"]["model.onnx"] = sha256_file(swapped / "model.onnx")
    (swapped / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
    return swapped


def odd_images(root: Path) -> Path:
    """An ImageFolder of 2 calibration images unlike the real data: flat grey, and a dim low-contrast scene."""
    (root / "odd").mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((256, 256, 3), 128, np.uint8)).save(root / "odd" / "grey.png")
    Image.fromarray((training_image("shapes-det", 7) // 8 + 100).astype(np.uint8)).save(root / "odd" / "dim.png")
    return root


def _checks(baseline: Path, current: Path) -> dict:
    """The gate's checks of ``current`` against ``baseline`` (results JSONs), the lane that compared latency, and
    whether every check is within its threshold (the count lane's verdict; the wall-clock lane may still call a
    busy run inconclusive: the gate's own verdicts are ``repeats`` and ``*_passed``)."""
    from edgekit.report.gate import compare_with_note
    from edgekit.results import load_results

    checks, note = compare_with_note(load_results(baseline), load_results(current), load_thresholds(CONFIG))
    return {
        "baseline": baseline.name,
        "current": current.name,
        "all_checks_pass": all(check.passed for check in checks),
        "lane": "counts" if "count lane decided" in note else "wall clock",
        "checks": [dataclasses.asdict(check) | {"passed": check.passed} for check in checks],
    }


def summarise(out: Path) -> dict:
    """The summary of a finished run in ``out``, rebuilt from its results JSONs."""
    runs = sorted(out.glob("run-[0-9][0-9].json"))
    last = runs[-1]
    verdicts = {f"repeat-{index:02d}": _checks(runs[index - 1], runs[index]) for index in range(1, len(runs))}
    for name in ("fp32-swap", "calib2", "calib2-unrepresentative"):
        if (out / f"run-{name}.json").is_file():
            verdicts[name] = _checks(last, out / f"run-{name}.json")
    documents = {path.name: json.loads(path.read_text()) for path in [*runs, *sorted(out.glob("run-[!0-9]*.json"))]}
    return {
        "provenance": provenance(),
        "thresholds": dataclasses.asdict(load_thresholds(CONFIG)),
        "runs": {name: doc["environment"].get("provenance") for name, doc in documents.items()},
        "foreign_cpu_share": {name: doc["environment"].get("foreign_cpu_share") for name, doc in documents.items()},
        "verdicts": verdicts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", type=Path, nargs="?", help="directory holding onnx-fp32, ort-int8, ... dirs")
    parser.add_argument("--summarise", type=Path, help="print the summary of a finished run's --out folder")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("runs/gate-stability"))
    parser.add_argument("--smoke", action="store_true", help="short bench runs instead of the scenario's (CI smoke)")
    args = parser.parse_args()
    if args.summarise:
        print(json.dumps(summarise(args.summarise), indent=2))
        return
    if args.artifacts is None:
        parser.error("name the artifacts folder (or --summarise a finished run)")
    args.out.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in args.artifacts.iterdir() if (p / MANIFEST_NAME).is_file())
    paths = [args.artifacts / name for name in names]
    scenario = tomlread.loads(SCENARIO.read_text())
    options = {"data": scenario["data"], **scenario["bench"]}  # the scenario's own settings and data
    if args.smoke:  # wall-clock only: counting under valgrind takes 1-2 min per artifact per bench
        options |= {"runs": 2, "warmup": 1, "min_seconds": 0.0, "rounds": 1, "count": False}
    summary: dict = {"artifacts": names, "thresholds": dataclasses.asdict(load_thresholds(CONFIG)), "repeats": []}

    runs = [bench(paths, args.out / "run-00.json", options)]
    for index in range(1, args.repeats + 1):
        runs.append(bench(paths, args.out / f"run-{index:02d}.json", options))
        passed, verdict = gate(runs[index - 1], runs[index])
        (args.out / f"verdict-repeat-{index:02d}.md").write_text(verdict)
        summary["repeats"].append(passed)
        print(f"repeat {index}: {'pass' if passed else 'FAIL'}", file=sys.stderr, flush=True)

    swapped = fp32_under_int8_name(args.artifacts, args.out / "swapped")
    current = bench([swapped if p.name == "ort-int8" else p for p in paths], args.out / "run-fp32-swap.json", options)
    passed, verdict = gate(runs[-1], current)
    (args.out / "verdict-fp32-swap.md").write_text(verdict)
    summary["fp32_swap_passed"] = passed

    for name, data in (("calib2", None), ("calib2-unrepresentative", str(odd_images(args.out / "odd")))):
        rows = edgekit.export("nano-det", ["ort-int8"], args.out / name, data=data, calib_images=2, force=True)
        summary[f"{name}_export"] = rows[0].status
        if rows[0].status == "ok":
            current = bench(
                [rows[0].path if p.name == "ort-int8" else p for p in paths], args.out / f"run-{name}.json", options
            )
            passed, verdict = gate(runs[-1], current)
            (args.out / f"verdict-{name}.md").write_text(verdict)
            summary[f"{name}_passed"] = passed
    summary |= summarise(args.out)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k in ("repeats", "fp32_swap_passed", "calib2_passed")}))


if __name__ == "__main__":
    main()

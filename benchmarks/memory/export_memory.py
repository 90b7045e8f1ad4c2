"""Export memory at real size: each target's peak RSS and wall time (from its manifest's ``export_resources``),
and ORT's streamed calibration against the unbounded one on the same images (accuracy and peak).

    python benchmarks/memory/export_memory.py MODEL.onnx [MODEL.onnx ...] --out benchmarks/memory/NAME.json
    python benchmarks/memory/export_memory.py ... --compare-images 32     # also: ORT streamed vs unbounded

Each model is exported to every installed target in a fresh ``edgekit export`` process with the default 128
calibration images (``--calib-images``); the process's own peak (``ru_maxrss`` of the child) is recorded beside
each step's. With ``--compare-images N``, ``ort-int8`` is exported twice more on the same N images, once
streamed (the default ``calibration_memory_mb``) and once unbounded (all N images' outputs held at once, ORT's
behaviour before), and both are scored against the FP32 ONNX in one ``edgekit bench`` run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edgekit.fsutil import write_text_atomic
from edgekit.provenance import provenance

EDGEKIT = [sys.executable, "-m", "edgekit.cli"]
UNBOUNDED_MB = 1_000_000


def _run(args: list[str]) -> tuple[float, int]:
    """Run ``edgekit ARGS``; its wall time and the peak RSS of that process alone (bytes, from ``wait4``)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(EDGEKIT + args, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        if process.returncode not in (0, 1):
            log.seek(0)
            raise SystemExit(f"edgekit {' '.join(args[:2])} failed: {log.read()[-1600:].decode(errors='replace')}")
    return seconds, usage.ru_maxrss * 1024


def _steps(folder: Path) -> dict[str, dict]:
    """Each exported target's ``export_resources`` and notes, or the reason it has no manifest."""
    steps = {}
    for manifest in sorted(folder.glob("*/edgekit.json")):
        data = json.loads(manifest.read_text())
        steps[data["target"]] = data.get("export_resources", {}) | {
            "calibration_stride": data.get("notes", {}).get("calibration_stride"),
            "calibration_images": data.get("notes", {}).get("calibration_images"),
        }
    return steps


def _export_all(model: str, work: Path, calib_images: int, data: str, targets: list[str]) -> dict:
    out = work / "all"
    picked = [flag for target in targets for flag in ("-t", target)]
    args = ["export", model, *picked, "-o", str(out), "--data", data, "--calib-images", str(calib_images)]
    seconds, peak = _run(args + ["--force"])
    return {"calib_images": calib_images, "seconds": round(seconds, 1), "process_peak_rss_bytes": peak} | {
        "steps": _steps(out)
    }


def _compare(model: str, work: Path, images: int, data: str, preset: str | None) -> dict:
    """ORT streamed vs unbounded on the same ``images`` images, scored in one bench run with the FP32 ONNX."""
    found = {}
    for label, targets, options in (
        ("streamed", ["-t", "onnx-fp32", "-t", "ort-int8"], []),
        ("unbounded", ["-t", "ort-int8"], ["--option", f"ort-int8.calibration_memory_mb={UNBOUNDED_MB}"]),
    ):
        out = work / label
        args = ["export", model, *targets, *options, "-o", str(out), "--data", data, "--calib-images", str(images)]
        seconds, peak = _run(args + ["--force"])
        found[label] = {"seconds": round(seconds, 1), "process_peak_rss_bytes": peak, **_steps(out)["ort-int8"]}
    results = work / "bench.json"
    bench = ["bench", str(work / "streamed" / "onnx-fp32"), str(work / "streamed" / "ort-int8")]
    bench += [str(work / "unbounded" / "ort-int8"), "--data", data, "--json", str(results), "--runs", "3"]
    bench += ["--warmup", "1", "--min-seconds", "0", "--rounds", "1"] + (["--preset", preset] if preset else [])
    _run(bench)
    rows = json.loads(results.read_text())["results"]
    scores = [row["metrics"].get("map50_95") for row in rows]
    found["fp32_map50_95"] = scores[0]
    found["streamed"]["map50_95"], found["unbounded"]["map50_95"] = scores[1], scores[2]
    found["streamed_minus_unbounded_pts"] = round((scores[1] - scores[2]) * 100, 3)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="ONNX files (or built-in names) at the size to measure")
    parser.add_argument("--out", type=Path, required=True, help="the JSON to write")
    parser.add_argument("--data", default="shapes-det")
    parser.add_argument("--calib-images", type=int, default=128)
    parser.add_argument("--targets", default="all", help="comma-separated targets (default: all)")
    parser.add_argument("--compare-images", type=int, default=0, help="also ORT streamed vs unbounded on N images")
    parser.add_argument("--preset", default=None, help="bench --preset for the comparison (ultralytics)")
    args = parser.parse_args()
    report: dict = {"provenance": provenance(), "models": {}}
    with tempfile.TemporaryDirectory(prefix="edgekit-memory-") as work:
        for index, model in enumerate(args.models):
            folder = Path(work) / str(index)
            entry = {"export_all": _export_all(model, folder, args.calib_images, args.data, args.targets.split(","))}
            print(json.dumps({Path(model).name: entry}, indent=1), flush=True)
            if args.compare_images:
                entry["ort_streamed_vs_unbounded"] = _compare(
                    model, folder / "compare", args.compare_images, args.data, args.preset
                )
            report["models"][Path(model).name] = entry
            print(json.dumps({Path(model).name: entry}, indent=1), flush=True)
            _write(args.out, report)
    print(f"written: {args.out}")


def _write(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""The converged references' training curves: per-epoch val mAP50-95 of each, and whether it converged
(val mAP50-95 gained < 0.3 pt over its last 5 epochs: the best of those 5 against the best before them).

    python benchmarks/converged/converged.py [--out-dir benchmarks/converged]

Reads ``benchmarks/converged/<arch>-shapes-256-results.csv`` (Ultralytics' per-epoch log, written by
``train.py``) and writes ``converged.json`` (the curves, the verdicts, provenance) and ``curves.png``.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from edgekit.fsutil import write_text_atomic
from edgekit.provenance import provenance

HERE = Path(__file__).resolve().parent
ARCHS = ("yolov8n", "yolo11n", "yolo26n")
#: the convergence rule: gain over the last WINDOW epochs below LIMIT_PTS points
WINDOW, LIMIT_PTS = 5, 0.3
METRIC = "metrics/mAP50-95(B)"


def curve(path: Path) -> dict:
    """One run's curve and verdict."""
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    scores = [float(row[METRIC]) for row in rows]
    gain = (max(scores[-WINDOW:]) - max(scores[:-WINDOW])) * 100 if len(scores) > WINDOW else float("inf")
    return {
        "epochs": len(scores),
        "train_seconds": float(rows[-1]["time"]),
        "map50_95": scores,
        "final_map50_95": scores[-1],
        "best_map50_95": max(scores),
        "gain_last_5_epochs_pts": round(gain, 3),
        "converged": gain < LIMIT_PTS,
    }


def plot(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    for arch, entry in curves.items():
        verdict = "converged" if entry["converged"] else f"+{entry['gain_last_5_epochs_pts']:.2f} pt in last 5"
        axes.plot(range(1, entry["epochs"] + 1), entry["map50_95"], label=f"{arch} ({verdict})")
    axes.set(xlabel="epoch", ylabel="val mAP50-95 (shapes-det, 256 px)", ylim=(0.5, 0.92))
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE)
    args = parser.parse_args()
    curves = {arch: curve(HERE / f"{arch}-shapes-256-results.csv") for arch in ARCHS}
    report = {
        "provenance": provenance(),
        "rule": f"val mAP50-95 gained < {LIMIT_PTS} pt over the last {WINDOW} epochs",
        "training": "benchmarks/converged/train.py, from scratch, --hours 0.1 each, the three side by side on one "
        "NVIDIA H200 (16 CPU cores), Ultralytics 8.4.190, torch 2.11.0+cu130, batch 64, 3000 shapes-det images",
        "curves": curves,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out_dir / "converged.json", json.dumps(report, indent=2) + "\n")
    plot(curves, args.out_dir / "curves.png")
    for arch, entry in curves.items():
        print(
            f"{arch}: {entry['epochs']} epochs, final {entry['final_map50_95']:.4f}, "
            f"last-5 gain {entry['gain_last_5_epochs_pts']:.2f} pt, converged={entry['converged']}"
        )


if __name__ == "__main__":
    main()

"""Fine-tune a committed 256 px shapes-det reference at 640 px (Ultralytics' venv, CPU, offline).

    YOLO_OFFLINE=1 ULVENV/bin/python benchmarks/yolo640/finetune.py DATA.yaml --arch yolo26n \
        --epochs 2 --fraction 0.6 --project /tmp/yolo640

Starts from ``benchmarks/models/<arch>-shapes-converged.pt`` (trained at 256 px until val mAP50-95 stopped
gaining, benchmarks/converged/) and trains it at ``--imgsz`` (640) for ``--epochs`` on the first
``--fraction`` of the training images: AdamW at a fixed small learning rate, no warm-up, mosaic off (the
objects must be learnt at their new scale, not re-learnt from scratch). Copies the best checkpoint to
``benchmarks/models/<arch>-shapes-640.pt`` and its ``results.csv`` beside this script, with a record of the
recipe and the training wall time (the ``time`` column of the last epoch). The learning rate is constant and
mosaic off throughout, so epoch E of a longer run is the same training as an E-epoch run: ``--collect`` takes
the checkpoint and record from a run stopped after its first epochs instead of training again.
Shapes-det images are 224-320 px: at 640 they are letterboxed up, as in every 640 px figure here.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent / "models"
ARCHS = ("yolov8n", "yolo11n", "yolo26n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--arch", choices=ARCHS, required=True)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--fraction", type=float, default=0.6, help="share of the training images used")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.0005)
    parser.add_argument("--project", type=Path, default=Path("/tmp/yolo640"))
    parser.add_argument("--collect", action="store_true", help="no training: take what the run under --project has")
    args = parser.parse_args()
    if not args.collect:
        _train(args)
    _collect(args)


def _train(args: argparse.Namespace) -> None:
    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    YOLO(str(MODELS / f"{args.arch}-shapes-converged.pt")).train(
        data=str(args.data.resolve()),
        epochs=args.epochs,
        fraction=args.fraction,
        imgsz=args.imgsz,
        batch=args.batch,
        optimizer="AdamW",
        lr0=args.lr,
        lrf=1.0,
        warmup_epochs=0,
        close_mosaic=args.epochs,
        device="cpu",
        workers=2,
        seed=0,
        deterministic=False,
        plots=False,
        project=str(args.project.resolve()),
        name=f"{args.arch}-shapes-{args.imgsz}",
        exist_ok=True,
        amp=False,  # its check downloads yolo26n.pt, which an offline machine cannot
        verbose=False,
    )


def _collect(args: argparse.Namespace) -> None:
    """Copy the run's best checkpoint and curve into the repository and write the recipe's record."""
    from ultralytics import __version__
    from ultralytics.utils.torch_utils import strip_optimizer

    name = f"{args.arch}-shapes-{args.imgsz}"
    run = args.project / name
    with (run / "results.csv").open() as handle:
        curve = list(csv.DictReader(handle))
    if not curve:
        raise SystemExit(f"error: {run} has no finished epoch")
    shutil.copy(run / "weights" / "best.pt", MODELS / f"{name}.pt")
    strip_optimizer(MODELS / f"{name}.pt")  # a stopped run's checkpoint still holds the optimizer: 5x the size
    shutil.copy(run / "results.csv", HERE / f"{name}-results.csv")
    record = {
        "arch": args.arch,
        "from": f"{args.arch}-shapes-converged.pt",
        "imgsz": args.imgsz,
        "epochs": len(curve),
        "fraction": args.fraction,
        "batch": args.batch,
        "lr": args.lr,
        "ultralytics": __version__,
        "seconds": round(float(curve[-1]["time"])),
        "val_map50_95": float(curve[-1]["metrics/mAP50-95(B)"]),
    }
    (HERE / f"{name}-train.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()

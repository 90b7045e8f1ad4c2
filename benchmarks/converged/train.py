"""Train a shapes-det reference to convergence (Ultralytics' venv; a GPU makes it minutes, a CPU hours).

    YOLO_OFFLINE=1 ULVENV/bin/python benchmarks/converged/train.py DATA.yaml --arch yolo26n --hours 0.1 \
        --project RUNS [--device 0] [--imgsz 256] [--resume]

One recipe for every architecture: from scratch (``ARCH.yaml``, no pretrained weights exist offline), the
Ultralytics defaults for the schedule (linear decay to ``lrf``, mosaic closed for the last 10 epochs), batch 64,
seed 0. ``--hours`` is Ultralytics' own ``time`` budget: after the first epoch it sets the epoch count so that
the whole schedule, decay included, fits the budget. Every epoch writes ``last.pt`` and a row of
``results.csv``, so an interrupted run continues with ``--resume`` (the checkpoint must be this architecture
trained on this data: anything else is refused in one line). ``converged.py`` then reads the curve and says
whether it converged (val mAP50-95 gained < 0.3 pt over its last 5 epochs).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ARCHS = ("yolov8n", "yolo11n", "yolo26n")


def _check_resume(last: Path, arch: str, data: Path) -> None:
    """Refuse a checkpoint of another architecture or data set (nothing is overwritten)."""
    import torch

    checkpoint = torch.load(last, map_location="cpu", weights_only=False)
    args = checkpoint.get("train_args") or {}
    model = str(args.get("model", ""))
    if Path(model).stem != arch or Path(str(args.get("data", ""))).resolve() != data.resolve():
        sys.exit(f"error: {last} was trained as {model or '?'} on {args.get('data', '?')}, not {arch} on {data}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--arch", choices=ARCHS, required=True)
    parser.add_argument("--hours", type=float, default=0.1, help="Ultralytics' time budget for the whole schedule")
    parser.add_argument("--imgsz", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--project", type=Path, default=Path("/tmp/yolo-converged"))
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()

    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    name = f"{args.arch}-shapes-{args.imgsz}"
    last = args.project / name / "weights" / "last.pt"
    start = time.perf_counter()
    if args.resume:
        if not last.is_file():
            sys.exit(f"error: nothing to resume: {last} does not exist")
        _check_resume(last, args.arch, args.data)
        YOLO(str(last)).train(resume=True)
    else:
        YOLO(f"{args.arch}.yaml").train(
            data=str(args.data.resolve()),
            time=args.hours,
            epochs=1000,  # replaced by what fits ``time`` after the first epoch
            imgsz=args.imgsz,
            batch=args.batch,
            device=args.device,
            workers=args.workers,
            seed=0,
            deterministic=False,
            plots=False,
            project=str(args.project.resolve()),
            name=name,
            exist_ok=True,
            cache="ram",
            amp=False,  # its check downloads yolo26n.pt, which an offline machine cannot
            verbose=False,
        )
    print(f"{name}: training wall time {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()

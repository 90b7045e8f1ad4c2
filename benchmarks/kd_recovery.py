"""How much label-free distillation recovers after structured pruning: one recipe per run, JSON out.

    python benchmarks/kd_recovery.py --model nano-det --prune 0.5 --images 2048 --epochs 12 --lr 2e-3
    python benchmarks/kd_recovery.py ... --rounds 2      # iterative: prune half-way, distill, prune again, distill
    python benchmarks/kd_recovery.py ... --fresh --stream-cache /tmp/stream.npy   # new images every epoch

Images are the built-in generator's training stream (unlabelled use only: the labels are never read), the
metric is the val split's. ``--device cuda`` runs the same distillation code on a GPU for quick sweeps; the
figures quoted in the README come from CPU runs of ``edgekit compress``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
from edgekit.calibration_data.build import training_image
from edgekit.compress.distill import DistillOptions, distill
from edgekit.compress.images import training_stream
from edgekit.compress.pruning import PruneOptions
from edgekit.compress.run import CompressPlan, find_idle, prune_round
from edgekit.compress.stats import TorchSession, model_stats
from edgekit.convert.sources import load_source
from edgekit.data.resolve import resolve_dataset
from edgekit.tasks.evaluation import evaluate


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nano-det")
    parser.add_argument("--prune", type=float, default=0.5, help="share of MACs to remove")
    parser.add_argument("--importance", default="l2")
    parser.add_argument("--round-to", type=int, default=8)
    parser.add_argument("--keep-idle", action="store_true", help="do not thin idle detector outputs first")
    parser.add_argument("--rounds", type=int, default=1, help="prune + distill rounds to reach --prune")
    parser.add_argument("--images", type=int, default=2048, help="images per epoch")
    parser.add_argument("--fresh", action="store_true", help="new images from the training stream every epoch")
    parser.add_argument("--stream-cache", type=Path, help="--fresh: .npy of pre-generated canvases (made if absent)")
    parser.add_argument("--epochs", type=int, default=12, help="distillation epochs per round")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--feature-weight", type=float, default=1.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--ema", type=float, default=0.0, help="weight-average decay; 0 turns it off")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-every", type=int, default=0, help="also score the student every N epochs")
    parser.add_argument("--out", type=Path, help="also write the JSON record here")
    return parser.parse_args()


def _canvas(job: tuple) -> np.ndarray:
    data, preprocessing, index = job
    return preprocessing.canvas(training_image(data, index))[0]


def cached_stream(count: int, cache: Path):
    """``epoch -> canvases`` read from a .npy made by ``make_cache`` (same images as ``training_stream``)."""
    pixels = np.load(cache, mmap_mode="r")
    return lambda epoch: pixels[(epoch * count) % len(pixels) :][:count]


def make_cache(data: str, preprocessing, total: int, cache: Path, workers: int = 8) -> None:
    """Generate ``total`` canvases of the training stream into ``cache`` (.npy)."""
    with Pool(workers) as pool:
        canvases = pool.map(_canvas, [(data, preprocessing, i) for i in range(total)], chunksize=64)
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, np.stack(canvases))
    tmp.rename(cache)


def _plain_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A CPU copy without the forward hooks distillation put on the student (its feature mimic)."""
    clone = copy.deepcopy(model).cpu()
    for module in clone.modules():
        module._forward_pre_hooks.clear()
    return clone


def main() -> None:
    args = _parse()
    torch.set_num_threads(args.threads)
    source = load_source(args.model)
    spec = source.card
    val = resolve_dataset(source.card.dataset, "val")
    example = torch.zeros(1, 3, source.card.preprocessing.size, source.card.preprocessing.size)
    teacher = source.module.eval()
    student = copy.deepcopy(teacher)
    base = model_stats(student, example)["macs"]
    if args.fresh:
        if args.stream_cache and not args.stream_cache.exists():
            make_cache(
                source.card.dataset,
                source.card.preprocessing,
                args.images * args.epochs * args.rounds,
                args.stream_cache,
            )
        images = (
            cached_stream(args.images, args.stream_cache)
            if args.stream_cache
            else training_stream(source.card.dataset, source.card.preprocessing, args.images)
        )
    else:
        # one block, every epoch
        images = training_stream(source.card.dataset, source.card.preprocessing, args.images)(0)
    record: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "rounds": []}
    options = DistillOptions(
        epochs=args.epochs,
        lr=args.lr,
        temperature=args.temperature,
        batch_size=args.batch,
        device=args.device,
        ema_decay=args.ema,
        feature_weight=args.feature_weight,
    )
    prune = PruneOptions(
        args.prune,
        by="macs",
        importance=args.importance,
        round_to=args.round_to,
        steps=args.rounds,
        thin_idle=not args.keep_idle,
    )
    idle = find_idle(student, source, CompressPlan(prune=prune), source.card.dataset)
    for round_index in range(1, args.rounds + 1):
        prune_round(student, example, prune, round_index, base, idle.layers if idle else ())
        pruned, _ = evaluate(TorchSession(student, args.threads), spec, val)
        start = time.perf_counter()

        def score_now(
            epoch: int, step: int, steps: int, loss: float, round_index: int = round_index, start: float = start
        ) -> None:
            if args.eval_every and step == steps and (epoch + 1) % args.eval_every == 0 and epoch + 1 < args.epochs:
                metrics, _ = evaluate(TorchSession(_plain_copy(student), args.threads), spec, val)
                print(
                    f"round {round_index} epoch {epoch + 1} loss {loss:.4f} {time.perf_counter() - start:.0f}s "
                    f"{metrics}",
                    file=sys.stderr,
                    flush=True,
                )

        offset = (round_index - 1) * args.epochs
        round_images = (lambda epoch, offset=offset: images(offset + epoch)) if callable(images) else images
        losses = distill(
            teacher,
            student,
            round_images,
            source.card.preprocessing,
            source.card.task,
            len(source.card.class_names),
            options,
            on_step=score_now,
        )
        seconds = time.perf_counter() - start
        recovered, _ = evaluate(TorchSession(student, args.threads), spec, val)
        record["rounds"].append(
            {
                "macs": model_stats(student, example)["macs"] / base,
                "pruned": pruned,
                "recovered": recovered,
                "kd_seconds": seconds,
                "loss": losses,
            }
        )
        print(json.dumps(record["rounds"][-1]), file=sys.stderr, flush=True)
    print(json.dumps(record))
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""How much label-free distillation recovers after structured pruning: one recipe per run, JSON out.

    python benchmarks/kd_recovery.py --model nano-det --prune 0.5 --images 2048 --epochs 12 --lr 2e-3
    python benchmarks/kd_recovery.py ... --rounds 2      # iterative: prune half-way, distill, prune again, distill

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

import torch

from edgekit.compress.distill import DistillOptions, distill
from edgekit.compress.images import distillation_canvases
from edgekit.compress.pruning import PruneOptions
from edgekit.compress.run import prune_round
from edgekit.compress.stats import ModelSpec, TorchSession, model_stats
from edgekit.datasets import resolve_dataset
from edgekit.evaluation import evaluate
from edgekit.sources import load_source
from edgekit.tasks.detection import DetectionDecoding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nano-det")
    parser.add_argument("--prune", type=float, default=0.5, help="share of MACs to remove")
    parser.add_argument("--importance", default="l2")
    parser.add_argument("--rounds", type=int, default=1, help="prune + distill rounds to reach --prune")
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=12, help="distillation epochs per round")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--ema", type=float, default=0.999, help="weight-average decay; 0 turns it off")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-every", type=int, default=0, help="also score the student every N epochs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    source = load_source(args.model)
    spec = ModelSpec(source.task, source.preprocessing, source.class_names,
                     DetectionDecoding().to_dict() if source.task == "detect" else None)
    val = resolve_dataset(source.dataset, "val")
    example = torch.zeros(1, 3, source.preprocessing.size, source.preprocessing.size)
    teacher = source.module.eval()
    student = copy.deepcopy(teacher)
    base = model_stats(student, example)["macs"]
    canvases, _ = distillation_canvases(source.preprocessing, args.images, data=source.dataset)
    record: dict = {"args": vars(args), "rounds": []}
    options = DistillOptions(epochs=args.epochs, lr=args.lr, temperature=args.temperature,
                             batch_size=args.batch, device=args.device, ema_decay=args.ema)
    for round_index in range(1, args.rounds + 1):
        prune_round(student, example, PruneOptions(args.prune, by="macs", importance=args.importance,
                                                   steps=args.rounds), round_index, base)
        pruned, _ = evaluate(TorchSession(student, args.threads), spec, val)
        start = time.perf_counter()
        def score_now(epoch: int, step: int, steps: int, loss: float) -> None:
            if args.eval_every and step == steps and (epoch + 1) % args.eval_every == 0 and epoch + 1 < args.epochs:
                metrics, _ = evaluate(TorchSession(copy.deepcopy(student).cpu(), args.threads), spec, val)
                print(f"round {round_index} epoch {epoch + 1} loss {loss:.4f} {time.perf_counter() - start:.0f}s "
                      f"{metrics}", file=sys.stderr, flush=True)

        losses = distill(teacher, student, canvases, source.preprocessing, source.task, len(source.class_names),
                         options, on_step=score_now)
        seconds = time.perf_counter() - start
        recovered, _ = evaluate(TorchSession(student, args.threads), spec, val)
        record["rounds"].append({"macs": model_stats(student, example)["macs"] / base, "pruned": pruned,
                                 "recovered": recovered, "kd_seconds": seconds, "loss": losses})
        print(json.dumps(record["rounds"][-1]), file=sys.stderr, flush=True)
    print(json.dumps(record))


if __name__ == "__main__":
    main()

"""Idle detector outputs: output branches that never score on the user's images, and the layers feeding only them.

A detector trained on one kind of data often leaves some of its pyramid levels unused (the reference detector's
objects all land on the stride-8 level; its stride-16/32 class maps never pass 0.002). Uniform pruning spends
the same share of channels on those branches as on the working ones. ``idle_layers`` finds the class-score
layers whose sigmoid never reaches ``threshold`` on the images, pairs the box layers at the same resolution with
them, and walks the autograd graph back from the *live* outputs: every weighted layer it does not reach feeds
idle outputs only, and can be thinned to the minimum without changing what the model detects on such data.
Distillation still teaches the thin branches to stay quiet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .pruning import output_layers

#: A class map whose sigmoid never reaches this on the probe images counts as idle.
IDLE_SCORE = 0.05


@dataclass
class IdleOutputs:
    """Idle output layers (by name), the layers that feed only them, and the peak score of each class map."""

    outputs: list[str] = field(default_factory=list)
    layers: list[nn.Module] = field(default_factory=list)
    layer_names: list[str] = field(default_factory=list)
    peak_scores: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """JSON-friendly description for the compress report."""
        return {
            "idle_outputs": self.outputs,
            "idle_layers": len(self.layers),
            "peak_scores": {k: round(v, 4) for k, v in self.peak_scores.items()},
            "idle_score": IDLE_SCORE,
        }


def _output_maps(
    model: nn.Module, layers: Sequence[nn.Module], images: torch.Tensor, batch: int = 32
) -> dict[nn.Module, tuple[float, tuple[int, ...]]]:
    """Per output layer: the peak sigmoid of its output over ``images`` and its spatial shape."""
    seen: dict[nn.Module, tuple[float, tuple[int, ...]]] = {}

    def keep_peak(module: nn.Module, _inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        peak = float(output.sigmoid().max())
        seen[module] = (max(peak, seen.get(module, (0.0, ()))[0]), tuple(output.shape[2:]))

    hooks = [layer.register_forward_hook(keep_peak) for layer in layers]
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch):
                model(images[start : start + batch])
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def _reached_from(model: nn.Module, live: Sequence[nn.Module], example: torch.Tensor) -> set[nn.Module]:
    """Weighted Conv/Linear layers on some autograd path into the outputs of the ``live`` layers."""
    producers: dict[Any, nn.Module] = {}
    starts: list[Any] = []

    def record(module: nn.Module, _inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        producers[output.grad_fn] = module
        if module in live:
            starts.append(output.grad_fn)

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.enable_grad():
            model(example.clone().requires_grad_(True))
    finally:
        for hook in hooks:
            hook.remove()
    reached: set[nn.Module] = set()
    seen: set[Any] = set()
    stack = list(starts)
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        if fn in producers:
            reached.add(producers[fn])
        stack.extend(next_fn for next_fn, _ in fn.next_functions)
    return reached


def idle_layers(model: nn.Module, images: torch.Tensor, num_classes: int, threshold: float = IDLE_SCORE) -> IdleOutputs:
    """Find idle outputs of a detector (see the module docstring); empty when every output scores somewhere.

    ``images`` is a normalised NCHW batch of the user's images; ``model`` is in eval mode.
    """
    model.eval()
    outputs = [m for m in output_layers(model, images[:1]) if isinstance(m, nn.Conv2d) and m.weight.requires_grad]
    maps = _output_maps(model, outputs, images)
    names = {m: n for n, m in model.named_modules()}
    scores = {m: maps[m] for m in outputs if m.out_channels == num_classes and m in maps}
    live_shapes = {shape for peak, shape in scores.values() if peak >= threshold}
    idle_shapes = {shape for _, shape in scores.values()} - live_shapes
    if not live_shapes or not idle_shapes:  # nothing scores (wrong images?) or everything does: thin nothing
        return IdleOutputs(peak_scores={names[m]: p for m, (p, _) in scores.items()})
    live = [m for m in outputs if maps[m][1] not in idle_shapes]  # other outputs are never called idle
    reached = _reached_from(model, live, images[:1])
    idle: list[nn.Module] = [
        m
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.requires_grad and m not in reached and m not in outputs
    ]
    return IdleOutputs(
        outputs=[names[m] for m in outputs if m not in live],
        layers=idle,
        layer_names=[names[m] for m in idle],
        peak_scores={names[m]: p for m, (p, _) in scores.items()},
    )

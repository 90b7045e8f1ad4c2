"""Feature mimicking for detector distillation: the student's head inputs learn the teacher's (FitNets-style).

Matching only a detector's outputs teaches the backbone and neck through the head alone. Matching the
multi-scale features that enter the head as well gives every pruned layer a direct target. The student's
pruned channel counts differ from the teacher's, so a 1x1 convolution per level maps them across; the
adapters are thrown away after distillation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .pruning import output_layers


def head_module_name(model: nn.Module, example: torch.Tensor) -> str | None:
    """The innermost module holding every output layer (a detector's head), or None (e.g. one Linear)."""
    names = {id(m): n for n, m in model.named_modules()}
    found = [names[id(m)].split(".") for m in output_layers(model.eval(), example) if id(m) in names]
    if len(found) < 2:
        return None
    common = []
    for parts in zip(*found):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return ".".join(common) or None


def _feature_maps(inputs: tuple[Any, ...]) -> list[torch.Tensor]:
    first = inputs[0] if len(inputs) == 1 else inputs
    maps = list(first) if isinstance(first, (list, tuple)) else [first]
    return [m for m in maps if isinstance(m, torch.Tensor) and m.dim() == 4]


class FeatureMimic:
    """Hooks the head inputs of teacher and student; ``loss()`` after both forwards of a batch."""

    def __init__(self, teacher: nn.Module, student: nn.Module, head: str, example: torch.Tensor) -> None:
        self._teacher: list[torch.Tensor] = []
        self._student: list[torch.Tensor] = []
        self._probing = True
        self._hooks = [
            teacher.get_submodule(head).register_forward_pre_hook(self._capture(self._teacher)),
            student.get_submodule(head).register_forward_pre_hook(self._capture(self._student)),
        ]
        with torch.no_grad():
            teacher(example)
            student(example)
        self._probing = False
        pairs = list(zip(self._student, self._teacher))
        self.adapters = nn.ModuleList(nn.Conv2d(s.shape[1], t.shape[1], 1) for s, t in pairs).to(example.device)
        self._teacher.clear()
        self._student.clear()

    def _capture(self, store: list[torch.Tensor]) -> Callable[[nn.Module, tuple[Any, ...]], None]:
        """A pre-hook keeping the head's inputs of training-mode forwards (the teacher runs in raw/train mode);
        eval-mode forwards, e.g. scoring a copy of the student between steps, leave ``store`` alone."""

        def hook(module: nn.Module, inputs: tuple[Any, ...]) -> None:
            if module.training or self._probing:
                store.extend(_feature_maps(inputs))

        return hook

    def loss(self) -> torch.Tensor:
        """Sum over levels of the adapted student's squared error relative to the teacher feature's energy."""
        total = torch.zeros(())
        for adapter, s, t in zip(self.adapters, self._student, self._teacher):
            total = total + F.mse_loss(adapter(s), t) / (t.pow(2).mean() + 1e-6)
        self._teacher.clear()
        self._student.clear()
        return total

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()

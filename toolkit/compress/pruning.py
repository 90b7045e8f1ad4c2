"""Structured channel pruning (Torch-Pruning dependency graph), unstructured L1 pruning, dynamic quantization."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import EdgekitError
from .prunable import make_prunable
from .stats import model_stats

IMPORTANCE = ("l1", "l2", "bn")


def check_ratio(kind: str, ratio: float) -> None:
    """A pruning ratio must lie strictly between 0 and 1."""
    if not 0.0 < ratio < 1.0:
        raise EdgekitError(f"{kind} ratio must be in (0, 1), got {ratio}")


@dataclass(frozen=True)
class PruneOptions:
    """``ratio`` of channels (``by="channels"``) or of MACs (``by="macs"``) to remove."""

    ratio: float
    by: str = "channels"
    importance: str = "l2"
    round_to: int = 8
    steps: int = 1
    keep: tuple[str, ...] = ()

    def validate(self) -> None:
        check_ratio("pruning", self.ratio)
        if self.by not in ("channels", "macs"):
            raise EdgekitError(f"--prune-by must be channels or macs, got {self.by!r}")
        if self.importance not in IMPORTANCE:
            raise EdgekitError(f"importance must be one of {', '.join(IMPORTANCE)}, got {self.importance!r}")


def output_layers(model: nn.Module, example: torch.Tensor) -> list[nn.Module]:
    """Layers with trainable weights whose outputs reach a model output through weight-free ops only.

    Pruning them would change the output's shape (a detector's box/class convs, a classifier's last Linear).
    Weight-free modules (e.g. a fixed DFL conv) are walked through and kept as well.
    """
    producers: dict[object, nn.Module] = {}
    hooks = [m.register_forward_hook(lambda mod, _in, out: producers.__setitem__(out.grad_fn, mod))
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.enable_grad():
            outputs = model(example.clone().requires_grad_(True))
    finally:
        for hook in hooks:
            hook.remove()
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    found, seen = [], set()
    stack = [o.grad_fn for o in outputs if o.grad_fn is not None]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        module = producers.get(fn)
        if module is not None:
            found.append(module)
            if any(p.requires_grad for p in module.parameters()):
                continue
        stack.extend(next_fn for next_fn, _ in fn.next_functions)
    return found


def _importance(name: str):
    import torch_pruning as tp

    if name == "bn":
        return tp.importance.BNScaleImportance()
    return tp.importance.MagnitudeImportance(p=1 if name == "l1" else 2)


def prune_structured(model: nn.Module, example: torch.Tensor, options: PruneOptions) -> nn.Module:
    """Remove whole channels in place; returns the (smaller, plain) model."""
    import torch_pruning as tp

    options.validate()
    model = make_prunable(model).eval()
    keep = output_layers(model, example) + [m for name, m in model.named_modules()
                                            if any(name == k or name.startswith(k + ".") for k in options.keep)]
    by_macs = options.by == "macs"
    steps = 20 if by_macs else options.steps
    try:
        pruner = tp.pruner.MetaPruner(model, example, importance=_importance(options.importance),
                                      pruning_ratio=0.9 if by_macs else options.ratio, iterative_steps=steps,
                                      ignored_layers=keep, round_to=options.round_to)
        base = model_stats(model, example)["macs"]
        for _ in range(steps):
            pruner.step()
            if by_macs and model_stats(model, example)["macs"] <= (1 - options.ratio) * base:
                break
    except EdgekitError:
        raise
    except Exception as exc:  # noqa: BLE001 - tracing failures surface as many types
        raise EdgekitError(f"Torch-Pruning cannot prune this model: {type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:200] if str(exc) else ''}") from None
    return model


def prune_unstructured(model: nn.Module, ratio: float) -> nn.Module:
    """Zero the smallest-|w| ``ratio`` of each Conv/Linear weight (L1), made permanent: same dense shapes."""
    from torch.nn.utils import prune

    check_ratio("unstructured", ratio)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)) and module.weight.requires_grad:
            prune.l1_unstructured(module, "weight", amount=ratio)
            prune.remove(module, "weight")
    return model


def sparsity(model: nn.Module) -> float:
    """Share of exactly-zero weights over all Conv/Linear weights."""
    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    total = sum(w.numel() for w in weights)
    return float(sum(int((w == 0).sum()) for w in weights) / total) if total else 0.0

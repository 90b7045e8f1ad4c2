"""Structured channel pruning (Torch-Pruning dependency graph), unstructured L1 pruning, dynamic quantization."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import EdgekitError, describe
from .options import GRADIENT_IMPORTANCE, IMPORTANCE, PruneOptions, check_ratio  # noqa: F401 - defined with the other options
from .prunable import inside_opaque_blocks, make_prunable, opaque_surrogates
from .stats import model_stats
from .tracing import tracing_budget


def _as_tensors(outputs: object) -> list[torch.Tensor]:
    items = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    if not all(isinstance(item, torch.Tensor) for item in items):
        raise EdgekitError(
            f"Torch-Pruning cannot trace this model: its forward returns {type(outputs).__name__}, "
            "expected a tensor or a list/tuple of tensors"
        )
    return list(items)


def output_layers(model: nn.Module, example: torch.Tensor) -> list[nn.Module]:
    """Layers with trainable weights whose outputs reach a model output through weight-free ops only.

    Pruning them would change the output's shape (a detector's box/class convs, a classifier's last Linear).
    Weight-free modules (e.g. a fixed DFL conv) are walked through and kept as well.
    """
    producers: dict[object, nn.Module] = {}
    hooks = [
        m.register_forward_hook(lambda mod, _in, out: producers.__setitem__(out.grad_fn, mod))
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    try:
        with torch.enable_grad():
            outputs = _as_tensors(model(example.clone().requires_grad_(True)))
    finally:
        for hook in hooks:
            hook.remove()
    found, seen = [], set()
    stack: list[Any] = [o.grad_fn for o in outputs if o.grad_fn is not None]
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


def _untraced_layers(model: nn.Module, traced: set[nn.Module]) -> list[str]:
    """Names of weighted Conv/Linear layers the dependency graph never reached (opaque blocks' insides aside)."""
    hidden = inside_opaque_blocks(model)
    return [
        name
        for name, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.requires_grad and m not in traced and m not in hidden
    ]


#: ``gradients(model, importance)``: put the task loss's gradients on ``model`` (and, for Hessian importance,
#: accumulate them per sample into ``importance``) before a Torch-Pruning step reads them
Gradients = Callable[[nn.Module, Any], None]


def _importance(name: str) -> Any:
    """Torch-Pruning's criterion: l1/l2 group magnitude, BatchNorm scale, first-order Taylor (|w * dL/dw|), or
    the diagonal-Hessian / OBD-style one (w^2 * E[(dL/dw)^2])."""
    import torch_pruning as tp

    if name == "bn":
        return tp.importance.BNScaleImportance()
    if name == "taylor":
        return tp.importance.TaylorImportance()
    if name == "hessian":
        return tp.importance.HessianImportance()
    return tp.importance.MagnitudeImportance(p=1 if name == "l1" else 2)


def _refuse_untraced(untraced: list[str]) -> None:
    if untraced:
        raise EdgekitError(
            f"Torch-Pruning cannot trace this model: layer(s) {', '.join(untraced[:5])} are cut "
            "off from the autograd graph (detach, .numpy() or a non-differentiable op in forward)"
        )


def check_traceable(model: nn.Module, example: torch.Tensor) -> None:
    """Refuse, with one line, a model Torch-Pruning cannot follow; works on a copy, so ``model`` is unchanged.

    ``compress`` calls it first, before it measures or saves anything.
    """
    import torch_pruning as tp

    probe = make_prunable(copy.deepcopy(model)).eval()
    with torch.no_grad():
        _as_tensors(probe(example))
    try:
        with tracing_budget(), opaque_surrogates(probe):
            graph = tp.DependencyGraph().build_dependency(probe, example_inputs=example)
    except EdgekitError:
        raise
    except Exception as exc:  # noqa: BLE001 - tracing failures surface as many types
        raise EdgekitError(f"Torch-Pruning cannot trace this model: {type(exc).__name__}") from None
    _refuse_untraced(_untraced_layers(probe, set(graph.module2node)))


def _thin(
    model: nn.Module, example: torch.Tensor, layers: Sequence[nn.Module], keep: list[nn.Module], options: PruneOptions
) -> None:
    """Cut each of ``layers`` (idle branches) down to ``round_to`` output channels in one Torch-Pruning step."""
    import torch_pruning as tp

    floor = options.round_to or 1
    ratios = {
        m: 1 - (floor + 0.5) / m.out_channels for m in layers if isinstance(m, nn.Conv2d) and m.out_channels > floor
    }
    if ratios:
        with tracing_budget(), opaque_surrogates(model) as boundary:
            pruner = tp.pruner.MetaPruner(
                model,
                example,
                importance=_importance("l2"),
                pruning_ratio=0.0,
                pruning_ratio_dict=ratios,
                ignored_layers=keep + boundary,
                round_to=options.round_to,
            )
        pruner.step()


def _refuse_empty_layers(model: nn.Module, options: PruneOptions) -> None:
    """Torch-Pruning keeps ``int(channels * (1 - ratio))`` channels, which is 0 for a narrow layer and a high
    ratio: such a layer computes nothing (and may not even fail in a forward pass)."""
    empty = [
        name for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and 0 in m.weight.shape[:2]
    ]
    if empty:
        raise EdgekitError(
            f"--prune {options.ratio:g} leaves {len(empty)} layer(s) with no channels "
            f"({', '.join(empty[:3])}): prune less, or keep them with --keep"
        )


def _kept_layers(model: nn.Module, example: torch.Tensor, options: PruneOptions) -> list[nn.Module]:
    """Layers no pruning step may narrow: the output layers and those ``options.keep`` names."""
    return output_layers(model, example) + [
        m for name, m in model.named_modules() if any(name == k or name.startswith(k + ".") for k in options.keep)
    ]


def sparsity_regularizer(
    model: nn.Module, example: torch.Tensor, options: PruneOptions, idle: Sequence[nn.Module] = ()
) -> Callable[[nn.Module], None]:
    """``regularize(model)``, to call after each backward pass of the training before pruning: Torch-Pruning's
    ``GroupNormPruner.regularize`` adds ``sparsity_reg * gamma * w`` to every prunable channel group's gradient,
    ``gamma`` growing from 1 to 16 as the group's L2 norm falls (weak groups are pushed to zero hardest), so the
    magnitude ranking that prunes afterwards removes channels that already carry little.

    ``model`` becomes its prunable form (in place); layers that pruning keeps (outputs, ``keep``, ``idle``
    branches and opaque blocks' boundaries) are left unregularized.
    """
    import torch_pruning as tp

    options.validate()
    model = make_prunable(model).eval()
    keep = _kept_layers(model, example, options)
    try:
        with tracing_budget(), opaque_surrogates(model) as boundary:
            pruner = tp.pruner.GroupNormPruner(
                model,
                example,
                importance=_importance("l2"),
                reg=options.sparsity_reg,
                pruning_ratio=options.ratio,
                ignored_layers=keep + list(idle) + boundary,
                round_to=options.round_to,
            )
    except EdgekitError:  # the tracing budget's own line
        raise
    except Exception as exc:  # noqa: BLE001 - tracing failures surface as many types
        raise EdgekitError(f"Torch-Pruning cannot trace this model: {describe(exc)}") from None

    def regularize(trained: nn.Module) -> None:
        pruner.regularize(trained)

    return regularize


def prune_structured(
    model: nn.Module,
    example: torch.Tensor,
    options: PruneOptions,
    idle: Sequence[nn.Module] = (),
    gradients: Gradients | None = None,
) -> nn.Module:
    """Remove whole channels in place; returns the (smaller, plain) model.

    ``idle`` layers (see ``idle.idle_layers``; found on the ``make_prunable`` form of the model) are first cut
    to ``round_to`` channels and then left alone, so the MAC or channel budget goes to the working layers.
    Gradient criteria (``taylor``, ``hessian``) need ``gradients``, called before every pruning step.
    """
    import torch_pruning as tp

    options.validate()
    model = make_prunable(model).eval()
    keep = _kept_layers(model, example, options)
    by_macs = options.by == "macs"
    steps = 60 if by_macs else 1  # by MACs: small channel steps until the MAC target is just reached
    with torch.no_grad():
        shapes = [o.shape for o in _as_tensors(model(example))]
    try:
        base = model_stats(model, example)["macs"]
        _thin(model, example, idle, keep, options)
        if options.importance in GRADIENT_IMPORTANCE and gradients is None:
            raise EdgekitError(f"--importance {options.importance} needs labelled images (its gradients)")
        importance = _importance(options.importance)
        with tracing_budget(), opaque_surrogates(model) as boundary:
            pruner = tp.pruner.MetaPruner(
                model,
                example,
                importance=importance,
                pruning_ratio=0.9 if by_macs else options.ratio,
                iterative_steps=steps,
                ignored_layers=keep + list(idle) + boundary,
                round_to=options.round_to,
            )
        _refuse_untraced(_untraced_layers(model, set(pruner.DG.module2node)))
        for _ in range(steps):
            if options.importance in GRADIENT_IMPORTANCE and gradients is not None:
                gradients(model, importance)
            pruner.step()
            _refuse_empty_layers(model, options)
            if by_macs and model_stats(model, example)["macs"] <= (1 - options.ratio) * base:
                break
        model.zero_grad(set_to_none=True)
        with torch.no_grad():
            if [o.shape for o in _as_tensors(model(example))] != shapes:
                raise EdgekitError(
                    "Torch-Pruning changed this model's output shapes; pass --keep for its output layers"
                )
    except EdgekitError:
        raise
    except Exception as exc:  # noqa: BLE001 - tracing failures surface as many types
        raise EdgekitError(f"Torch-Pruning cannot prune this model: {describe(exc)}") from None
    return model


def prune_unstructured(model: nn.Module, ratio: float, permanent: bool = True) -> nn.Module:
    """Zero the ``ratio`` of Conv/Linear weights with the smallest |w| across the whole model (global L1
    magnitude pruning). Every tensor keeps its dense shape; only values become zero. With ``permanent=False``
    the masks stay attached (so training keeps the zeros) until ``make_permanent``."""
    from torch.nn.utils import prune

    check_ratio("unstructured", ratio)
    layers = [
        (m, "weight") for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.requires_grad
    ]
    prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=ratio)
    return make_permanent(model) if permanent else model


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold every ``torch.nn.utils.prune`` mask into its weight (plain parameters again)."""
    from torch.nn.utils import prune

    for module in model.modules():
        if prune.is_pruned(module) and hasattr(module, "weight_mask"):
            prune.remove(module, "weight")
    return model


def sparsity(model: nn.Module) -> float:
    """Share of exactly-zero weights over all Conv/Linear weights."""
    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    total = sum(w.numel() for w in weights)
    return float(sum(int((w == 0).sum()) for w in weights) / total) if total else 0.0


def quantize_dynamic(model: nn.Module) -> tuple[nn.Module, int]:
    """PyTorch dynamic quantization of every ``nn.Linear`` (int8 weights, activations quantized on the fly).

    Returns the quantized copy and how many Linear layers it covered; convolutions are untouched, so a
    convolutional detector gains nothing from it. The result runs in PyTorch (TorchScript), not in ONNX.
    """
    layers = sum(isinstance(m, nn.Linear) for m in model.modules())
    with warnings.catch_warnings():  # torch deprecates quantized tensors in favour of torchao
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(model.eval(), {nn.Linear}, dtype=torch.qint8)
    return quantized, layers

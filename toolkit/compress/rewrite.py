"""Hardware-friendly rewrites, recovered like pruning: ``--act relu`` swaps smooth activations for ReLU.

SiLU (``x * sigmoid(x)``) runs as a separate Sigmoid and Mul after every INT8 convolution on ORT, OpenVINO
and TFLite; ReLU fuses into the convolution (a clamp of its requantised output). The swap changes what the
network computes, so it is only useful followed by recovery (distillation from the unswapped original plus
the task loss); it is an option, not a default (measured: benchmarks/compress/yolov8n-shapes-relu-int8.*).
"""

from __future__ import annotations

from torch import nn

from ..errors import EdgekitError

#: activation name -> (module types it replaces, factory of the replacement)
REWRITES: dict[str, tuple[tuple[type[nn.Module], ...], type[nn.Module]]] = {
    "relu": ((nn.SiLU, nn.Hardswish, nn.GELU, nn.Mish), nn.ReLU),
}


def replace_activations(model: nn.Module, act: str) -> int:
    """Replace, in place, every activation module ``REWRITES[act]`` covers; returns how many were replaced.

    A model whose activations are not modules (``F.silu`` inside ``forward``) has nothing to replace: that is
    a one-line error rather than a silent no-op.
    """
    if act not in REWRITES:
        raise EdgekitError(f"--act must be one of {', '.join(REWRITES)}, got {act!r}")
    kinds, replacement = REWRITES[act]
    swaps = [(parent, name) for parent in model.modules() for name, child in parent.named_children()
             if isinstance(child, kinds)]
    if not swaps:
        names = ", ".join(kind.__name__ for kind in kinds)
        raise EdgekitError(f"--act {act}: the model has no activation modules to replace ({names})")
    for parent, name in swaps:
        setattr(parent, name, replacement())
    return len(swaps)

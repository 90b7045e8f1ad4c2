"""Hardware-friendly rewrites, recovered like pruning: ``--act relu`` and ``--pad same``.

``--act relu`` swaps smooth activations for ReLU. SiLU (``x * sigmoid(x)``) runs as a separate Sigmoid and Mul
after every INT8 convolution on ORT, OpenVINO
and TFLite; ReLU fuses into the convolution (a clamp of its requantised output). The swap changes what the
network computes, so it is only useful followed by recovery (distillation from the unswapped original plus
the task loss); it is an option, not a default (measured: benchmarks/compress/yolov8n-shapes-relu-int8.*).

``--pad same`` gives every strided convolution TensorFlow's SAME padding (the extra row and column at the end,
none at the start) instead of PyTorch's symmetric one. TFLite convolutions only know SAME and VALID, so a
symmetric pad on a stride-2 convolution costs a separate PAD op (seven in YOLOv8n); after the rewrite the
TFLite exporter marks those convolutions SAME (``edgekit.convert.padding``) and the PAD ops are gone. The
sampling grid moves by one pixel, so this too needs recovery (measured: yolov8n-shapes-pad-int8.*).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
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
    swaps = [
        (parent, name)
        for parent in model.modules()
        for name, child in parent.named_children()
        if isinstance(child, kinds)
    ]
    if not swaps:
        names = ", ".join(kind.__name__ for kind in kinds)
        raise EdgekitError(f"--act {act}: the model has no activation modules to replace ({names})")
    for parent, name in swaps:
        setattr(parent, name, replacement())
    return len(swaps)


class SameUpperConv2d(nn.Conv2d):
    """A ``Conv2d`` padded like TensorFlow's SAME (ONNX ``SAME_UPPER``) for whatever input size it is given."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102 - nn.Module.forward
        pads: list[int] = []
        for extent, k, s, d in zip(
            reversed(x.shape[2:]), reversed(self.kernel_size), reversed(self.stride), reversed(self.dilation)
        ):
            total = max((math.ceil(int(extent) / s) - 1) * s + (k - 1) * d + 1 - int(extent), 0)
            pads += [total // 2, total - total // 2]  # F.pad: last axis first, (begin, end)
        return super().forward(F.pad(x, pads))


def _symmetric_strided(conv: nn.Module) -> bool:
    return (
        type(conv) is nn.Conv2d
        and conv.padding_mode == "zeros"
        and max(conv.stride) > 1
        and not isinstance(conv.padding, str)
        and tuple(conv.padding) == tuple((k - 1) * d // 2 for k, d in zip(conv.kernel_size, conv.dilation))
    )


def same_padding(model: nn.Module) -> int:
    """Give, in place, every strided ``Conv2d`` with symmetric "half kernel" padding SAME padding; returns how many.

    The module keeps its parameters and identity (pruning groups and optimisers still see the same object);
    only its class and padding change. A model without such convolutions is a one-line error.
    """
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and _symmetric_strided(m)]
    if not convs:
        raise EdgekitError("--pad same: the model has no strided Conv2d with symmetric padding to rewrite")
    for conv in convs:
        conv.__class__ = SameUpperConv2d
        conv.padding = (0, 0)
    return len(convs)

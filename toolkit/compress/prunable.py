"""Rewrites that make a model's graph prunable by Torch-Pruning, with identical outputs.

Torch-Pruning cannot follow ``chunk`` (C2f splits one conv's output in two): the dependency indices go out of
range. ``make_prunable`` replaces each C2f by ``SplitC2f``, whose first 1x1 conv is two convs (the two halves
of the original's weights and BatchNorm), the same rewrite Torch-Pruning's YOLOv8 example uses.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ..models.layers import C2f


def _half(layer: Any, part: slice) -> Any:
    """``layer`` (edgekit's ConvBnAct or Ultralytics' Conv: ``.conv``, ``.bn``) keeping output channels ``part``."""
    half = copy.deepcopy(layer)
    half.conv = nn.Conv2d(
        layer.conv.in_channels,
        part.stop - part.start,
        layer.conv.kernel_size,
        layer.conv.stride,
        layer.conv.padding,
        groups=layer.conv.groups,
        bias=False,
    )
    half.conv.weight.data = layer.conv.weight.data[part].clone()
    half.bn = nn.BatchNorm2d(part.stop - part.start, eps=layer.bn.eps, momentum=layer.bn.momentum)
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(half.bn, name).data = getattr(layer.bn, name).data[part].clone()
    return half.train(layer.training)  # new layers start in training mode


class SplitC2f(nn.Module):
    """C2f with its split done by two convs instead of ``chunk``: same function, prunable."""

    def __init__(self, block: Any) -> None:  # edgekit's C2f or Ultralytics' C2f / C3k2
        super().__init__()
        hidden = block.hidden if isinstance(block, C2f) else block.c  # Ultralytics names: c, m
        self.cv0a = _half(block.cv1, slice(0, hidden))
        self.cv0b = _half(block.cv1, slice(hidden, 2 * hidden))
        self.cv2 = block.cv2
        self.blocks = block.blocks if isinstance(block, C2f) else block.m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [self.cv0a(x), self.cv0b(x)]
        for block in self.blocks:
            parts.append(block(parts[-1]))
        out: torch.Tensor = self.cv2(torch.cat(parts, dim=1))
        return out


def _is_ultralytics_c2f(module: nn.Module) -> bool:
    """Ultralytics' C2f and its subclasses (YOLO11's C3k2): ``cv1(x).chunk(2, 1)``, blocks ``m``, width ``c``."""
    return any(
        cls.__name__ == "C2f" and cls.__module__.startswith("ultralytics") for cls in type(module).__mro__
    ) and all(hasattr(module, a) for a in ("cv1", "cv2", "m", "c"))


def make_prunable(model: nn.Module) -> nn.Module:
    """Replace every C2f in ``model`` (edgekit's or Ultralytics', in place) by an equivalent SplitC2f; returns
    the model. A C2f holding attention (YOLO26's last C3k2 with a PSA block) stays whole: it is an opaque block
    (``opaque_blocks``), never traced inside, so its ``chunk`` does not matter."""
    for name, child in list(model.named_children()):
        if (isinstance(child, C2f) or _is_ultralytics_c2f(child)) and not _holds_attention(child):
            split = SplitC2f(child)
            for attr in ("f", "i", "type", "np"):  # Ultralytics' forward routes layers by these
                if hasattr(child, attr):
                    setattr(split, attr, getattr(child, attr))
            setattr(model, name, split)
        else:
            make_prunable(child)
    return model


def _holds_attention(module: nn.Module) -> bool:
    return any(
        "Attention" in type(sub).__name__ or isinstance(sub, nn.MultiheadAttention)
        for sub in module.modules()
        if sub is not module
    )


def opaque_blocks(model: nn.Module) -> list[Any]:
    """Blocks Torch-Pruning is not let into: an attention block between an input conv ``cv1`` and an output conv
    ``cv2`` (YOLO11's C2PSA, YOLOv10's PSA). Their reshapes into heads made the dependency graph grow past 20 GB;
    seen from outside they are one layer whose input channels (``cv1``'s) and output channels (``cv2``'s) are
    pruned with their neighbours while the attention inside keeps its width (``opaque_surrogates``)."""
    found: list[nn.Module] = []
    for module in model.modules():
        if any(module is seen or any(module is sub for sub in seen.modules()) for seen in found):
            continue
        convs = [getattr(getattr(module, name, None), "conv", None) for name in ("cv1", "cv2")]
        if all(isinstance(c, nn.Conv2d) for c in convs) and _holds_attention(module):
            found.append(module)
    return found


def _widened(y: torch.Tensor, channels: int) -> torch.Tensor:
    """``y`` repeated along channels to ``channels`` (a C3k2's ``cv2`` reads more channels than ``cv1`` writes);
    both convs are kept whole, so how the copies map onto ``cv2``'s inputs never matters to pruning."""
    if y.shape[1] == channels:
        return y
    return torch.cat([y] * -(-channels // y.shape[1]), dim=1)[:, :channels]


@contextmanager
def opaque_surrogates(model: nn.Module) -> Iterator[list[nn.Module]]:
    """While tracing, each opaque block runs as ``cv2(cv1(x))``: Torch-Pruning sees its two boundary convs (so
    its input channels are pruned with the layers that feed it) and nothing of the attention inside. Yields the
    boundary convs, to be kept (``ignored_layers``): the block's inner width and its output width stay."""
    blocks = opaque_blocks(model)
    for block in blocks:
        block.forward = lambda x, b=block: b.cv2(_widened(b.cv1(x), b.cv2.conv.in_channels))
    try:
        yield [layer for block in blocks for layer in (block.cv1, block.cv2)]
    finally:
        for block in blocks:
            del block.forward


def inside_opaque_blocks(model: nn.Module) -> set[nn.Module]:
    """Every module inside an opaque block but its boundary convs' (they keep their width, untraced)."""
    inside = set()
    for block in opaque_blocks(model):
        boundary = set(block.cv1.modules()) | set(block.cv2.modules())
        inside |= {sub for sub in block.modules() if sub is not block and sub not in boundary}
    return inside

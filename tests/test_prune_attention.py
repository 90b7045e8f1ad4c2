"""Pruning a model with attention (YOLO11's C2PSA shape) without hand edits: the attention block is opaque to
Torch-Pruning (its boundary convs stand in for it while tracing), and tracing runs under a time/memory budget."""

from __future__ import annotations

import time

import pytest
import torch
from edgekit.compress.options import PruneOptions
from edgekit.compress.prunable import SplitC2f, inside_opaque_blocks, make_prunable, opaque_blocks
from edgekit.compress.pruning import prune_structured
from edgekit.compress.stats import model_stats
from edgekit.compress.tracing import TracingBudgetExceeded, tracing_budget
from edgekit.models.layers import C2f, ConvBnAct
from torch import nn


class Attention(nn.Module):
    """Multi-head self-attention over the pixels, written the way YOLO11's is (reshapes into heads)."""

    def __init__(self, channels: int, heads: int = 2) -> None:
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Conv2d(channels, 3 * channels, 1), nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).view(b, self.heads, 3 * c // self.heads, h * w).split(c // self.heads, dim=2)
        attn = (q.transpose(-2, -1) @ k).softmax(-1)
        return self.proj((v @ attn.transpose(-2, -1)).view(b, c, h, w)) + x


class AttentionBlock(nn.Module):
    """cv1 -> split -> attention on one half -> concat -> cv2 (YOLO11's C2PSA)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.c = channels // 2
        self.cv1, self.cv2 = ConvBnAct(channels, 2 * self.c, 1), ConvBnAct(2 * self.c, channels, 1)
        self.m = Attention(self.c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        return self.cv2(torch.cat((self.m(a), b), 1))


class TinyAttentionNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem, self.body = ConvBnAct(3, 32, 3, 2), ConvBnAct(32, 64, 3, 2)
        self.block, self.tail = AttentionBlock(64), ConvBnAct(64, 64, 3)
        self.head = nn.Conv2d(64, 10, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.tail(self.block(self.body(self.stem(x))))).mean((2, 3))


def test_an_attention_block_is_pruned_around_and_keeps_its_inside() -> None:
    model, x = TinyAttentionNet().eval(), torch.rand(2, 3, 32, 32)
    assert opaque_blocks(model) == [model.block]
    inside = {m for m in inside_opaque_blocks(model) if isinstance(m, nn.Conv2d)}
    assert inside == {model.block.m.qkv, model.block.m.proj}
    before = model_stats(model, x[:1])["macs"]
    qkv_shape = model.block.m.qkv.weight.shape
    prune_structured(model, x[:1], PruneOptions(0.3, by="macs"))
    assert model_stats(model, x[:1])["macs"] <= 0.75 * before
    assert model.block.m.qkv.weight.shape == qkv_shape  # the attention kept its width
    assert model.block.cv1.conv.in_channels == model.body.conv.out_channels < 64  # pruned with its feeder
    assert model(x).shape == (2, 10)


class AttentionC2f(C2f):
    """A C2f whose chain ends in attention (YOLO26's last C3k2, with a PSA block): cv2 reads 3 halves."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, channels, n=1)
        self.blocks = nn.ModuleList([Attention(self.hidden)])


class TinyAttentionC2fNet(TinyAttentionNet):
    def __init__(self) -> None:
        super().__init__()
        self.block = AttentionC2f(64)


def test_a_c2f_holding_attention_stays_whole_and_is_pruned_around() -> None:
    """The C2f rewrite skips it (the chunk inside is never traced), and while tracing its stand-in feeds cv2
    the wider input it reads; every other C2f is still rewritten."""
    model, x = TinyAttentionC2fNet().eval(), torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        want = model(x)
    make_prunable(model)
    assert isinstance(model.block, AttentionC2f) and opaque_blocks(model) == [model.block]
    with torch.no_grad():
        torch.testing.assert_close(model(x), want)
    plain = make_prunable(nn.Sequential(C2f(8, 8)))
    assert isinstance(plain[0], SplitC2f)
    qkv_shape, before = model.block.blocks[0].qkv.weight.shape, model_stats(model, x[:1])["macs"]
    prune_structured(model, x[:1], PruneOptions(0.3, by="macs"))
    assert model_stats(model, x[:1])["macs"] <= 0.75 * before
    assert model.block.blocks[0].qkv.weight.shape == qkv_shape
    assert model.block.cv1.conv.in_channels == model.body.conv.out_channels < 64
    assert model(x).shape == (2, 10)


def test_tracing_over_its_budget_ends_in_one_error_not_a_hang() -> None:
    start = time.monotonic()
    with (
        pytest.raises(TracingBudgetExceeded, match=r"took \d+ s .*cannot follow; pass --keep NAME"),
        tracing_budget(seconds=0.5),
    ):
        while time.monotonic() - start < 30:
            sum(range(1000))
    assert time.monotonic() - start < 5
    with pytest.raises(TracingBudgetExceeded, match="GB more memory"), tracing_budget(memory_bytes=64 * 1024**2):
        hog = [bytearray(16 * 1024**2) for _ in range(16)]  # noqa: F841 - held while the timer checks
        while time.monotonic() - start < 30:
            sum(range(1000))

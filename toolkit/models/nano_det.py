"""``nano-det``: a small YOLOv8-shaped detector (C2f/SPPF backbone, PAN neck, decoupled DFL head).

Its eval-mode output follows the Ultralytics YOLOv8 ONNX convention: one tensor ``[B, 4 + nc, N]`` holding
xywh boxes in input pixels concatenated with sigmoid class scores, so it carries the same INT8 hazards
(SiLU, DFL softmax, pixel-scale boxes concatenated with [0, 1] scores).
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import DFL, SPPF, C2f, ConvBnAct

STRIDES: tuple[int, ...] = (8, 16, 32)


class Backbone(nn.Module):
    """Stem + four stride-2 stages; returns the stride 8/16/32 feature maps."""

    def __init__(self, w: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = nn.Sequential(ConvBnAct(3, w[0], 3, 2), ConvBnAct(w[0], w[1], 3, 2), C2f(w[1], w[1]))
        self.p3 = nn.Sequential(ConvBnAct(w[1], w[2], 3, 2), C2f(w[2], w[2], 2))
        self.p4 = nn.Sequential(ConvBnAct(w[2], w[3], 3, 2), C2f(w[3], w[3], 2))
        self.p5 = nn.Sequential(ConvBnAct(w[3], w[4], 3, 2), C2f(w[4], w[4]), SPPF(w[4], w[4]))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        p3 = self.p3(self.stem(x))
        p4 = self.p4(p3)
        return [p3, p4, self.p5(p4)]


class Neck(nn.Module):
    """PAN-FPN: top-down then bottom-up fusion of the three scales."""

    def __init__(self, w: tuple[int, ...]) -> None:
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.td4 = C2f(w[4] + w[3], w[3], shortcut=False)
        self.td3 = C2f(w[3] + w[2], w[2], shortcut=False)
        self.down3 = ConvBnAct(w[2], w[2], 3, 2)
        self.bu4 = C2f(w[2] + w[3], w[3], shortcut=False)
        self.down4 = ConvBnAct(w[3], w[3], 3, 2)
        self.bu5 = C2f(w[3] + w[4], w[4], shortcut=False)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        p3, p4, p5 = feats
        t4 = self.td4(torch.cat([self.up(p5), p4], 1))
        o3 = self.td3(torch.cat([self.up(t4), p3], 1))
        o4 = self.bu4(torch.cat([self.down3(o3), t4], 1))
        o5 = self.bu5(torch.cat([self.down4(o4), p5], 1))
        return [o3, o4, o5]


class DetectHead(nn.Module):
    """Anchor-free decoupled head: per level a box branch (4 x ``reg_max`` bins) and a class branch."""

    def __init__(self, channels: tuple[int, ...], num_classes: int, reg_max: int = 16) -> None:
        super().__init__()
        self.num_classes, self.reg_max = num_classes, reg_max
        c_box, c_cls = max(16, channels[0] // 4, 4 * reg_max), max(channels[0], num_classes)
        self.box = nn.ModuleList(
            nn.Sequential(ConvBnAct(c, c_box, 3), ConvBnAct(c_box, c_box, 3), nn.Conv2d(c_box, 4 * reg_max, 1))
            for c in channels
        )
        self.cls = nn.ModuleList(
            nn.Sequential(ConvBnAct(c, c_cls, 3), ConvBnAct(c_cls, c_cls, 3), nn.Conv2d(c_cls, num_classes, 1))
            for c in channels
        )
        self.dfl = DFL(reg_max)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        return [torch.cat([b(f), c(f)], 1) for f, b, c in zip(feats, self.box, self.cls)]


def make_anchors(raw: list[torch.Tensor], strides: tuple[float, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Cell-centre anchor points (N, 2) in grid units and their strides (N, 1), level by level.

    They live on the device of ``raw`` (a model moved to a GPU decodes there).
    """
    points, stride_list = [], []
    for level, stride in zip(raw, strides):
        h, w = level.shape[2:]
        device = level.device
        ys, xs = torch.meshgrid(
            torch.arange(h, dtype=torch.float32, device=device) + 0.5,
            torch.arange(w, dtype=torch.float32, device=device) + 0.5,
            indexing="ij",
        )
        points.append(torch.stack([xs, ys], -1).view(-1, 2))
        stride_list.append(torch.full((h * w, 1), float(stride), device=device))
    return torch.cat(points), torch.cat(stride_list)


class NanoDetector(nn.Module):
    """The reference detector. Training mode returns raw per-level maps; eval mode ``[B, 4 + nc, N]``."""

    def __init__(
        self, num_classes: int = 5, widths: tuple[int, ...] = (16, 32, 48, 80, 128), reg_max: int = 16
    ) -> None:
        super().__init__()
        self.num_classes, self.reg_max, self.strides = num_classes, reg_max, STRIDES
        self.backbone = Backbone(widths)
        self.neck = Neck(widths)
        self.head = DetectHead((widths[2], widths[3], widths[4]), num_classes, reg_max)

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        raw = self.head(self.neck(self.backbone(x)))
        return raw if self.training else self.decode(raw)

    def flatten(self, raw: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Concatenate levels into box bins (B, 4*reg_max, N) and class logits (B, nc, N)."""
        b = raw[0].shape[0]
        flat = torch.cat([r.view(b, 4 * self.reg_max + self.num_classes, -1) for r in raw], 2)
        return flat.split((4 * self.reg_max, self.num_classes), 1)

    def decode(self, raw: list[torch.Tensor]) -> torch.Tensor:
        """Raw maps -> ``[B, 4 + nc, N]``: xywh in input pixels, sigmoid class scores."""
        bins, logits = self.flatten(raw)
        anchors, strides = make_anchors(raw, self.strides)
        anchors, strides = anchors.T.unsqueeze(0), strides.T.unsqueeze(0)
        lt, rb = self.head.dfl(bins).chunk(2, 1)
        x1y1, x2y2 = anchors - lt, anchors + rb
        xywh = torch.cat([(x1y1 + x2y2) / 2, x2y2 - x1y1], 1) * strides
        return torch.cat([xywh, logits.sigmoid()], 1)

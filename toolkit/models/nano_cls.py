"""``nano-cls``: a small MobileNetV2-style classifier (inverted residuals, depthwise convs, ReLU6)."""

from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBnAct

#: (expansion, out channels, repeats, first stride) as in MobileNetV2, scaled down for 64 px inputs.
STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 2, 2),
    (6, 64, 2, 2),
    (6, 96, 1, 1),
)


class InvertedResidual(nn.Module):
    """1x1 expand -> 3x3 depthwise -> 1x1 linear project, residual when shapes match."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(ConvBnAct(c_in, hidden, 1, act=nn.ReLU6()))
        layers += [
            ConvBnAct(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6()),
            ConvBnAct(hidden, c_out, 1, act=nn.Identity()),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class NanoClassifier(nn.Module):
    """The reference classifier: logits ``[B, nc]``."""

    def __init__(self, num_classes: int = 5, last_channels: int = 256) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBnAct(3, 16, 3, 2, act=nn.ReLU6())]
        c_in = 16
        for expansion, c_out, repeats, stride in STAGES:
            for i in range(repeats):
                layers.append(InvertedResidual(c_in, c_out, stride if i == 0 else 1, expansion))
                c_in = c_out
        layers.append(ConvBnAct(c_in, last_channels, 1, act=nn.ReLU6()))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(last_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))

"""Distillation losses of detectors: the box term with DFL bins (KL) and without (YOLO26's distances, L1)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from edgekit.compress.task_losses import detection_kd_loss

CLASSES = 3


def _maps(bins: int, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(2, 4 * bins + CLASSES, size, size, generator=generator) for size in (4, 2)]


def _class_term(student: list[torch.Tensor], teacher: list[torch.Tensor], bins: int) -> torch.Tensor:
    return sum(
        F.binary_cross_entropy_with_logits(s[:, 4 * bins :], t[:, 4 * bins :].sigmoid()) * 100
        for s, t in zip(student, teacher)
    )


@pytest.mark.parametrize("bins", [16, 1])
def test_the_box_term_vanishes_only_when_the_boxes_agree(bins):
    teacher = _maps(bins, 0)
    student = [t.clone() for t in teacher]
    for s in student:
        s[:, 4 * bins :] += 1.0  # the classes differ, the boxes agree
    agree = detection_kd_loss(student, teacher, CLASSES, temperature=2.0)
    assert torch.isclose(agree, _class_term(student, teacher, bins), atol=1e-4)
    for s in student:
        s[:, : 4 * bins] += torch.linspace(0, 1, 4 * bins).view(1, -1, 1, 1)
    assert detection_kd_loss(student, teacher, CLASSES, temperature=2.0) > agree + 1e-3


def test_a_head_without_bins_distills_its_distances_by_weighted_l1():
    """reg_max 1 (YOLO26): one level, every distance 0.5 apart, so the weighted mean L1 is 0.5 whatever the
    weights: the box term is distilled, where KL over one bin would be 0."""
    teacher = _maps(1, 1)[:1]
    student = [teacher[0].clone()]
    student[0][:, :4] += 0.5
    loss = detection_kd_loss(student, teacher, CLASSES, temperature=2.0)
    assert torch.isclose(loss - _class_term(student, teacher, 1), torch.tensor(0.5), atol=1e-5)

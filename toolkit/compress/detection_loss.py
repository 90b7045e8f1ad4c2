"""edgekit's own detection loss for detectors in the raw-map convention (``[B, 4R + nc, H, W]`` per level):
task-aligned assignment (TOOD), BCE class loss, GIoU + distribution focal loss on the boxes, the published
YOLOv8 recipe. It trains the built-in reference detector (``benchmarks/train_reference.py``) and recovers pruned
built-in detectors with labels; Ultralytics models use Ultralytics' own loss instead (``task_criterion``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..models.nano_det import make_anchors


def pairwise_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of xyxy boxes a (M, 4) vs b (N, 4) -> (M, N)."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(2)
    area_a = (a[:, 2:] - a[:, :2]).prod(1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)


def giou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Element-wise generalised IoU of xyxy boxes (K, 4)."""
    inter = (torch.minimum(a[:, 2:], b[:, 2:]) - torch.maximum(a[:, :2], b[:, :2])).clamp(min=0).prod(1)
    union = (a[:, 2:] - a[:, :2]).prod(1) + (b[:, 2:] - b[:, :2]).prod(1) - inter + 1e-9
    hull = (torch.maximum(a[:, 2:], b[:, 2:]) - torch.minimum(a[:, :2], b[:, :2])).prod(1) + 1e-9
    return inter / union - (hull - union) / hull


def _dfl(bins: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Distribution focal loss: cross-entropy to the two bins around the continuous target."""
    left = target.long()
    w_left = left + 1 - target
    logp = bins.log_softmax(-1)
    loss = -(
        logp.gather(-1, left[..., None])[..., 0] * w_left
        + logp.gather(-1, (left + 1)[..., None])[..., 0] * (1 - w_left)
    )
    return loss.mean(-1)


class DetectionLoss:
    """YOLOv8-style loss on raw maps; ``__call__`` returns (total * batch, parts (box, cls, dfl) detached).

    The DFL bin count and each level's stride are read off the maps (``image_size`` / map width), so any
    detector in the raw-map convention fits, pruned or not.
    """

    def __init__(
        self,
        num_classes: int,
        image_size: int,
        topk: int = 10,
        alpha: float = 0.5,
        beta: float = 6.0,
        gains: tuple[float, float, float] = (7.5, 0.5, 1.5),
    ) -> None:
        self.nc, self.image_size, self.topk, self.alpha, self.beta, self.gains = (
            num_classes,
            image_size,
            topk,
            alpha,
            beta,
            gains,
        )

    @torch.no_grad()
    def assign(
        self,
        scores: torch.Tensor,
        pred: torch.Tensor,
        anchors_px: torch.Tensor,
        gt_cls: torch.Tensor,
        gt_box: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Task-aligned assignment for one image -> (foreground mask, target boxes, target scores)."""
        n, nc = scores.shape
        if gt_cls.numel() == 0:
            return (
                torch.zeros(n, dtype=torch.bool, device=scores.device),
                scores.new_zeros(n, 4),
                scores.new_zeros(n, nc),
            )
        inside = ((anchors_px[None] > gt_box[:, None, :2]) & (anchors_px[None] < gt_box[:, None, 2:])).all(2)
        ious = pairwise_iou(gt_box, pred).clamp(min=0)
        align = scores[:, gt_cls].T.pow(self.alpha) * ious.pow(self.beta) * inside
        top = align.topk(min(self.topk, n), dim=1).indices
        mask = torch.zeros_like(inside).scatter_(1, top, True) & inside
        multi = mask.sum(0) > 1
        if multi.any():
            best = F.one_hot((ious * mask).argmax(0), gt_cls.numel()).T.bool()
            mask[:, multi] = best[:, multi]
        fg = mask.any(0)
        gt_index = mask.float().argmax(0)
        align = align * mask
        norm = (align * (ious * mask).amax(1, keepdim=True) / (align.amax(1, keepdim=True) + 1e-9)).amax(0)
        target_scores = F.one_hot(gt_cls[gt_index], nc).float() * (fg * norm)[:, None]
        return fg, gt_box[gt_index], target_scores

    def __call__(self, raw: list[torch.Tensor], targets: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``targets[i]`` is (M, 5): class, x0, y0, x1, y1 in input pixels."""
        batch = raw[0].shape[0]
        reg_max = (raw[0].shape[1] - self.nc) // 4
        flat = torch.cat([r.reshape(batch, r.shape[1], -1) for r in raw], 2)
        bins = flat[:, : 4 * reg_max].permute(0, 2, 1).reshape(batch, -1, 4, reg_max)
        logits = flat[:, 4 * reg_max :].permute(0, 2, 1)
        anchors, strides = make_anchors(raw, tuple(self.image_size / r.shape[3] for r in raw))
        dist = bins.softmax(3) @ torch.arange(reg_max, dtype=bins.dtype, device=bins.device)
        pred = torch.cat([anchors - dist[..., :2], anchors + dist[..., 2:]], -1) * strides
        anchors_px = anchors * strides
        fg_all, tbox_all, tscore_all = zip(
            *(
                self.assign(logits[i].detach().sigmoid(), pred[i].detach(), anchors_px, t[:, 0].long(), t[:, 1:])
                for i, t in enumerate(targets)
            )
        )
        fg, tbox, tscore = torch.stack(fg_all), torch.stack(tbox_all), torch.stack(tscore_all)
        score_sum = tscore.sum().clamp(min=1.0)
        loss_cls = F.binary_cross_entropy_with_logits(logits, tscore, reduction="sum") / score_sum
        loss_box = loss_dfl = flat.new_zeros(())
        if fg.any():
            weight = tscore.sum(-1)[fg]
            loss_box = ((1 - giou(pred[fg], tbox[fg])) * weight).sum() / score_sum
            stride_fg = strides.expand(batch, -1, -1)[fg]
            anchor_fg = anchors.expand(batch, -1, -1)[fg]
            target_ltrb = torch.cat(
                [anchor_fg - tbox[fg][:, :2] / stride_fg, tbox[fg][:, 2:] / stride_fg - anchor_fg], -1
            ).clamp(0, reg_max - 1.01)
            loss_dfl = (_dfl(bins[fg], target_ltrb) * weight).sum() / score_sum
        parts = torch.stack([loss_box * self.gains[0], loss_cls * self.gains[1], loss_dfl * self.gains[2]])
        return parts.sum() * batch, parts.detach()

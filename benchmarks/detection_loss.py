"""Training loss for the reference detector: task-aligned assignment, BCE class loss, GIoU + DFL box loss.

Used only by ``train_reference.py``; follows the published YOLOv8 recipe (TOOD task-aligned assigner).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from edgekit.models.nano_det import NanoDetector, make_anchors


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


class DetectionLoss:
    """YOLOv8-style loss: returns (total, parts) with parts = (box, cls, dfl) detached."""

    def __init__(self, model: NanoDetector, topk: int = 10, alpha: float = 0.5, beta: float = 6.0,
                 gains: tuple[float, float, float] = (7.5, 0.5, 1.5)) -> None:
        self.model, self.topk, self.alpha, self.beta, self.gains = model, topk, alpha, beta, gains
        self.bins = torch.arange(model.reg_max, dtype=torch.float32)

    @torch.no_grad()
    def assign(self, scores: torch.Tensor, pred: torch.Tensor, anchors_px: torch.Tensor, gt_cls: torch.Tensor,
               gt_box: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Task-aligned assignment for one image -> (foreground mask, target boxes, target scores)."""
        n, nc = scores.shape
        if gt_cls.numel() == 0:
            return torch.zeros(n, dtype=torch.bool), torch.zeros(n, 4), torch.zeros(n, nc)
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
        reg_max = self.model.reg_max
        bins, logits = self.model.flatten(raw)
        batch = bins.shape[0]
        bins = bins.permute(0, 2, 1).reshape(batch, -1, 4, reg_max)
        logits = logits.permute(0, 2, 1)
        anchors, strides = make_anchors(raw, self.model.strides)
        dist = bins.softmax(3) @ self.bins
        pred = torch.cat([anchors - dist[..., :2], anchors + dist[..., 2:]], -1) * strides
        anchors_px = anchors * strides
        fg_all, tbox_all, tscore_all = zip(*(
            self.assign(logits[i].detach().sigmoid(), pred[i].detach(), anchors_px, t[:, 0].long(), t[:, 1:])
            for i, t in enumerate(targets)))
        fg, tbox, tscore = torch.stack(fg_all), torch.stack(tbox_all), torch.stack(tscore_all)
        score_sum = tscore.sum().clamp(min=1.0)
        loss_cls = F.binary_cross_entropy_with_logits(logits, tscore, reduction="sum") / score_sum
        loss_box = loss_dfl = torch.zeros(())
        if fg.any():
            weight = tscore.sum(-1)[fg]
            loss_box = ((1 - giou(pred[fg], tbox[fg])) * weight).sum() / score_sum
            stride_fg = strides.expand(batch, -1, -1)[fg]
            anchor_fg = anchors.expand(batch, -1, -1)[fg]
            target_ltrb = torch.cat([anchor_fg - tbox[fg][:, :2] / stride_fg, tbox[fg][:, 2:] / stride_fg - anchor_fg],
                                    -1).clamp(0, reg_max - 1.01)
            loss_dfl = (self._dfl(bins[fg], target_ltrb) * weight).sum() / score_sum
        parts = torch.stack([loss_box * self.gains[0], loss_cls * self.gains[1], loss_dfl * self.gains[2]])
        return parts.sum() * batch, parts.detach()

    @staticmethod
    def _dfl(bins: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Distribution focal loss: cross-entropy to the two bins around the continuous target."""
        left = target.long()
        w_left = left + 1 - target
        logp = bins.log_softmax(-1)
        loss = -(logp.gather(-1, left[..., None])[..., 0] * w_left
                 + logp.gather(-1, (left + 1)[..., None])[..., 0] * (1 - w_left))
        return loss.mean(-1)

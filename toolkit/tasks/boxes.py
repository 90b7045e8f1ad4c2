"""Box maths in numpy: letterbox geometry, IoU, class-aware greedy NMS. No torch on this path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Letterbox:
    """How an image of ``(height, width)`` was scaled by ``ratio`` and padded by ``(left, top)``."""

    ratio: float
    left: int
    top: int
    new_width: int
    new_height: int

    @classmethod
    def fit(cls, height: int, width: int, size: int) -> Letterbox:
        """Scale the longer side to ``size`` keeping aspect, centre the image with padding."""
        ratio = min(size / height, size / width)
        new_w, new_h = max(1, round(width * ratio)), max(1, round(height * ratio))
        return cls(ratio, (size - new_w) // 2, (size - new_h) // 2, new_w, new_h)

    def boxes_to_original(self, xyxy: np.ndarray, height: int, width: int) -> np.ndarray:
        """Map boxes from the letterboxed frame back to the original image, clipped to it."""
        out = xyxy.astype(np.float64, copy=True)
        out[:, [0, 2]] = ((out[:, [0, 2]] - self.left) / self.ratio).clip(0, width)
        out[:, [1, 3]] = ((out[:, [1, 3]] - self.top) / self.ratio).clip(0, height)
        return out

    def boxes_to_letterbox(self, xyxy: np.ndarray) -> np.ndarray:
        """Map boxes from the original image into the letterboxed frame."""
        out = xyxy.astype(np.float64, copy=True)
        out[:, [0, 2]] = out[:, [0, 2]] * self.ratio + self.left
        out[:, [1, 3]] = out[:, [1, 3]] * self.ratio + self.top
        return out


def xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    """Centre-size boxes to corner boxes."""
    half = xywh[..., 2:4] / 2
    return np.concatenate([xywh[..., :2] - half, xywh[..., :2] + half], axis=-1)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of corner boxes ``a`` (M, 4) and ``b`` (N, 4) -> (M, N)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(
    xyxy: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float, max_detections: int
) -> np.ndarray:
    """Class-aware greedy NMS; returns kept indices, highest score first."""
    order = np.argsort(-scores, kind="stable")
    offset = classes.astype(np.float64)[:, None] * (np.abs(xyxy).max(initial=0.0) + 1.0) * 2
    shifted = xyxy + offset
    keep: list[int] = []
    while order.size and len(keep) < max_detections:
        best = order[0]
        keep.append(int(best))
        rest = order[1:]
        order = rest[box_iou(shifted[best : best + 1], shifted[rest])[0] <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)

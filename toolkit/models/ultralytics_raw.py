"""An Ultralytics detection model seen the way edgekit's compress and distillation see a detector.

In eval mode it returns what ``yolo export`` returns (one decoded ``[B, 4 + nc, N]`` tensor); in training mode
Ultralytics' head returns ``{"boxes": [B, 4R, N], "scores": [B, nc, N], "feats": [...]}``, which this turns
into edgekit's raw per-level maps ``[B, 4R + nc, H, W]`` (the layout nano-det's head produces), so pruning,
idle-output probing and distillation work on it unchanged. No Ultralytics import is needed to run or trace it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import EdgekitError


class UltralyticsDetector(nn.Module):
    """Wraps an Ultralytics ``DetectionModel`` whose Detect head is in export mode."""

    #: what ``native_checkpoint`` files are called beside edgekit's TorchScript
    #: (``small.pt`` -> ``small-ultralytics.pt``)
    native_suffix = "-ultralytics.pt"

    def __init__(self, model: nn.Module, train_args: dict | None = None) -> None:
        super().__init__()
        self.model = model
        self.train_args = dict(train_args or {})
        self.prepare_training()  # as Ultralytics' trainer does; pruning reads which layers are fixed by design

    def forward(self, x: torch.Tensor) -> Any:
        out = self.model(x)
        if not isinstance(out, dict):
            return out
        feats = out["feats"]
        joined = torch.cat([out["boxes"], out["scores"]], dim=1)
        sizes = [f.shape[2] * f.shape[3] for f in feats]
        return [
            part.reshape(part.shape[0], part.shape[1], f.shape[2], f.shape[3])
            for part, f in zip(joined.split(sizes, dim=2), feats)
        ]

    def prepare_training(self) -> None:
        """Make the weights trainable the way Ultralytics' trainer does: a checkpoint's EMA weights arrive with
        ``requires_grad`` off; every floating-point weight but the fixed DFL projection (``.dfl``) trains.

        Without it every layer would look fixed: pruning would keep all layers between the outputs and the first
        rewritten C2f (the whole Detect head and the neck's last blocks), recovery would train only the rewritten
        convs, and Taylor importance would find no gradients."""
        for name, param in self.model.named_parameters():
            param.requires_grad_(param.dtype.is_floating_point and ".dfl" not in f".{name}")

    def drop_unused_head(self) -> None:
        """Before compress: a two-headed YOLO26 Detect in its one-to-many mode loses its one-to-one branch (what
        Ultralytics' ``Detect.fuse`` does for inference), so it prunes and trains like a YOLO11 head.

        The end-to-end head cannot be kept: Ultralytics trains its one-to-one branch on detached features, so
        Torch-Pruning cannot follow which channels feed it; that is one ``EdgekitError`` line.
        """
        for module in self.model.modules():
            if getattr(module, "one2one_cv2", None) is None or not hasattr(module, "stride"):
                continue
            if bool(module.end2end):
                raise EdgekitError(
                    "compress keeps a YOLO26's one-to-many head only (its end-to-end head trains on detached "
                    "features that Torch-Pruning cannot follow): pass --head o2m; the result exports with NMS"
                )
            for name in tuple(module._modules):
                if name.startswith("one2one_"):
                    setattr(module, name, None)

    def task_criterion(self) -> Any:
        """Ultralytics' own detection loss (its trainer's ``init_criterion``: ``v8DetectionLoss``) as a
        ``criterion(raw maps, labels)``; needs Ultralytics importable (the optional extra)."""
        from ultralytics.cfg import DEFAULT_CFG
        from ultralytics.utils import IterableSimpleNamespace

        args = getattr(self.model, "args", None)
        if not hasattr(args, "box"):  # a checkpoint keeps its train args as a dict, or none
            own = args if isinstance(args, dict) else {}
            self.model.args = IterableSimpleNamespace(**{**vars(DEFAULT_CFG), **own})
        loss = self.model.init_criterion()
        head = self.model.model[-1]

        def criterion(raw: list[torch.Tensor], labels: list[torch.Tensor]) -> torch.Tensor:
            split = (4 * head.reg_max, head.nc)
            flat = torch.cat([r.reshape(r.shape[0], r.shape[1], -1) for r in raw], 2)
            boxes, scores = flat.split(split, 1)
            image_size = int(raw[0].shape[3] * head.stride[0])
            total, _ = loss.loss(
                {"boxes": boxes, "scores": scores, "feats": raw}, targets_as_ultralytics_batch(labels, image_size)
            )
            return total.sum() / len(labels)

        return criterion

    def native_checkpoint(self) -> dict[str, Any]:
        """This (pruned) model as an Ultralytics checkpoint: ``YOLO(path)`` loads it and ``yolo val`` runs on it.

        The model is pickled as it is, C2f blocks in their prunable two-conv form (``edgekit.compress.prunable``),
        so loading it needs edgekit importable beside Ultralytics (the environment of the optional extra).
        """
        import copy
        from datetime import datetime

        model = copy.deepcopy(self.model).eval()
        for module in model.modules():
            if hasattr(module, "export") and hasattr(module, "stride"):  # Detect heads back to Ultralytics' default
                module.export = False
                module.__dict__.pop("postprocess", None)  # edgekit's end-to-end export stops before the top-k
        if hasattr(model, "criterion"):
            model.criterion = None
        return {
            "epoch": -1,
            "best_fitness": None,
            "model": None,
            "ema": model.half(),
            "updates": 0,
            "optimizer": None,
            "train_args": self.train_args,
            "date": datetime.now().astimezone().isoformat(),
            "version": "edgekit-pruned",
        }


def targets_as_ultralytics_batch(labels: list[torch.Tensor], image_size: int) -> dict[str, torch.Tensor]:
    """Per-image ``(M, 5)`` class + xyxy canvas-pixel rows -> Ultralytics' batch dict (normalised xywh)."""
    index = torch.cat([torch.full((len(t),), i, dtype=torch.float32) for i, t in enumerate(labels)])
    rows = torch.cat(labels) if labels else torch.zeros(0, 5)
    xyxy = rows[:, 1:] / image_size
    xywh = torch.cat([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], 1)
    return {"batch_idx": index, "cls": rows[:, :1], "bboxes": xywh}

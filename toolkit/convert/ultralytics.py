"""Ultralytics checkpoints (``yolov8n.pt``, ``yolo11n.pt``) as a model source, through the optional extra.

Ultralytics is AGPL and never imported on the core path: a checkpoint is recognised by reading its pickle's
opcodes (nothing is executed), and loaded only with the trust flag in an environment where Ultralytics
imports. Task, class names and input size come from the checkpoint; the model is put in Ultralytics' own
export mode, so the ONNX has ``yolo export format=onnx``'s output convention (one ``[1, 4 + nc, N]`` tensor:
xywh in input pixels, sigmoid class scores).
"""

from __future__ import annotations

import pickletools
import zipfile
from pathlib import Path
from typing import Any

from ..card import ModelCard
from ..data.preprocess import MAX_SIZE, Preprocessing
from ..errors import ExportError

EXTRA_HINT = (
    "pip install 'edgekit-deploy[ultralytics]' in an environment where Ultralytics and its torch install "
    "(README: Real YOLO models)"
)
SUPPORTED_TASKS = ("detect",)


def _pickle_bytes(path: Path) -> bytes:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("data.pkl")]
            return archive.read(names[0]) if names else b""
    return path.read_bytes()


def is_ultralytics_checkpoint(path: Path) -> bool:
    """True when the file's pickle refers to Ultralytics classes (its opcodes are read, never run)."""
    try:
        for _opcode, arg, _ in pickletools.genops(_pickle_bytes(path)):
            if isinstance(arg, str) and arg.startswith("ultralytics"):
                return True
    except Exception:  # noqa: BLE001 - a malformed pickle is simply not a checkpoint we recognise
        return False
    return False


def ultralytics_model(checkpoint: Any) -> Any | None:
    """The ``nn.Module`` of a loaded Ultralytics checkpoint dict (``ema`` or ``model``), else None."""
    import torch

    if not isinstance(checkpoint, dict):
        return None
    model = checkpoint.get("ema") or checkpoint.get("model")
    return model if isinstance(model, torch.nn.Module) and hasattr(model, "names") else None


def _input_size(checkpoint: dict, imgsz: int | None) -> int:
    size = imgsz or (checkpoint.get("train_args") or {}).get("imgsz") or 640
    size = size[0] if isinstance(size, (list, tuple)) else size
    if not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
        raise ExportError(f"cannot tell the checkpoint's input size ({size!r}): pass --imgsz")
    return size


def ultralytics_source(checkpoint: dict, path: Path, task: str | None, imgsz: int | None) -> dict[str, Any]:
    """Fields of a ``ModelSource`` for an Ultralytics checkpoint: the float model in export mode and its card
    (task, class names, letterbox preprocessing)."""
    model = ultralytics_model(checkpoint).float().eval()
    model_task = getattr(model, "task", None) or (checkpoint.get("train_args") or {}).get("task") or "detect"
    if model_task not in SUPPORTED_TASKS:
        raise ExportError(
            f"{path} is an Ultralytics '{model_task}' model; edgekit supports "
            f"{', '.join(SUPPORTED_TASKS)} checkpoints so far"
        )
    if task is not None and task != model_task:
        raise ExportError(f"{path} is an Ultralytics '{model_task}' model, not '{task}'")
    for module in model.modules():
        if hasattr(module, "export") and hasattr(module, "stride"):  # Detect heads: one decoded output
            module.export, module.format, module.dynamic = True, "onnx", False
    names = model.names
    class_names = [str(names[k]) for k in sorted(names)] if isinstance(names, dict) else [str(n) for n in names]
    from ..models.ultralytics_raw import UltralyticsDetector

    strides = getattr(model, "stride", None)
    stride = 1 if strides is None else int(max(strides.tolist() if hasattr(strides, "tolist") else strides))
    if imgsz is not None and imgsz % stride:
        lower, upper = imgsz // stride * stride, (imgsz // stride + 1) * stride
        raise ExportError(
            f"--imgsz {imgsz} is not a multiple of {path.name}'s stride {stride}: use {lower or upper} or {upper}"
        )
    preprocessing = Preprocessing(size=_input_size(checkpoint, imgsz), resize="letterbox")
    return {
        "name": path.stem,
        "card": ModelCard.for_task(model_task, preprocessing, class_names),
        "module": UltralyticsDetector(model, checkpoint.get("train_args")),
    }

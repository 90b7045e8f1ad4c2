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
#: a two-headed detector's heads (YOLO26): ``e2e``, the end-to-end one-to-one head decoded by top-k without NMS;
#: ``o2m``, the one-to-many head + NMS on the host
HEADS = ("e2e", "o2m")


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


def _channels_first(preds: Any) -> Any:
    """Stands in for ``Detect.postprocess`` of an end-to-end head: its ``[B, N, 4 + nc]`` input back to
    ``[B, 4 + nc, N]``, so the model ends before the top-k (done on the host, where INT8 cannot touch it)."""
    return preds.permute(0, 2, 1)


def _select_head(model: Any, path: Path, head: str | None) -> str:
    """Put the Detect heads of ``model`` in export mode with the asked head (None: the checkpoint's own
    ``end2end``); returns the decoding format of the chosen head."""
    detects = [m for m in model.modules() if hasattr(m, "export") and hasattr(m, "stride")]
    two_headed = all(getattr(m, "one2one_cv2", None) is not None for m in detects) and bool(detects)
    if head == "e2e" and not two_headed:
        raise ExportError(f"--head e2e: {path.name} has no end-to-end (one-to-one) head; use --head o2m")
    end_to_end = head == "e2e" or (head is None and two_headed and all(bool(m.end2end) for m in detects))
    for module in detects:
        module.export, module.format, module.dynamic = True, "onnx", False
        if two_headed:
            module.end2end = end_to_end
        if end_to_end:  # the one-to-one head's xyxy boxes + scores; the top-k runs on the host
            module.postprocess = _channels_first  # an instance attribute: called unbound, pickled by name
    return "xyxy-topk" if end_to_end else "xywh-scores"


def ultralytics_source(
    checkpoint: dict, path: Path, task: str | None, imgsz: int | None, head: str | None = None
) -> dict[str, Any]:
    """Fields of a ``ModelSource`` for an Ultralytics checkpoint: the float model in export mode with the asked
    head (``HEADS``; None: the checkpoint's own) and its card (task, class names, letterbox preprocessing,
    decoding)."""
    model = ultralytics_model(checkpoint).float().eval()
    model_task = getattr(model, "task", None) or (checkpoint.get("train_args") or {}).get("task") or "detect"
    if model_task not in SUPPORTED_TASKS:
        raise ExportError(
            f"{path} is an Ultralytics '{model_task}' model; edgekit supports "
            f"{', '.join(SUPPORTED_TASKS)} checkpoints so far"
        )
    if task is not None and task != model_task:
        raise ExportError(f"{path} is an Ultralytics '{model_task}' model, not '{task}'")
    decoding_format = _select_head(model, path, head)
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
    card = ModelCard.for_task(model_task, preprocessing, class_names)
    return {
        "name": path.stem,
        "card": card.with_changes(decoding={**(card.decoding or {}), "format": decoding_format}),
        "module": UltralyticsDetector(model, checkpoint.get("train_args")),
    }

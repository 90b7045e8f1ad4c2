"""Model sources for ``edgekit export``: built-in names, TorchScript, state_dict + factory, or an ONNX file.

``.pt`` files are read with ``torch.load(weights_only=True)`` unless the user passes the trust flag.
"""

from __future__ import annotations

import dataclasses
import importlib
import zipfile
from pathlib import Path
from typing import Any

from ..bench.foreign import metadata_class_names
from ..card import CARD_FILE, ModelCard, default_decoding
from ..data.preprocess import check_task_and_size, default_preprocessing
from ..errors import EdgekitError, ExportError, first_line
from ..models.builtins import BUILTIN_MODELS
from ..quiet import native_output_to
from ..schema import read_json_file
from ..tasks.registry import DEFAULT_TASK, TASKS, task_for_output_rank
from .onnx_utils import DECODING_FORMAT_KEY
from .ultralytics import EXTRA_HINT, HEADS, is_ultralytics_checkpoint, ultralytics_model, ultralytics_source


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """A model to export or compress: a torch module (or an ONNX file when export is skipped) and its card."""

    name: str
    card: ModelCard
    module: Any = None
    onnx_path: Path | None = None


def _import_factory(factory: str) -> Any:
    module_name, _, attr = factory.partition(":")
    if not attr:
        raise ExportError(f"--factory must look like 'package.module:callable', got {factory!r}")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ExportError(f"cannot import factory {factory}: {exc}") from None


def _load_builtin(name: str) -> ModelSource:
    import torch

    spec = BUILTIN_MODELS[name]
    module = _import_factory(spec.factory)()
    state = torch.load(spec.weights_path, map_location="cpu", weights_only=True)
    module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return ModelSource(name, spec.card, module.eval())


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(n.split("/", 1)[-1].startswith(("code/", "constants.pkl")) for n in archive.namelist())


TRUST_HINT = "pass --trust only if you trust its author"


def _load_program(path: Path, kind: str, trust: bool) -> tuple[Any, ModelCard | None]:
    """A TorchScript or ``torch.export`` file and the model card embedded in it (TorchScript written by
    ``edgekit compress``, or a ``.pt2`` saved with ``extra_files={CARD_FILE: card.to_json()}``; else
    ``None``): loading runs code stored in the file, so only with ``trust``."""
    import torch

    if not trust:
        raise ExportError(
            f"{path} is a {kind} file: loading it runs code stored in the file; {TRUST_HINT} "
            "(edgekit compress outputs are TorchScript too)"
        )
    extra = {CARD_FILE: ""}
    try:
        if kind == "torch.export":
            module = torch.export.load(str(path), extra_files=extra).module()
        else:
            with native_output_to():  # quantized modules print a C++ deprecation warning on load
                module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    except Exception as exc:  # noqa: BLE001 - a truncated archive fails in many ways
        raise ExportError(f"cannot load {kind} file {path}: {first_line(exc, 160)}") from None
    if not extra[CARD_FILE]:
        return module, None
    try:
        return module, ModelCard.from_json(extra[CARD_FILE], f"{path}: {CARD_FILE}")
    except EdgekitError as exc:
        raise ExportError(f"unreadable model card in {path}: {str(exc)[:200]}") from None


#: the first torch whose ``torch.load(weights_only=True)`` is a boundary (CVE-2025-32434 was fixed in 2.6.0)
SAFE_WEIGHTS_ONLY = (2, 6)


def _refuse_unsafe_weights_only(path: Path) -> None:
    """Refuse an untrusted load on a torch whose weights-only loader is no boundary (before 2.6 a crafted file
    runs code through it anyway)."""
    import torch

    version = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2])
    if version < SAFE_WEIGHTS_ONLY:
        raise ExportError(
            f"{path}: torch {torch.__version__} cannot load an untrusted .pt safely (weights_only is "
            f"no boundary before torch 2.6): upgrade torch, or {TRUST_HINT}"
        )


def _torch_load_problem(exc: Exception, trust: bool) -> str:
    """Why ``torch.load`` refused a file, in one phrase a user can act on."""
    text = " ".join(str(exc).split())
    if not trust and ("This file can still be loaded" in text or "Unsupported global" in text):
        return f"it holds more than weights, and unpickling it runs code from the file; {TRUST_HINT}"
    if "Weights only load failed" in text or isinstance(exc, EOFError) or "zip archive" in text:
        return "not a PyTorch file, or an empty, truncated or corrupt one"
    return text[:160] or type(exc).__name__


def _load_torch_file(path: Path, factory: str | None, trust: bool) -> tuple[Any, ModelCard | None]:
    """The module in a PyTorch file, and its embedded model card where it has one."""
    import torch

    if path.suffix == ".pt2":
        return _load_program(path, "torch.export", trust)
    if _is_torchscript(path):
        return _load_program(path, "TorchScript", trust)
    if not trust:
        _refuse_unsafe_weights_only(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not trust)
    except Exception as exc:  # noqa: BLE001 - unpickling errors come in many types
        raise ExportError(f"cannot load {path}: {_torch_load_problem(exc, trust)}") from None
    if isinstance(obj, torch.nn.Module):
        return obj, None
    if isinstance(obj, dict):
        state = obj.get("state_dict", obj.get("model", obj))
        if factory is None:
            raise ExportError(f"{path} holds a state_dict: pass --factory package.module:callable to build the model")
        module = _import_factory(factory)()
        try:
            module.load_state_dict(state)
        except (RuntimeError, TypeError) as exc:
            raise ExportError(f"{path} does not fit {factory}: {first_line(exc, 200)}") from None
        return module, None
    raise ExportError(f"{path} holds a {type(obj).__name__}, not a model or a state_dict")


def _onnx_source(path: Path, task: str | None, imgsz: int | None) -> ModelSource:
    from .onnx_utils import onnx_io_specs, onnx_metadata

    try:
        inputs, outputs = onnx_io_specs(path)
        meta = onnx_metadata(path)
    except Exception as exc:  # noqa: BLE001 - onnx raises DecodeError and friends
        raise ExportError(f"cannot read ONNX model {path}: {first_line(exc)}") from None
    if not inputs or not outputs:
        raise ExportError(f"{path} has no graph inputs or outputs")
    if len(inputs[0].shape) != 4 or inputs[0].shape[1] not in (3, -1):
        raise ExportError(
            f"{path}: input {inputs[0].name!r} has shape {inputs[0].shape}; edgekit needs an image input [N, 3, H, W]"
        )
    task = task or meta.get("task") or task_for_output_rank(len(outputs[0].shape))  # Ultralytics writes "task"
    if task is not None and task not in TASKS:
        raise ExportError(
            f"{path}: its metadata names task {task!r}, which edgekit does not know (tasks: "
            f"{', '.join(TASKS)}); pass --task if the model is one of those"
        )
    if task is None:
        raise ExportError(
            f"{path}: output {outputs[0].name!r} has shape {outputs[0].shape}, which no task "
            "edgekit knows produces; pass --task"
        )
    names = _metadata_names(path, meta.get("names"))
    size = imgsz or (inputs[0].shape[-1] if inputs[0].shape[-1] > 0 else None)
    card = ModelCard.for_task(task, default_preprocessing(task, size), names)
    if meta.get(DECODING_FORMAT_KEY) and card.decoding is not None:  # an end-to-end head edgekit exported
        card = card.with_changes(decoding=_decoding_with_format(path, card.decoding, meta[DECODING_FORMAT_KEY]))
    return ModelSource(path.stem, card, onnx_path=path)


def _decoding_with_format(path: Path, decoding: dict[str, Any], fmt: str) -> dict[str, Any]:
    from ..tasks.detection import DECODING_FORMATS

    if fmt not in DECODING_FORMATS:
        raise ExportError(f"{path}: metadata {DECODING_FORMAT_KEY!r} is {fmt[:40]!r}, not one of {DECODING_FORMATS}")
    return {**decoding, "format": fmt}


def _metadata_names(path: Path, text: str | None) -> list[str]:
    """Class names from ONNX metadata: Ultralytics writes a dict literal such as "{0: 'person', 1: 'bus'}"."""
    if text is None:
        return []
    names = metadata_class_names(text)
    if names is not None:
        return names
    raise ExportError(f"{path}: ONNX metadata 'names' is not a list of names or a {{0: name, ...}} dict: {text[:60]!r}")


def _eval_mode(module: Any) -> Any:
    try:
        return module.eval()
    except NotImplementedError:  # a torch.export program: traced in eval mode already
        return module


def _ultralytics_source(
    path: Path, task: str | None, imgsz: int | None, trust: bool, head: str | None = None
) -> ModelSource:
    """An Ultralytics checkpoint: a pickle of its classes, so only with ``trust`` and the extra installed."""
    import torch

    if not trust:
        raise ExportError(
            f"{path} is an Ultralytics checkpoint, a pickle: loading it runs code from the file; {TRUST_HINT}"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except ModuleNotFoundError as exc:
        raise ExportError(
            f"{path} is an Ultralytics checkpoint and {exc.name or 'ultralytics'} does not import here: {EXTRA_HINT}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - unpickling errors come in many types
        raise ExportError(f"cannot load {path}: {_torch_load_problem(exc, trust)}") from None
    if ultralytics_model(checkpoint) is None:
        raise ExportError(f"{path} refers to Ultralytics classes but holds no model (an optimizer-only file?)")
    return ModelSource(**ultralytics_source(checkpoint, path, task, imgsz, head))


def _legacy_card(path: Path) -> ModelCard | None:
    """The card of a model that edgekit 0.1's compress wrote beside it as ``NAME.pt.json`` (before cards were
    embedded in the TorchScript file), where there is one."""
    sidecar = path.with_name(path.name + ".json")
    if not sidecar.is_file():
        return None
    try:
        return ModelCard.from_dict(read_json_file(sidecar, "model card", ExportError), str(sidecar))
    except EdgekitError as exc:
        raise ExportError(f"unreadable model card {sidecar}: {str(exc)[:200]}") from None


def _card_for(card: ModelCard | None, task: str | None, imgsz: int | None) -> ModelCard:
    """The model's own card with the user's ``--task`` / ``--imgsz`` applied (another task takes that task's
    decoding; a card without decoding, as edgekit 0.1's sidecars were, its task's); a default card without one."""
    if card is None:
        task = task or DEFAULT_TASK
        return ModelCard.for_task(task, default_preprocessing(task, imgsz))
    if imgsz:
        card = card.with_changes(preprocessing=dataclasses.replace(card.preprocessing, size=imgsz))
    if task and task != card.task:
        return card.with_changes(task=task, decoding=default_decoding(task))
    return card if card.decoding is not None else card.with_changes(decoding=default_decoding(card.task))


def load_source(
    spec: str,
    *,
    task: str | None = None,
    imgsz: int | None = None,
    factory: str | None = None,
    trust: bool = False,
    head: str | None = None,
) -> ModelSource:
    """Resolve ``spec`` (built-in name or file path) into a ModelSource.

    ``head``: which head of a detector that has two (YOLO26: ``e2e``, its end-to-end NMS-free head, or ``o2m``,
    the one-to-many head + NMS); None takes the checkpoint's own setting. Other models refuse it."""
    check_task_and_size(task, imgsz)
    if head is not None and head not in HEADS:
        raise ExportError(f"--head {head!r}: choose one of {', '.join(HEADS)}")
    path = Path(spec)
    ultralytics = (
        spec not in BUILTIN_MODELS and path.suffix != ".onnx" and path.is_file() and is_ultralytics_checkpoint(path)
    )
    if head is not None and not ultralytics:  # an ONNX already holds the head it was exported with
        raise ExportError(f"--head applies to Ultralytics detection checkpoints with two heads; {spec} is not one")
    if spec in BUILTIN_MODELS:  # --imgsz / --task apply to the reference models too (they were ignored)
        builtin = _load_builtin(spec)
        return dataclasses.replace(builtin, card=_card_for(builtin.card, task, imgsz))
    if not path.is_file():
        raise ExportError(f"model not found: {spec} (built-in models: {', '.join(BUILTIN_MODELS)})")
    if path.suffix == ".onnx":
        return _onnx_source(path, task, imgsz)
    if ultralytics:
        return _ultralytics_source(path, task, imgsz, trust, head)
    module, card = _load_torch_file(path, factory, trust)
    return ModelSource(path.stem, _card_for(card or _legacy_card(path), task, imgsz), module=_eval_mode(module))

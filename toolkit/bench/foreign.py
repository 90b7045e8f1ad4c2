"""Bench a model that edgekit did not write: a ``.onnx``, OpenVINO ``.xml`` or ``.tflite`` file, or an
Ultralytics export folder (``*_openvino_model/``, ``*_saved_model/``), measured by the same harness.

What a manifest would say is read from the model (tensor shapes, Ultralytics' metadata: task, imgsz, names)
or given by the user (``--task``, ``--imgsz``); nothing is written next to the model. Device side: numpy and
the one runtime only.
"""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path
from typing import Any

import yaml

from ..card import ModelCard
from ..data.preprocess import MAX_SIZE, default_preprocessing
from ..errors import EdgekitError
from ..fsutil import sha256_file
from ..manifest import MANIFEST_NAME, Artifact, Manifest
from ..registry import get_runtime
from ..schema import parse_json
from ..tasks.detection import DetectionDecoding
from ..tasks.registry import TASKS, task_for_output_rank
from ..yamlread import load_yaml

#: model file suffix -> runtime that runs it
RUNTIME_BY_SUFFIX = {".onnx": "onnxruntime", ".xml": "openvino", ".tflite": "tflite"}


def is_foreign(path: Path) -> bool:
    """True for a model file or folder without an edgekit manifest."""
    return not (Path(path) / MANIFEST_NAME).is_file() and (
        Path(path).is_dir() or Path(path).suffix in RUNTIME_BY_SUFFIX
    )


def _model_in_folder(folder: Path) -> Path:
    """The one model file of an export folder (OpenVINO IR first, then TFLite, then ONNX)."""
    for suffix in (".xml", ".tflite", ".onnx"):
        found = sorted(folder.glob(f"*{suffix}"))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise EdgekitError(
                f"{folder} holds several {suffix} models ({', '.join(p.name for p in found)}); pass the file to bench"
            )
    raise EdgekitError(f"not an edgekit artifact, and no .xml, .tflite or .onnx model in it: {folder}")


def _embedded_metadata(model: Path) -> dict[str, Any]:
    """Ultralytics' TFLite exports carry ``metadata.json`` in a zip appended to the flatbuffer."""
    if model.suffix != ".tflite" or not zipfile.is_zipfile(model):
        return {}
    try:
        with zipfile.ZipFile(model) as archive:
            data = parse_json(archive.read("metadata.json"), f"{model} metadata.json")
    except (KeyError, OSError, zipfile.BadZipFile, EdgekitError):
        return {}
    return data if isinstance(data, dict) else {}


def _folder_metadata(model: Path) -> dict[str, Any]:
    """Ultralytics' ``metadata.yaml`` beside the model (its export folders carry one)."""
    path = model.parent / "metadata.yaml"
    if not path.is_file():
        return _embedded_metadata(model)
    try:
        raw = path.read_bytes()
        data = load_yaml(raw, str(path))
    except (yaml.YAMLError, ValueError, RecursionError, EdgekitError):
        raise EdgekitError(f"unreadable {path}") from None
    return data if isinstance(data, dict) else {}


def metadata_class_names(value: Any) -> list[str] | None:
    """Class names from Ultralytics metadata: a dict {0: name, ...}, its string form (what ONNX metadata holds),
    or a list of names; None when ``value`` is none of those."""
    if isinstance(value, str):
        value = _literal(value)
    if isinstance(value, dict) and all(isinstance(k, int) for k in value) and sorted(value) == list(range(len(value))):
        return [str(value[k]) for k in range(len(value))]
    if isinstance(value, (list, tuple)) and all(isinstance(n, str) for n in value):
        return list(value)
    return None


def _size(imgsz: int | None, metadata: dict[str, Any], shape: list[int], layout: str) -> int:
    """The square input size: ``--imgsz``, else the metadata's ``imgsz``, else the static input shape."""
    if imgsz is None:
        meta = metadata.get("imgsz")
        if isinstance(meta, str):
            meta = _literal(meta)
        if isinstance(meta, (list, tuple)) and meta:
            meta = meta[0]
        spatial = shape[1:3] if layout == "NHWC" else shape[2:4]
        imgsz = meta if isinstance(meta, int) else (spatial[0] if spatial and spatial[0] > 0 else None)
    if not isinstance(imgsz, int) or not 1 <= imgsz <= MAX_SIZE:
        raise EdgekitError("cannot tell the model's input size: pass --imgsz")
    return imgsz


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _task(task: str | None, metadata: dict[str, Any], output_rank: int) -> str:
    task = task or metadata.get("task") or task_for_output_rank(output_rank)
    if task not in TASKS:
        raise EdgekitError(
            f"cannot bench task {task!r} (supported: {', '.join(TASKS)}); pass --task if the model is one of those"
        )
    return task


def _split_boxes_and_scores(outputs: list[Any]) -> bool:
    """A detector exported with boxes ``[1, 4, N]`` and scores ``[1, nc, N]`` as two outputs (edgekit's INT8
    remedy): the harness concatenates them back into one ``[1, 4 + nc, N]``."""
    shapes = [spec.shape for spec in outputs]
    return (
        len(shapes) == 2
        and all(len(shape) == 3 for shape in shapes)
        and shapes[0][1] == 4
        and shapes[0][2] == shapes[1][2]
    )


def foreign_artifact(path: Path, *, data: str | None, task: str | None = None, imgsz: int | None = None) -> Artifact:
    """An in-memory artifact for a model file or export folder that edgekit did not write."""
    path = Path(path)
    model = _model_in_folder(path) if path.is_dir() else path
    if not model.is_file():
        raise EdgekitError(f"model file not found: {model}")
    runtime = RUNTIME_BY_SUFFIX[model.suffix]
    files = [model.name] + ([model.with_suffix(".bin").name] if model.suffix == ".xml" else [])
    if not (model.parent / files[-1]).is_file():
        raise EdgekitError(f"{model} needs {files[-1]} beside it")
    if data is None:
        raise EdgekitError(f"{path}: a model file records no dataset; pass --data")
    described = get_runtime(runtime).describe(model)
    metadata = {**described.metadata, **_folder_metadata(model)}
    if not described.inputs or len(described.inputs[0].shape) != 4 or not described.outputs:
        raise EdgekitError(
            f"{model}: edgekit benches image models with one [N, 3, H, W] (or NHWC) input; this one "
            f"takes {[spec.shape for spec in described.inputs]}"
        )
    first = described.inputs[0]
    task = _task(task, metadata, len(described.outputs[0].shape))
    size = _size(imgsz, metadata, first.shape, first.layout)
    ultralytics = "names" in metadata and "stride" in metadata
    preprocessing = default_preprocessing(task, size, ultralytics=ultralytics)
    # Ultralytics' TFLite detectors emit xywh normalised to 0..1 (its LiteRT backend multiplies by the size)
    box_scale = float(size) if ultralytics and runtime == "tflite" else 1.0
    digest = sha256_file(model)
    manifest = Manifest(
        target=path.name,
        runtime=runtime,
        model_file=model.name,
        files=files,
        inputs=described.inputs,
        outputs=described.outputs,
        card=ModelCard(
            task,
            preprocessing,
            metadata_class_names(metadata.get("names")) or [],
            data,
            DetectionDecoding(box_scale=box_scale).to_dict() if TASKS[task].decoded else None,
        ),
        source=str(path),
        parent_sha256=digest,
        model_sha256=digest,
        output_assembly={"concat_axis": 1}
        if TASKS[task].decoded and _split_boxes_and_scores(described.outputs)
        else None,
        notes={"foreign": "benched without an edgekit manifest; read from the model and its metadata"},
    )
    return Artifact(model.parent, manifest)

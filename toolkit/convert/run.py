"""``edgekit export``: source -> parent ONNX (+ parity) -> one artifact directory per target, like a build matrix."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data import DEFAULT_CALIBRATION_IMAGES
from ..data.calibration import CalibrationSet, noise_images
from ..data.resolve import resolve_dataset
from ..errors import EdgekitError, ExportError, describe
from ..fsutil import atomic_dir, check_replaceable, sha256_file
from ..manifest import MANIFEST_NAME, Artifact, Manifest
from ..memory import OutOfMemoryError, PeakMemory, check_fits, is_out_of_memory, out_of_memory_message
from ..provenance import provenance
from ..registry import get_target, resolve_targets
from ..version import __version__
from .activations import CALIBRATION_OVERHEAD, calibration_memory_need, torch_activation_bytes
from .budget import ExportBudget, check_max_drop, run_budget, split_for_budget
from .onnx_utils import onnx_io_specs, stamp_decoding_format
from .parity import compare_with_parent
from .sources import ModelSource, load_source

PARITY_IMAGES = 16
#: what a user lowers when a step does not fit in memory
LOWER_MEMORY = "--calib-images or --imgsz"


@dataclass(frozen=True)
class ExportRow:
    """Outcome of one target: ``status`` is ``ok`` or ``export failed: <reason>``."""

    target: str
    status: str
    path: Path
    seconds: float
    #: set when a family name (``tflite``) chose this target: which family, and why this target
    chosen: str = ""


def _calibrates(name: str) -> bool:
    """Whether target ``name`` calibrates on images (an INT8 target: it can keep layers in float); False where
    its converter cannot be loaded here (its row will say so)."""
    try:
        return bool(getattr(get_target(name), "float_nodes_option", None))
    except EdgekitError:
        return False


def _dataset_reference(spec: str) -> str:
    """Built-in names stay names; paths become absolute so bench finds them from anywhere."""
    from edgekit.calibration_data.build import BUILTIN_DATASETS

    return spec if spec in BUILTIN_DATASETS else str(Path(spec).resolve())


def _calibration_origin(data: str | None, card_dataset: str | None) -> str | None:
    """What a family's INT8 target would calibrate on, in words; None when there is nothing."""
    if data:
        return f"{data} (--data)"
    return f"{card_dataset} (the model card's dataset)" if card_dataset else None


def _tool_versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import onnxsim
    import torch

    return {
        "edgekit": __version__,
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnxsim": onnxsim.__version__,
    }


def _parent_onnx(source: ModelSource, calib: CalibrationSet, work: Path) -> tuple[Path, dict[str, Any] | None]:
    from .torch_to_onnx import export_onnx, parity_check

    parent = work / "parent.onnx"
    if source.onnx_path is not None:
        shutil.copyfile(source.onnx_path, parent)
        return parent, None
    size = source.card.preprocessing.size
    activations = torch_activation_bytes(source.module, size)
    if activations is not None:
        check_fits(2 * activations + CALIBRATION_OVERHEAD, f"exporting at {size} px", LOWER_MEMORY)
    with PeakMemory() as peak:
        try:
            export_onnx(source.module, size, parent)
            stamp_decoding_format(parent, source.card.decoding)
            return parent, parity_check(source.module, parent, calib.take(PARITY_IMAGES))
        except Exception as exc:
            if is_out_of_memory(exc):
                raise OutOfMemoryError(out_of_memory_message("the ONNX export", peak.bytes, LOWER_MEMORY)) from None
            raise


def _parent_artifact(parent: Path, base: dict[str, Any]) -> Artifact:
    """The FP32 parent ONNX as a runnable artifact (ONNX Runtime), to score it where the budget needs it."""
    inputs, outputs = onnx_io_specs(parent)
    manifest = Manifest(
        target="fp32-parent",
        runtime="onnxruntime",
        model_file=parent.name,
        files=[parent.name],
        inputs=inputs,
        outputs=outputs,
        model_sha256=base["parent_sha256"],
        **base,
    )
    return Artifact(parent.parent, manifest)


def _stage(
    name: str,
    target: Any,
    cfg: Any,
    parent: Path,
    calib: CalibrationSet,
    base: dict[str, Any],
    staging: Path,
    module: Any = None,
) -> Artifact:
    """Convert into ``staging`` (from ``parent``, or from ``module`` for a ``from_module`` target) and describe
    the result (manifest not yet saved, parity not yet checked)."""
    if getattr(target, "from_module", False):
        if module is None:
            raise ExportError(
                f"{name} converts from the PyTorch model, and {base['source']} is an ONNX file: "
                "export from the .pt (or built-in) model instead"
            )
        conversion = target.convert_module(module, parent, calib, cfg, staging)
    else:
        conversion = target.convert(parent, calib, cfg, staging)
    digests = {file: sha256_file(staging / file) for file in conversion.files}
    manifest = Manifest(
        target=name,
        runtime=target.runtime,
        model_file=conversion.model_file,
        files=conversion.files,
        inputs=conversion.inputs,
        outputs=conversion.outputs,
        model_sha256=digests[conversion.model_file],
        config=cfg.to_dict(),
        file_sha256=digests,
        tool_versions=base["tool_versions"] | conversion.tool_versions,
        notes=conversion.notes,
        output_assembly=conversion.output_assembly,
        stages=conversion.stages,
        **{k: v for k, v in base.items() if k != "tool_versions"},
    )
    return Artifact(staging, manifest)


def _within_budget(
    name: str,
    target: Any,
    cfg: Any,
    parent: Path,
    calib: CalibrationSet,
    base: dict[str, Any],
    staging: Path,
    budget: ExportBudget,
    module: Any = None,
) -> Artifact:
    """The first conversion whose drop on the decide images is within budget, copied into ``staging``."""
    option = target.float_nodes_option

    def attempt(layers: list[str], index: int, options: dict[str, Any]) -> Artifact:
        work = budget.work / name / str(index)
        work.mkdir(parents=True)
        config = cfg.with_overrides({option: tuple(getattr(cfg, option)) + tuple(layers)} | options)
        return _stage(name, target, config, parent, calib, base, work, module)

    chosen, outcome = run_budget(
        budget.max_drop,
        budget.fp32(),
        budget.metric,
        budget.split.decide,
        budget.ranking,
        attempt,
        budget_alternatives(target, cfg),
    )
    for file in chosen.manifest.files:
        shutil.copyfile(chosen.path / file, staging / file)
    notes = chosen.manifest.notes | {"accuracy_budget": outcome.to_dict()}
    return Artifact(staging, dataclasses.replace(chosen.manifest, notes=notes))


def budget_alternatives(target: Any, cfg: Any) -> list[dict[str, Any]]:
    """The target's ``budget_alternatives`` the accuracy budget may try, less those touching an option the user
    set (an explicit choice is kept) or equal to the configuration already tried."""
    defaults = target.config_cls()
    return [
        options
        for options in getattr(target, "budget_alternatives", ())
        if all(getattr(cfg, key) == getattr(defaults, key) for key in options)
        and any(getattr(cfg, key) != value for key, value in options.items())
    ]


def _convert_one(
    name: str,
    parent: Path,
    calib: CalibrationSet,
    base: dict[str, Any],
    out_dir: Path,
    force: bool,
    overrides: dict[str, Any],
    budget: ExportBudget | None = None,
    module: Any = None,
) -> None:
    target = get_target(name)
    cfg = target.config_cls().with_overrides(overrides)
    with atomic_dir(out_dir / name, force, marker=MANIFEST_NAME) as staging:
        with PeakMemory() as peak:
            try:
                if budget is not None and getattr(target, "float_nodes_option", None):
                    artifact = _within_budget(name, target, cfg, parent, calib, base, staging, budget, module)
                else:
                    artifact = _stage(name, target, cfg, parent, calib, base, staging, module)
            except Exception as exc:
                if is_out_of_memory(exc):
                    raise OutOfMemoryError(out_of_memory_message(name, peak.bytes, LOWER_MEMORY)) from None
                raise
        resources = {"peak_rss_bytes": peak.bytes, "seconds": round(peak.seconds, 2)}
        manifest = dataclasses.replace(artifact.manifest, export_resources=resources)
        if manifest.model_sha256 != manifest.parent_sha256:
            check = compare_with_parent(artifact, parent, calib)
            manifest = dataclasses.replace(manifest, parity_vs_parent=check)
        manifest.save(staging)


def export_model(
    model: str,
    targets: list[str],
    out_dir: Path,
    *,
    data: str | None = None,
    imgsz: int | None = None,
    task: str | None = None,
    factory: str | None = None,
    trust: bool = False,
    force: bool = False,
    calib_images: int = DEFAULT_CALIBRATION_IMAGES,
    overrides: dict[str, Any] | None = None,
    source_label: str | None = None,
    max_drop: float | None = None,
    head: str | None = None,
) -> list[ExportRow]:
    """Export ``model`` to every target in ``targets`` under ``out_dir/<target>``.

    ``source_label`` is what the manifests name as the source (default ``model``). ``max_drop``: the
    accuracy budget in points for every target that can keep layers in float (see ``edgekit.convert.budget``).
    ``head``: a two-headed detector's head (``e2e`` / ``o2m``; None: the checkpoint's own, see ``load_source``).

    Input problems (model, data, existing outputs) raise before anything is written; a target that fails
    to convert is reported in its row and the others go on.
    """
    resolve_targets(targets)  # an unknown name fails before the model is loaded
    max_drop = None if max_drop is None else check_max_drop(max_drop)
    source = load_source(model, task=task, imgsz=imgsz, factory=factory, trust=trust, head=head)
    data_spec = data or source.card.dataset
    chosen = resolve_targets(targets, _calibration_origin(data, source.card.dataset))
    names = [item.name for item in chosen]
    for name in names:
        check_replaceable(out_dir / name, force, MANIFEST_NAME)
    if data_spec is None and not all(item.family for item in chosen):
        raise ExportError("pass --data: calibration images are needed for the parity check and INT8 targets")
    dataset = resolve_dataset(data_spec, "calib") if data_spec else None
    rows: list[ExportRow] = []
    with tempfile.TemporaryDirectory(prefix="edgekit-export-") as work:
        split = (
            None
            if max_drop is None or dataset is None
            else split_for_budget(dataset, resolve_dataset(data_spec, "val"), Path(work))
        )
        images = (
            (split.calibration if split else dataset.image_paths)
            if dataset
            else noise_images(source.card.preprocessing, PARITY_IMAGES, Path(work) / "noise")
        )
        calib = CalibrationSet.from_images(images, source.card.preprocessing, calib_images)
        parent, parity = _parent_onnx(source, calib, Path(work))
        if any(_calibrates(name) for name in names):
            check_fits(calibration_memory_need(parent, len(calib)), "calibration", LOWER_MEMORY)
        card = source.card.with_changes(
            class_names=source.card.class_names or (list(dataset.class_names) if dataset else []),
            dataset=_dataset_reference(data_spec) if data_spec else None,
        )
        base = {
            "card": card,
            "source": source_label or model,
            "parent_sha256": sha256_file(parent),
            "parity": parity,
            "tool_versions": _tool_versions(),
            "provenance": provenance(),
        }
        budget = (
            None
            if split is None or max_drop is None
            else ExportBudget(max_drop, split, _parent_artifact(parent, base), calib, Path(work) / "budget")
        )
        reasons = {item.name: item.reason for item in chosen}
        for name in names:
            start = time.perf_counter()
            try:
                _convert_one(
                    name, parent, calib, base, out_dir, force, (overrides or {}).get(name, {}), budget, source.module
                )
                status = "ok"
            except EdgekitError as exc:
                status = f"export failed: {exc}"
            except Exception as exc:  # noqa: BLE001 - one target's crash must not stop the matrix
                status = f"export failed: {describe(exc)}"
            except SystemExit as exc:  # a converter that calls sys.exit() must not end the matrix either
                status = f"export failed: the converter exited (code {exc.code})"
            rows.append(ExportRow(name, status, out_dir / name, time.perf_counter() - start, reasons[name]))
    return rows

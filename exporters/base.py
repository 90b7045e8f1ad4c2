"""The Target protocol: turn the parent ONNX model into one runtime's artifact files; a ``ModuleTarget``
converts from the PyTorch model itself (ExecuTorch's ``torch.export`` path) and is checked against the same
parent."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from edgekit.config import TargetConfig
from edgekit.data.calibration import CalibrationSet
from edgekit.manifest import TensorSpec


@dataclass(frozen=True)
class Conversion:
    """What a converter wrote into its output directory."""

    model_file: str
    files: list[str]
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    tool_versions: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    #: how the runtime's outputs reassemble into the parent's (``{"concat_axis": 1, "outputs": [...]}``)
    output_assembly: dict[str, Any] | None = None
    #: model files run after ``model_file`` in a chain (e.g. a float decode after an integer body)
    stages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Pt2eInt8Config(TargetConfig):
    """What the PT2E INT8 targets share: ``per_channel`` weight scales, ``keep_decode_float`` (a detector's
    decode tail left out of the quantizer's annotation), ``float_layers`` (parent-ONNX compute layers left in
    float; ``--max-drop`` fills it)."""

    per_channel: bool = True
    keep_decode_float: bool = True
    float_layers: tuple[str, ...] = ()

    def notes(self, nodes_kept_float: int, calib: CalibrationSet) -> dict[str, Any]:
        """The manifest notes of a PT2E INT8 conversion."""
        return {
            "nodes_kept_float": nodes_kept_float,
            "calibration_images": len(calib),
            "per_channel": self.per_channel,
            "float_layers": len(self.float_layers),
        }


class Target(Protocol):
    """A registered export target (see ``edgekit.registry.TARGETS``)."""

    name: str
    runtime: str
    config_cls: type[TargetConfig]
    #: optional: the config field that takes ONNX node names to keep in float (``--max-drop`` uses it);
    #: targets without it are left out of the accuracy budget
    float_nodes_option: str
    #: optional: config overrides ``--max-drop`` tries (in order) before any layer goes back to float, e.g.
    #: another calibration method; one the user set explicitly is never overridden
    budget_alternatives: tuple[dict[str, Any], ...]
    #: optional: Python modules its converter needs beyond the export side; where one is missing the target
    #: is left out of ``-t all`` (``edgekit.registry.unavailable_targets``)
    requires: tuple[str, ...]

    def convert(self, onnx_path: Path, calib: CalibrationSet, cfg: TargetConfig, out_dir: Path) -> Conversion:
        """Convert ``onnx_path`` into ``out_dir`` (a fresh temporary directory)."""
        ...


class ModuleTarget(Protocol):
    """A registered target that converts from the PyTorch model (``from_module = True``), not from ONNX: the
    export still makes the parent ONNX, whose tensors name the artifact's and against which it is checked. A
    source that is an ONNX file has no PyTorch model: such a target fails on it in one line."""

    name: str
    runtime: str
    config_cls: type[TargetConfig]
    from_module: bool

    def convert_module(
        self, module: Any, onnx_path: Path, calib: CalibrationSet, cfg: TargetConfig, out_dir: Path
    ) -> Conversion:
        """Convert the eval-mode ``module`` into ``out_dir`` (a fresh temporary directory)."""
        ...


def parent_named_conversion(model_file: str, onnx_path: Path, converter: str, notes: dict[str, Any]) -> Conversion:
    """The ``Conversion`` of a ``from_module`` target's single written ``model_file``: its tensors named and
    shaped as the parent ONNX's, the converter's distribution and torch versions recorded."""
    import importlib.metadata

    import torch
    from edgekit.convert.onnx_utils import onnx_io_specs

    inputs, outputs = onnx_io_specs(onnx_path)
    versions = {converter: importlib.metadata.version(converter), "torch": torch.__version__}
    return Conversion(model_file, [model_file], inputs, outputs, tool_versions=versions, notes=notes)

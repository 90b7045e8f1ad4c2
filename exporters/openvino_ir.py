"""Shared by the OpenVINO targets: convert ONNX to an OpenVINO model and save it as IR (xml + bin)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openvino as ov
from edgekit.manifest import TensorSpec

from .base import Conversion


def read_onnx(onnx_path: Path) -> ov.Model:
    """The ONNX model converted by OpenVINO's ONNX frontend."""
    return ov.convert_model(str(onnx_path))


def save_ir(model: ov.Model, out_dir: Path, compress_to_fp16: bool, notes: dict[str, Any] | None = None) -> Conversion:
    """Write ``model.xml`` / ``model.bin`` and describe them."""
    ov.save_model(model, str(out_dir / "model.xml"), compress_to_fp16=compress_to_fp16)
    inputs = [TensorSpec(p.get_any_name(), list(p.get_shape()), "float32", "NCHW") for p in model.inputs]
    outputs = [TensorSpec(p.get_any_name(), list(p.get_shape()), "float32", "") for p in model.outputs]
    return Conversion(
        "model.xml",
        ["model.xml", "model.bin"],
        inputs,
        outputs,
        tool_versions={"openvino": ov.get_version()},
        notes=notes or {},
    )

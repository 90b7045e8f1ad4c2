"""What the two litert-torch targets share: the PyTorch model converted to a ``.tflite`` by Google's
litert-torch (``torch.export`` -> LiteRT, no ONNX, no TensorFlow), run by edgekit's ``tflite`` runtime.

litert-torch cannot share an environment with ``[executorch]``: through litert-converter and ai-edge-quantizer
it needs xdsl 0.28, which pins typing-extensions < 4.13, and ExecuTorch's coremltools needs cattrs, which needs
typing-extensions >= 4.14. Install ``[litert-torch]`` in an environment of its own (docs/targets.md).
"""

from __future__ import annotations

import importlib.metadata
import warnings
from pathlib import Path
from typing import Any

from edgekit.convert.onnx_utils import onnx_io_specs
from edgekit.convert.pt2e import first_line
from edgekit.errors import EdgekitError, MissingDependencyError
from edgekit.quiet import native_output_to

from .base import Conversion

TFLITE_NAME = "model.tflite"


def litert_torch() -> Any:
    """The ``litert_torch`` package, or the one-line error naming the extra."""
    try:
        with native_output_to():  # its JAX/XLA imports log to stderr
            import litert_torch
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "litert_torch", "litert-torch") from None
    return litert_torch


def convert(model: Any, example: Any, out_dir: Path, **options: Any) -> None:
    """``litert_torch.convert`` of ``model`` on ``example``, written as ``model.tflite``; a failure is one line."""
    package = litert_torch()
    try:
        with warnings.catch_warnings(), native_output_to():
            warnings.simplefilter("ignore")
            package.convert(model, (example,), **options).export(str(out_dir / TFLITE_NAME))
    except Exception as exc:  # noqa: BLE001 - the converter raises many types
        raise EdgekitError(f"litert-torch conversion failed: {first_line(exc)}") from None


def conversion(onnx_path: Path, out_dir: Path, notes: dict[str, Any]) -> Conversion:
    """The ``Conversion`` of a written ``model.tflite``: tensors named and shaped as the parent's."""
    import torch

    inputs, outputs = onnx_io_specs(onnx_path)
    versions = {"litert-torch": importlib.metadata.version("litert-torch"), "torch": torch.__version__}
    return Conversion(TFLITE_NAME, [TFLITE_NAME], inputs, outputs, tool_versions=versions, notes=notes)

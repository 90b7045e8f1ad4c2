"""What the two litert-torch targets share: the PyTorch model converted to a ``.tflite`` by Google's
litert-torch (``torch.export`` -> LiteRT, no ONNX, no TensorFlow), run by edgekit's ``tflite`` runtime.

litert-torch cannot share an environment with ``[executorch]``: through litert-converter and ai-edge-quantizer
it needs xdsl 0.28, which pins typing-extensions < 4.13, and ExecuTorch's coremltools needs cattrs, which needs
typing-extensions >= 4.14. Install ``[litert-torch]`` in an environment of its own (docs/targets.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError, MissingDependencyError, first_line
from edgekit.quiet import native_output_to, silenced

from .base import Conversion, parent_named_conversion

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
        with silenced():
            package.convert(model, (example,), **options).export(str(out_dir / TFLITE_NAME))
    except Exception as exc:  # noqa: BLE001 - the converter raises many types
        raise EdgekitError(f"litert-torch conversion failed: {first_line(exc)}") from None


def conversion(onnx_path: Path, notes: dict[str, Any]) -> Conversion:
    """The ``Conversion`` of a written ``model.tflite``."""
    return parent_named_conversion(TFLITE_NAME, onnx_path, "litert-torch", notes)

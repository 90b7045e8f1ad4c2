"""edgekit: take a trained PyTorch model to edge devices, measured on its own runtime.

Importing this package stays light: no torch, tensorflow, onnx or runtime is imported here; the public API
(``edgekit.export``, ``edgekit.benchmark``, ``edgekit.gate_check``, ``edgekit.compress_model``, ``edgekit.sweep``,
``edgekit.targets``, ``edgekit.Artifact``, ``edgekit.ModelCard``, ``edgekit.load_results``; see ``edgekit.api``)
is loaded on first use."""

from typing import Any

from .version import __version__

__all__ = [
    "Artifact",
    "BenchRow",
    "ExportRow",
    "ModelCard",
    "ResultsDocument",
    "benchmark",
    "compress_model",
    "export",
    "gate_check",
    "load_results",
    "sweep",
    "targets",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'edgekit' has no attribute {name!r}")

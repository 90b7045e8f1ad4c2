"""edgekit: take a trained PyTorch model to edge devices, measured on its own runtime.

Importing this package stays light: no torch, tensorflow, onnx or runtime is imported here; the public API
(``edgekit.export``, ``edgekit.benchmark``, ``edgekit.gate_check``, ``edgekit.compress_model``, ``edgekit.sweep``,
``edgekit.targets``, ``edgekit.Artifact``, ``edgekit.ModelCard``, ``edgekit.load_results``; see ``edgekit.api``)
is loaded on first use."""

import os
from typing import Any

# ONNX Runtime's PyPI builds (1.29 and later) send telemetry from Linux too: an uploader thread that resolves
# Microsoft's event host every few seconds, a persistent device id and an event cache under ~/.cache/Microsoft.
# edgekit runs offline, so it is off unless the user asked for it; ORT reads this once, when it is imported, so it is
# set here, before anything of edgekit can import it (subprocesses inherit it).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from .version import __version__  # noqa: E402 - after the telemetry switch above

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

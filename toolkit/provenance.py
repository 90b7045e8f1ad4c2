"""Where a figure came from: one block that every JSON edgekit or its benchmark scripts write can carry.

``provenance()`` records the exact command line, the git revision of the checkout edgekit runs from (and
whether its tree had uncommitted changes) or, installed from a wheel, the package version; the installed
version of every converter and runtime edgekit can use (read from the installed distributions' metadata, so
nothing heavy is imported); the machine (CPU model, ISA, cores, memory); and its load (load averages).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from .manifest import host_environment
from .version import __version__

#: the distributions whose versions decide a conversion or a measurement
TOOL_DISTRIBUTIONS = (
    "edgekit-deploy",
    "numpy",
    "torch",
    "onnx",
    "onnxsim",
    "onnxruntime",
    "openvino",
    "nncf",
    "tensorflow",
    "onnx2tf",
    "ai-edge-litert",
    "litert-torch",
    "executorch",
    "torchao",
    "torch-pruning",
    "ultralytics",
)


def installed_versions() -> dict[str, str]:
    """Version of each of ``TOOL_DISTRIBUTIONS`` that is installed."""
    found = {}
    for name in TOOL_DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def source_revision() -> dict[str, Any]:
    """The git revision of the checkout this package runs from, and whether its tree is dirty; the package
    version alone when it is not a checkout (an installed wheel)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return {"version": __version__}
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"version": __version__}
    return {"version": __version__, "git_revision": head, "git_dirty": bool(status.strip())}


def provenance(command: list[str] | None = None) -> dict[str, Any]:
    """The provenance block: command, source, tool versions, machine and load."""
    one, five, fifteen = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    machine = host_environment() | {"memory_bytes": psutil.virtual_memory().total}
    return {
        "command": shlex.join(command if command is not None else sys.argv),
        "source": source_revision(),
        "versions": installed_versions(),
        "machine": machine,
        "load": {"loadavg_1m": one, "loadavg_5m": five, "loadavg_15m": fifteen},
    }

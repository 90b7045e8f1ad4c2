"""Name -> ``"module:attr"`` tables for targets and runtimes; modules are imported only when used.

A new target costs one module in ``exporters/``, one line here and one test file.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import EdgekitError, MissingDependencyError

#: target name -> (object path, extra that provides its converter)
TARGETS: dict[str, tuple[str, str]] = {
    "onnx-fp32": ("edgekit.exporters.onnx_fp32:TARGET", "export"),
    "ort-int8": ("edgekit.exporters.ort_int8:TARGET", "export"),
    "openvino-fp32": ("edgekit.exporters.openvino_fp32:TARGET", "openvino-export"),
    "openvino-fp16": ("edgekit.exporters.openvino_fp16:TARGET", "openvino-export"),
    "openvino-int8": ("edgekit.exporters.openvino_int8:TARGET", "openvino-export"),
    "tflite-fp32": ("edgekit.exporters.tflite_fp32:TARGET", "tflite-export"),
    "tflite-fp16": ("edgekit.exporters.tflite_fp16:TARGET", "tflite-export"),
    "tflite-int8": ("edgekit.exporters.tflite_int8:TARGET", "tflite-export"),
    "tflite-drq": ("edgekit.exporters.tflite_drq:TARGET", "tflite-export"),
}

#: runtime name -> (object path, extra that provides it)
RUNTIMES: dict[str, tuple[str, str]] = {
    "onnxruntime": ("edgekit.runtimes.onnxruntime:RUNTIME", "ort"),
    "openvino": ("edgekit.runtimes.openvino:RUNTIME", "openvino"),
    "tflite": ("edgekit.runtimes.tflite:RUNTIME", "tflite"),
}


def _import(spec: str, extra: str) -> Any:
    module_name, attr = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(exc.name or module_name, extra) from None
    return getattr(module, attr)


def target_names() -> list[str]:
    """Every registered target, in registry order."""
    return list(TARGETS)


def expand_targets(names: list[str]) -> list[str]:
    """Resolve ``all`` and validate names, keeping order and dropping repeats."""
    out: list[str] = []
    for name in names:
        for item in (target_names() if name == "all" else [name]):
            if item not in TARGETS:
                raise EdgekitError(f"unknown target {item!r} (choose from: all, {', '.join(TARGETS)})")
            if item not in out:
                out.append(item)
    return out


def get_target(name: str) -> Any:
    """The Target object registered as ``name``."""
    if name not in TARGETS:
        raise EdgekitError(f"unknown target {name!r} (choose from: {', '.join(TARGETS)})")
    return _import(*TARGETS[name])


def get_runtime(name: str) -> Any:
    """The Runtime object registered as ``name``."""
    if name not in RUNTIMES:
        raise EdgekitError(f"unknown runtime {name!r} (known: {', '.join(RUNTIMES)})")
    return _import(*RUNTIMES[name])

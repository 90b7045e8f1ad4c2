"""Name -> ``"module:attr"`` tables for targets and runtimes; modules are imported only when used.

A new target costs one module in ``exporters/``, one line here and one test file. A target or runtime from
another package needs no line here: its distribution declares an entry point in the ``edgekit.targets`` (or
``edgekit.runtimes``) group, ``NAME = "package.module:OBJECT"``, and it is found when installed. A plugin
cannot take a built-in name.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import EdgekitError, MissingDependencyError

if TYPE_CHECKING:  # the protocols' modules import numpy and the manifest: not needed to list names
    from edgekit.exporters.base import Target
    from edgekit.runtimes.base import Runtime

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


TARGET_GROUP, RUNTIME_GROUP = "edgekit.targets", "edgekit.runtimes"
#: extra named for a plugin whose module is missing: none, it is not ours to install
PLUGIN = ""


@lru_cache(maxsize=2)
def plugins(group: str) -> dict[str, str]:
    """Entry points of installed distributions in ``group``: name -> ``"module:attr"`` (built-in names skipped)."""
    builtin = TARGETS if group == TARGET_GROUP else RUNTIMES
    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=group) if ep.name not in builtin}


def _table(group: str) -> dict[str, tuple[str, str]]:
    builtin = TARGETS if group == TARGET_GROUP else RUNTIMES
    return builtin | {name: (spec, PLUGIN) for name, spec in plugins(group).items()}


def _import(spec: str, extra: str) -> Any:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if extra == PLUGIN:
            raise EdgekitError(f"plugin {spec} cannot be imported: no module named {exc.name!r}") from None
        raise MissingDependencyError(exc.name or module_name, extra) from None
    if not hasattr(module, attr):
        raise EdgekitError(f"{spec}: module {module_name} has no {attr!r}")
    return getattr(module, attr)


def target_names() -> list[str]:
    """Every registered target: built-in ones in registry order, then installed plugins'."""
    return list(_table(TARGET_GROUP))


def runtime_names() -> list[str]:
    """Every registered runtime: built-in ones, then installed plugins'."""
    return list(_table(RUNTIME_GROUP))


def expand_targets(names: list[str]) -> list[str]:
    """Resolve ``all`` and validate names, keeping order and dropping repeats."""
    out: list[str] = []
    for name in names:
        for item in (target_names() if name == "all" else [name]):
            if item not in _table(TARGET_GROUP):
                raise EdgekitError(f"unknown target {item!r} (choose from: all, {', '.join(target_names())})")
            if item not in out:
                out.append(item)
    return out


def get_target(name: str) -> Target:
    """The Target object registered as ``name``."""
    table = _table(TARGET_GROUP)
    if name not in table:
        raise EdgekitError(f"unknown target {name!r} (choose from: {', '.join(table)})")
    return _import(*table[name])


def get_runtime(name: str) -> Runtime:
    """The Runtime object registered as ``name``."""
    table = _table(RUNTIME_GROUP)
    if name not in table:
        raise EdgekitError(f"unknown runtime {name!r} (known: {', '.join(table)})")
    return _import(*table[name])

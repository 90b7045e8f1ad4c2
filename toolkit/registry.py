"""Name -> ``"module:attr"`` tables for targets and runtimes; modules are imported only when used.

A new target costs one module in ``exporters/``, one line here and one test file. A target or runtime from
another package needs no line here: its distribution declares an entry point in the ``edgekit.targets`` (or
``edgekit.runtimes``) group, ``NAME = "package.module:OBJECT"``, and it is found when installed. A plugin
cannot take a built-in name.

Users think in runtimes: a **family** name (``tflite``, ``openvino``, ``ort``) resolves to that family's
recommended deployment target — its INT8 target where calibration data can be had, else its float target —
and says which and why. A package declares a family in the ``edgekit.families`` entry-point group
(``NAME = "package.module:FAMILY"``, a ``Family``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
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
    "executorch-fp32": ("edgekit.exporters.executorch_fp32:TARGET", "executorch"),
    "executorch-int8": ("edgekit.exporters.executorch_int8:TARGET", "executorch"),
    "litert-fp32": ("edgekit.exporters.litert_fp32:TARGET", "litert-torch"),
    "litert-int8": ("edgekit.exporters.litert_int8:TARGET", "litert-torch"),
}

#: runtime name -> (object path, extra that provides it)
RUNTIMES: dict[str, tuple[str, str]] = {
    "onnxruntime": ("edgekit.runtimes.onnxruntime:RUNTIME", "ort"),
    "openvino": ("edgekit.runtimes.openvino:RUNTIME", "openvino"),
    "tflite": ("edgekit.runtimes.tflite:RUNTIME", "tflite"),
    "executorch": ("edgekit.runtimes.executorch:RUNTIME", "executorch"),
}


@dataclass(frozen=True)
class Family:
    """A runtime family as users name it: ``quantized`` is the recommended target when calibration data can be
    had (full-integer INT8 where the runtime has it), ``float`` the one without; ``aliases`` are other names."""

    name: str
    quantized: str | None
    float: str
    aliases: tuple[str, ...] = ()
    quantized_kind: str = "INT8"

    def choose(self, calibration: str | None) -> tuple[str, str]:
        """(target, reason) for calibration data described by ``calibration`` (None: there is none)."""
        if self.quantized and calibration:
            return self.quantized, (
                f"{self.name} -> {self.quantized}: {self.quantized_kind}, calibrated on {calibration}"
            )
        if self.quantized:
            return self.float, (
                f"{self.name} -> {self.float}: no calibration data (pass --data, or a model whose "
                f"card names a dataset, for {self.quantized})"
            )
        return self.float, f"{self.name} -> {self.float}: the family's only target"


#: family name -> Family (one line per runtime family; aliases resolve too)
FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family("ort", "ort-int8", "onnx-fp32", aliases=("onnxruntime",), quantized_kind="INT8 QDQ"),
        Family("openvino", "openvino-int8", "openvino-fp32", quantized_kind="INT8 (NNCF)"),
        Family("tflite", "tflite-int8", "tflite-fp32", quantized_kind="full-integer INT8 (int8 input and output)"),
        Family(
            "executorch", "executorch-int8", "executorch-fp32", aliases=("et",), quantized_kind="INT8 (PT2E, XNNPACK)"
        ),
    )
}


@dataclass(frozen=True)
class Resolved:
    """A concrete target name; ``family`` and ``reason`` are set when a family name chose it."""

    name: str
    family: str | None = None
    reason: str = ""


TARGET_GROUP, RUNTIME_GROUP, FAMILY_GROUP = "edgekit.targets", "edgekit.runtimes", "edgekit.families"
#: extra named for a plugin whose module is missing: none, it is not ours to install
PLUGIN = ""


@lru_cache(maxsize=4)
def plugins(group: str) -> dict[str, str]:
    """Entry points of installed distributions in ``group``: name -> ``"module:attr"`` (built-in names skipped)."""
    builtin = _builtin(group)
    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=group) if ep.name not in builtin}


def _builtin(group: str) -> dict[str, Any]:
    """The built-in names of an entry-point group (a plugin cannot take one)."""
    tables: dict[str, dict[str, Any]] = {
        TARGET_GROUP: TARGETS,
        RUNTIME_GROUP: RUNTIMES,
        FAMILY_GROUP: _family_names(FAMILIES),
    }
    return tables[group]


def _family_names(families: dict[str, Family]) -> dict[str, Family]:
    return {name: family for family in families.values() for name in (family.name, *family.aliases)}


def _table(group: str) -> dict[str, tuple[str, str]]:
    builtin = _builtin(group)
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


def families() -> dict[str, Family]:
    """Every family by each of its names: built-in ones, then installed plugins' (imported here)."""
    return _family_names(FAMILIES) | {name: _load_family(name, spec) for name, spec in plugins(FAMILY_GROUP).items()}


def _load_family(name: str, spec: str) -> Family:
    family = _import(spec, PLUGIN)
    if not isinstance(family, Family):
        raise EdgekitError(f"plugin family {name} ({spec}) is a {type(family).__name__}, not an edgekit Family")
    return family


def _family(name: str) -> Family | None:
    """The family called ``name``; a target's own name is never a family (a plugin cannot shadow one)."""
    if name in _table(TARGET_GROUP):
        return None
    if name in _family_names(FAMILIES):
        return _family_names(FAMILIES)[name]
    spec = plugins(FAMILY_GROUP).get(name)
    return _load_family(name, spec) if spec else None


def missing_requirements(name: str) -> list[str]:
    """The Python modules target ``name`` declares it needs (its optional ``requires``) that are not installed
    here; found without importing them."""
    import importlib.util

    try:
        target = get_target(name)
    except MissingDependencyError as exc:  # its module imports a converter that is not here (openvino, ...)
        return [exc.package]
    return [module for module in getattr(target, "requires", ()) if importlib.util.find_spec(module) is None]


def unavailable_targets() -> dict[str, str]:
    """Registered targets whose converter is not installed here: name -> the extra that provides it."""
    table = _table(TARGET_GROUP)
    return {name: table[name][1] for name in table if missing_requirements(name)}


def _installed_targets() -> list[str]:
    missing = unavailable_targets()
    return [name for name in target_names() if name not in missing]


def resolve_targets(names: list[str], calibration: str | None = "calibration data") -> list[Resolved]:
    """Resolve ``all`` and family names, validate the rest, keep order and drop repeats. ``all`` means every
    target whose converter is installed here (``unavailable_targets`` lists the others).

    ``calibration`` describes the calibration data at hand (None: there is none); a family resolves to its
    INT8 target with it, to its float target without, and says so in ``reason``.
    """
    out: list[Resolved] = []
    for name in names:
        family = _family(name)
        if family is not None:
            target, reason = family.choose(calibration)
            items = [Resolved(target, family.name, reason)]
        else:
            items = [Resolved(item) for item in (_installed_targets() if name == "all" else [name])]
        for item in items:
            if item.name not in _table(TARGET_GROUP):
                raise EdgekitError(
                    f"unknown target {item.name!r} (choose from: all, "
                    f"{', '.join(sorted(_family_names(FAMILIES)) + sorted(plugins(FAMILY_GROUP)))}, "
                    f"{', '.join(target_names())})"
                )
            if all(item.name != seen.name for seen in out):
                out.append(item)
    return out


def expand_targets(names: list[str]) -> list[str]:
    """Resolve ``all`` and family names (as with calibration data) and validate names, keeping order."""
    return [item.name for item in resolve_targets(names)]


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


def describe_families() -> list[str]:
    """One line per family for ``edgekit models``: its names and what it resolves to, with and without data
    (a plugin family that cannot be imported says so on its line)."""
    lines = []
    for family in FAMILIES.values():
        lines.append(_family_line(family))
    for name, spec in plugins(FAMILY_GROUP).items():
        try:
            lines.append(_family_line(_load_family(name, spec)))
        except EdgekitError as exc:
            lines.append(f"{name:22s} -> {exc}")
    return lines


def _family_line(family: Family) -> str:
    names = " | ".join((family.name, *family.aliases))
    choice = f"{family.quantized} with calibration data, else {family.float}" if family.quantized else family.float
    return f"{names:22s} -> {choice}"

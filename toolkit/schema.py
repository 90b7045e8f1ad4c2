"""Type checks for data read from files (manifests, results, configs): a wrong shape is one clear error line.

JSON, TOML and YAML give back whatever the file holds; everything edgekit reads passes through these
checks before any field is used, so a malformed file can never surface as a ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Any

import numpy as np

from .errors import EdgekitError

#: deeper nesting than this is refused before parsing: parsers recurse, and where a library has raised
#: Python's recursion limit, a 100 000-deep ``[[[[`` overflows the C stack (a crash, not an exception)
MAX_NESTING = 100
_QUOTED = re.compile(rb'"(?:\\.|[^"\\])*"')

Number = (int, float)
_TYPE_NAMES = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true/false",
    list: "a list",
    dict: "an object",
    type(None): "null",
}


def _describe(types: tuple[type, ...]) -> str:
    return " or ".join(dict.fromkeys(_TYPE_NAMES.get(t, t.__name__) for t in types))


def check_value(value: Any, types: type | tuple[type, ...], where: str) -> Any:
    """``value`` when it is one of ``types`` (a bool is never taken for a number; numbers are finite)."""
    types = types if isinstance(types, tuple) else (types,)
    is_bool = isinstance(value, bool)
    ok = isinstance(value, types) and (bool in types or not is_bool)
    if ok and isinstance(value, float) and not math.isfinite(value):
        raise EdgekitError(f"{where}: expected a finite number, got {value!r}")
    if not ok:
        raise EdgekitError(f"{where}: expected {_describe(types)}, got {type(value).__name__} {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_object(
    value: Any, where: str, required: Mapping[str, Any], optional: Mapping[str, Any] = {}, strict: bool = True
) -> dict[str, Any]:
    """A dict whose ``required`` keys are present and whose known keys have the given types; with ``strict``
    an unknown key is an error too."""
    check_value(value, dict, where)
    missing = [key for key in required if key not in value]
    if missing:
        raise EdgekitError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    known = {**required, **optional}
    if strict:
        unknown = sorted(str(k) for k in value if k not in known)
        if unknown:
            raise EdgekitError(f"{where}: unknown key(s) {', '.join(unknown)}")
    for key, types in known.items():
        if key in value:
            check_value(value[key], types, f"{where}.{key}")
    return dict(value)


def check_list(value: Any, types: type | tuple[type, ...], where: str, min_length: int = 0) -> list[Any]:
    """A list of ``types`` items with at least ``min_length`` of them."""
    check_value(value, list, where)
    if len(value) < min_length:
        raise EdgekitError(f"{where}: needs at least {min_length} item(s)")
    for index, item in enumerate(value):
        check_value(item, types, f"{where}[{index}]")
    return list(value)


def check_nesting(data: bytes, where: str, limit: int = MAX_NESTING) -> None:
    """Refuse JSON / YAML / TOML text whose brackets nest deeper than ``limit`` (quoted strings ignored)."""
    codes = np.frombuffer(_QUOTED.sub(b"", data), dtype=np.uint8)
    steps = np.zeros(codes.shape, dtype=np.int32)
    steps[(codes == ord("[")) | (codes == ord("{"))] = 1
    steps[(codes == ord("]")) | (codes == ord("}"))] = -1
    if steps.size and int(np.cumsum(steps).max()) > limit:
        raise EdgekitError(f"{where}: nested deeper than {limit} levels")


def read_json_file(path: Path, what: str, error: type[EdgekitError] = EdgekitError) -> Any:
    """The JSON document at ``path``; missing, unreadable or malformed is one ``error`` naming ``what``."""
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    try:
        return parse_json(path.read_bytes(), str(path))
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {type(exc).__name__}") from None
    except EdgekitError as exc:
        raise error(f"not a {what}: {exc}") from None


def parse_json(data: bytes, where: str) -> Any:
    """``json.loads`` after the nesting check; a malformed document is one ``EdgekitError``."""
    check_nesting(data, where)
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise EdgekitError(f"{where} is not valid JSON ({type(exc).__name__}: {str(exc)[:120]})") from None


def _json_types(hint: Any) -> tuple[type, ...]:
    """The JSON types a field annotated ``hint`` is written as: a nested dataclass or a mapping as an object,
    a list or tuple as a list, a float as a number (an int is one too), ``X | None`` as either."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, UnionType):
        return tuple(t for arg in typing.get_args(hint) for t in _json_types(arg))
    if hint is type(None):
        return (type(None),)
    if hint is float:
        return (int, float)
    if hint in (int, str, bool):
        return (hint,)
    if dataclasses.is_dataclass(hint) or origin in (dict, Mapping) or hint is dict:
        return (dict,)
    if origin in (list, tuple) or hint in (list, tuple):
        return (list,)
    return (object,)


def dataclass_schema(
    cls: type,
    required: tuple[str, ...] = (),
    renamed: Mapping[str, str] = {},
    exclude: tuple[str, ...] = (),
    nullable: bool = True,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(required, optional)`` key -> JSON types of ``cls``'s JSON form, for ``check_object``: from its fields'
    annotations, so the check can never drift from the type. A field without a default is required, and so
    is every name in ``required``; ``renamed`` maps a field to its JSON key; ``exclude`` leaves fields out;
    without ``nullable`` an ``X | None`` field takes ``X`` only (its JSON form leaves ``None`` out)."""
    hints = typing.get_type_hints(cls)
    must: dict[str, Any] = {}
    may: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.name in exclude:
            continue
        key = renamed.get(item.name, item.name)
        no_default = item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
        types = _json_types(hints[item.name])
        if not nullable:
            types = tuple(t for t in types if t is not type(None))
        (must if no_default or item.name in required else may)[key] = types
    return must, may

"""Typed, frozen per-target configs with dict round-trip and ``key=value`` overrides."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, TypeVar

from .errors import EdgekitError, first_line

C = TypeVar("C", bound="TargetConfig")


@dataclasses.dataclass(frozen=True)
class TargetConfig:
    """Base of every target's config. Defaults are the accurate choice; ``version`` tracks the schema."""

    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any]) -> C:
        """Build from a dict, rejecting unknown keys with a clear error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise EdgekitError(
                f"unknown option(s) for {cls.__name__}: {', '.join(unknown)} (known: {', '.join(sorted(names))})"
            )
        hints = typing.get_type_hints(cls)
        return cls(**{k: _coerce(hints[k], v, k) for k, v in data.items()})

    def with_overrides(self: C, overrides: dict[str, Any]) -> C:
        """A copy with some fields replaced (values coerced to the field types)."""
        merged = self.to_dict() | overrides
        return type(self).from_dict(merged)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    """Coerce a value (possibly a string from the command line) to the field's annotated type."""
    origin = typing.get_origin(hint)
    if origin in (tuple, list):
        items = value.split(",") if isinstance(value, str) else list(value)
        items = [i for i in items if i != ""]
        inner = typing.get_args(hint)[0] if typing.get_args(hint) else str
        coerced = [_coerce(inner, i, key) for i in items]
        return tuple(coerced) if origin is tuple else coerced
    if not isinstance(value, str) or hint is str:
        return value
    try:
        if hint is bool:
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if hint in (int, float):
            return hint(value)
    except ValueError:
        raise EdgekitError(f"option {key}: cannot read {value!r} as {hint.__name__}") from None
    return value


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; a pair without ``=`` is an error."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise EdgekitError(f"expected key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def load_config_file(path: Path) -> dict[str, Any]:
    """A JSON, TOML or YAML file of options."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise EdgekitError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EdgekitError(f"cannot read config {path}: {type(exc).__name__}") from None
    from .schema import check_nesting

    check_nesting(text.encode(), f"config {path}")
    try:
        if path.suffix == ".toml":
            from . import tomlread as tomllib

            return tomllib.loads(text)
        if path.suffix in (".yaml", ".yml"):
            from .yamlread import load_yaml

            loaded = load_yaml(text, f"config {path}") or {}
        else:
            loaded = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parser error becomes one line
        raise EdgekitError(f"cannot parse config {path}: {first_line(exc)}") from None
    if not isinstance(loaded, dict):
        raise EdgekitError(f"config {path} must hold a table of options, not a {type(loaded).__name__}")
    return loaded

"""Options declared once: a frozen dataclass whose fields carry their help, flag and choices, from which the
command line's parameters, the Python API's keywords, the recipe/sweep keys and their type checks are derived.

A field is declared with ``option(default, help, ...)``; ``cli_parameters`` turns the fields into Typer
parameters (``inspect.Parameter`` objects a command's ``__signature__`` takes), ``api_parameters`` into
keyword-only parameters defaulting to ``None`` ("the default"), ``value_types`` into what a TOML value must be,
and ``from_values`` builds the dataclass from flat names, refusing unknown ones and wrong types in one line.

Light to import: no Typer until ``cli_parameters`` is called.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .errors import EdgekitError, refuse_unknown

_META = "edgekit_option"
T = TypeVar("T")


def option(
    default: Any = None,
    help: str = "",
    *,
    flag: str = "",
    choices: Sequence[str] = (),
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A dataclass field declared as a command-line option: its default (or a ``factory`` computing it, which the
    command line and the API show as ``None``: "the library's default"), its help text, its flag (default
    ``--field-name``) and the values it may take (shown in the help; the dataclass's own ``validate`` checks them)."""
    metadata = {_META: {"help": help, "flag": flag, "choices": tuple(choices)}}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _meta(field: dataclasses.Field[Any]) -> dict[str, Any]:
    return dict(field.metadata[_META])


def option_fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The fields of ``cls`` declared with ``option``, in declaration order."""
    return [field for field in dataclasses.fields(cls) if _META in field.metadata]


def option_names(cls: type) -> tuple[str, ...]:
    """The flat names of the options (CLI parameters, API keywords, recipe keys)."""
    return tuple(field.name for field in option_fields(cls))


def _base_type(annotation: Any) -> Any:
    """``X`` of ``X | None``; the annotation itself otherwise."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return members[0] if len(members) == 1 else annotation
    return annotation


def value_types(cls: type) -> dict[str, tuple[type, ...]]:
    """What a recipe's value of each option must be: a number may be an int, a path is a string, a tuple a
    list (TOML has no tuples)."""
    hints = typing.get_type_hints(cls)
    kinds: dict[str, tuple[type, ...]] = {}
    for field in option_fields(cls):
        base = _base_type(hints[field.name])
        if base is float:
            kinds[field.name] = (int, float)
        elif base is Path:
            kinds[field.name] = (str, Path)
        elif typing.get_origin(base) in (tuple, list):
            kinds[field.name] = (list, tuple)
        else:
            kinds[field.name] = (typing.get_origin(base) or base,)
    return kinds


_KIND_WORDS: dict[tuple[type, ...], str] = {
    (int,): "an integer",
    (int, float): "a number",
    (str,): "a string",
    (bool,): "true or false",
    (str, Path): "a string (a path)",
    (list, tuple): "a list",
}


def first_wrong_type(
    kinds: Mapping[str, tuple[type, ...]], values: Mapping[str, Any]
) -> tuple[str, Any, tuple[type, ...]] | None:
    """The first ``(name, value, expected)`` whose value is not of its kind (``bool`` is never a number and
    ``"false"`` never a bool); names without a kind and ``None`` values pass."""
    for name, value in values.items():
        expected = kinds.get(name)
        if expected is None or value is None:
            continue
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            return name, value, expected
    return None


def check_value_types(cls: type, values: Mapping[str, Any], where: str) -> None:
    """One line naming the first value of the wrong type (``first_wrong_type`` over ``value_types(cls)``)."""
    wrong = first_wrong_type(value_types(cls), values)
    if wrong is not None:
        name, value, expected = wrong
        raise EdgekitError(f"{where} {name} must be {_KIND_WORDS.get(expected, expected[0].__name__)}, got {value!r}")


def from_values(cls: type[T], values: Mapping[str, Any], what: str) -> T:
    """``cls`` from flat option names; ``None`` means the field's default. Unknown names and wrong types are
    one ``EdgekitError`` each."""
    refuse_unknown(values, option_names(cls), what)
    given = {name: value for name, value in values.items() if value is not None}
    check_value_types(cls, given, what)
    hints = typing.get_type_hints(cls)
    for name, value in given.items():
        base = _base_type(hints[name])
        if base is Path:
            given[name] = Path(value)
        elif typing.get_origin(base) is tuple:
            given[name] = tuple(value)
        elif base is float:
            given[name] = float(value)
    return cls(**given)


def _help(field: dataclasses.Field[Any]) -> str:
    meta = _meta(field)
    text: str = meta["help"]
    return text + (f" ({' | '.join(meta['choices'])})" if meta["choices"] else "")


def cli_parameters(cls: type) -> list[inspect.Parameter]:
    """Typer parameters for every option of ``cls``: flag, default and help from the field (a tuple becomes a
    repeatable option)."""
    import typer

    hints = typing.get_type_hints(cls)
    parameters = []
    for field in option_fields(cls):
        annotation, default = hints[field.name], field.default
        if default is dataclasses.MISSING:  # a factory's default: None on the command line
            annotation, default = annotation | None, None
        elif typing.get_origin(_base_type(annotation)) is tuple:
            annotation, default = list[str], list(default)
        flag = _meta(field)["flag"] or "--" + field.name.replace("_", "-")
        info = typer.Option(default, flag, help=_help(field))
        parameters.append(
            inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation)
        )
    return parameters


def api_parameters(cls: type, with_defaults: bool = False) -> list[inspect.Parameter]:
    """Keyword-only parameters for every option of ``cls``: each defaulting to ``None`` (the field's default), or
    ``with_defaults`` to the field's default itself (a factory's still ``None``)."""
    hints = typing.get_type_hints(cls)
    parameters = []
    for field in option_fields(cls):
        default = field.default if with_defaults and field.default is not dataclasses.MISSING else None
        annotation = hints[field.name] if default is not None else hints[field.name] | None
        parameters.append(
            inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        )
    return parameters


def with_parameters(function: Any, parameters: list[inspect.Parameter]) -> None:
    """Give ``function`` (which takes ``**options``) a signature: its own parameters before ``**options``, then
    ``parameters``; Typer and ``help()`` read it."""
    hints = typing.get_type_hints(function)
    own = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(function).parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    signature = inspect.Signature(own + parameters, return_annotation=hints.get("return", inspect.Signature.empty))
    function.__signature__ = signature
    function.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    if "return" in hints:
        function.__annotations__["return"] = hints["return"]

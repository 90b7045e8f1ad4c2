"""YAML reading that cannot be made to explode: ``safe_load`` with aliases refused and nesting bounded.

A few hundred bytes of YAML can expand to gigabytes through aliases (``&a [*b, *b, ...]`` nested a few times: a
"billion laughs"), and block (indentation) nesting is invisible to the bracket check of ``check_nesting``. The
files edgekit reads (data.yaml, Ultralytics' metadata.yaml, recipes, configs) need neither, so an alias is
refused when it is met, before anything is expanded, and so is nesting deeper than ``MAX_NESTING``.
"""

from __future__ import annotations

from typing import Any

import yaml

from .schema import MAX_NESTING, check_nesting


class YamlRefused(yaml.YAMLError):
    """Valid YAML that edgekit will not expand (an alias, or nesting beyond ``MAX_NESTING``)."""


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses aliases and counts how deep the node it is composing lies."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.events.AliasEvent):
            raise YamlRefused(f"YAML aliases (*name) are not accepted (line {self.peek_event().start_mark.line + 1})")
        self._depth += 1
        if self._depth > MAX_NESTING:
            raise YamlRefused(f"YAML nested deeper than {MAX_NESTING} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(raw: bytes | str, where: str) -> Any:
    """The YAML document in ``raw``; raises ``yaml.YAMLError`` (``YamlRefused`` for aliases and deep nesting)
    or ``EdgekitError`` (bracket nesting, see ``check_nesting``) naming ``where``."""
    check_nesting(raw.encode() if isinstance(raw, str) else raw, where)
    return yaml.load(raw, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass

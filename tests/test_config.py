"""Every registered target's config round-trips and takes key=value overrides; bad keys are clear errors."""

from __future__ import annotations

import dataclasses

import pytest
from edgekit.config import parse_overrides
from edgekit.errors import EdgekitError
from edgekit.registry import TARGETS, get_target


@pytest.mark.parametrize("name", list(TARGETS))
def test_config_round_trip(name):
    cfg = get_target(name).config_cls()
    assert type(cfg).from_dict(cfg.to_dict()) == cfg
    assert dataclasses.is_dataclass(cfg) and cfg.version >= 1


@pytest.mark.parametrize("name", list(TARGETS))
def test_unknown_option_is_rejected(name):
    with pytest.raises(EdgekitError, match="unknown option"):
        get_target(name).config_cls().with_overrides({"no_such_option": "1"})


def test_parse_overrides():
    assert parse_overrides(["a=1", "b = x"]) == {"a": "1", "b": "x"}
    with pytest.raises(EdgekitError, match="key=value"):
        parse_overrides(["novalue"])

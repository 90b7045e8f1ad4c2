"""One schema per type: the checks that read results, manifests, cards and gate configs are derived from their
dataclasses' fields, so a field added to a type is read back (and type-checked) with no key list to update."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest
from edgekit import card, manifest, results
from edgekit.errors import EdgekitError
from edgekit.report import gate
from edgekit.schema import check_object, dataclass_schema


@dataclass(frozen=True)
class _Example:
    name: str
    size: float
    shape: list[int]
    nested: card.ModelCard | None = None
    flags: tuple[str, ...] = ()
    table: dict[str, int] = field(default_factory=dict)
    count: int | None = None


def test_a_dataclass_gives_its_json_keys_and_types() -> None:
    must, may = dataclass_schema(_Example, renamed={"count": "n"})
    assert must == {"name": (str,), "size": (int, float), "shape": (list,)}
    assert may == {"nested": (dict, type(None)), "flags": (list,), "table": (dict,), "n": (int, type(None))}
    _, strict = dataclass_schema(_Example, nullable=False, exclude=("table",))
    assert strict["count"] == (int,) and "table" not in strict
    check_object({"name": "a", "size": 1, "shape": [1], "n": None}, "example", must, may)
    with pytest.raises(EdgekitError, match="example.size: expected an integer or a number, got bool"):
        check_object({"name": "a", "size": True, "shape": []}, "example", must, may)


def _names(cls: type) -> set[str]:
    return {item.name for item in dataclasses.fields(cls)}


def test_every_reader_checks_exactly_its_types_fields() -> None:
    assert set(card.CARD_REQUIRED) | set(card.CARD_OPTIONAL) == _names(card.ModelCard) == set(card.CARD_KEYS)
    assert set(manifest._REQUIRED) | set(manifest._OPTIONAL) == _names(manifest.Manifest) - {"card"} | set(
        card.CARD_KEYS
    )
    assert set(manifest._TENSOR) | set(manifest._TENSOR_OPTIONAL) == _names(manifest.TensorSpec)
    row_keys = set(results._ROW) | set(results._OK_ROW) | set(results._OK_OPTIONAL)
    assert row_keys == _names(results.BenchRow) - {"latency", "extra"} | {"latency_ms"}
    assert set(results._LATENCY_KEYS) == _names(results.Latency)
    assert set(gate._CONFIG_KEYS) == _names(gate.Thresholds) - {"per_target"} | {"targets"}


def test_a_gate_config_key_is_typed_by_its_threshold_field(tmp_path) -> None:
    config = tmp_path / "gate.toml"
    config.write_text('max_machine_shift = "ten"\n')
    with pytest.raises(EdgekitError, match="max_machine_shift: expected an integer or a number"):
        gate.load_thresholds(config)
    config.write_text("max_machine_shift = 12\n[targets.ort-int8]\nmax_latency_growth = 40\n")
    limits = gate.load_thresholds(config)
    assert limits.max_machine_shift == 12 and limits.for_target("ort-int8").max_latency_growth == 40

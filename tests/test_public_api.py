"""The public API's typed signatures: every option a keyword with the library's own default (no ``**kwargs``
that swallow a typo), so a misspelt option fails at once, and mypy sees it."""

from __future__ import annotations

import dataclasses
import inspect

import edgekit
from edgekit.bench.options import BenchOptions
from edgekit.data import DEFAULT_CALIBRATION_IMAGES
from edgekit.report.gate import Thresholds


def _keywords(function) -> dict[str, inspect.Parameter]:
    return {
        name: p
        for name, p in inspect.signature(function).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def test_no_public_call_takes_arbitrary_keywords():
    for name in ("export", "benchmark", "gate_check", "sweep", "compress_model"):
        kinds = {p.kind for p in inspect.signature(getattr(edgekit, name)).parameters.values()}
        assert inspect.Parameter.VAR_KEYWORD not in kinds, name


def test_benchmark_keywords_are_bench_options_fields_with_their_defaults():
    fields = {f.name: f.default for f in dataclasses.fields(BenchOptions)}
    keywords = _keywords(edgekit.benchmark)
    assert set(keywords) == set(fields)
    assert fields.pop("threads") is dataclasses.MISSING and keywords["threads"].default is None  # physical cores
    assert all(keywords[name].default == default for name, default in fields.items())


def test_gate_keywords_are_the_thresholds_and_export_uses_the_calibration_default():
    names = {f.name for f in dataclasses.fields(Thresholds)} - {"per_target"}  # per-target limits: the TOML file
    assert set(_keywords(edgekit.gate_check)) == names
    assert _keywords(edgekit.export)["calib_images"].default == DEFAULT_CALIBRATION_IMAGES


def test_compress_keywords_are_the_commands_options_or_a_plan():
    from edgekit.compress.options import PLAN_KEYS, CompressPlan, PruneOptions
    from edgekit.errors import EdgekitError

    assert set(_keywords(edgekit.compress_model)) == set(PLAN_KEYS) | {"plan"}
    try:
        edgekit.compress_model("nano-cls", "x.pt", plan=CompressPlan(prune=PruneOptions(0.5)), prune=0.3)
    except EdgekitError as exc:
        assert "either plan or options (prune)" in str(exc)
    else:
        raise AssertionError("plan and options together were accepted")

"""The gate never passes a run it cannot vouch for (issue 22, item 2): for any baseline, a current run that is
worse on a gated metric beyond its threshold, misses a baseline row, was scored on other data, holds two rows
of one label, or was timed with other settings is a failed verdict or one error, never a pass. Bad thresholds,
empty runs and missing machine probes are refused."""

from __future__ import annotations

import copy
import math

import pytest
from edgekit.errors import EdgekitError
from edgekit.report.confirm import run_gate
from edgekit.report.gate import Thresholds, load_thresholds
from edgekit.results import RESULTS_SCHEMA, ResultsDocument
from hypothesis import given
from hypothesis import strategies as st

TARGETS = ("onnx-fp32", "ort-int8", "openvino-int8", "tflite-int8")
DATA = {"name": "shapes-det/val", "images": 200}

positive = st.floats(0.5, 50.0, allow_nan=False)


@st.composite
def baselines(draw) -> dict:
    count = draw(st.integers(1, len(TARGETS)))
    rows = [
        {
            "target": target,
            "artifact": f"/nonexistent-edgekit-test/out/{target}",  # never a path a checkout can hold
            "status": "ok",
            "task": "detect",
            "latency_ms": {"p50": p50, "p90": p50 * 1.1, "p99": p50 * 1.3},
            "size_bytes": draw(st.integers(10_000, 10**8)),
            "dataset": dict(DATA),
            "metrics": {"map50_95": draw(st.floats(0.05, 0.95)), "map50": 0.9},
        }
        for target, p50 in zip(TARGETS[:count], (draw(positive) for _ in range(count)))
    ]
    environment = {
        "cpu": "test",
        "threads": 2,
        "latency_rounds": 5,
        "latency_runs": 50,
        "machine_probe_ms": {"p50": draw(positive)},
    }
    return {"schema": RESULTS_SCHEMA, "environment": environment, "results": rows}


def _worse(kind: str, row: dict, reference: dict, limits: Thresholds, excess: float) -> None:
    """Make ``row`` worse than its threshold by ``excess`` (a factor > 1) on the metric ``kind``."""
    if kind == "accuracy":
        row["metrics"]["map50_95"] -= (limits.max_accuracy_drop / 100) * excess + 1e-6
    elif kind == "size":
        row["size_bytes"] = math.ceil(row["size_bytes"] * (1 + limits.max_size_growth / 100 * excess)) + 1
    elif row is reference:  # the reference's own latency: against the machine probe
        row["latency_ms"]["p50"] *= 1 + limits.max_reference_latency_growth / 100 * excess + 1e-3
    else:
        row["latency_ms"]["p50"] *= 1 + limits.max_latency_growth / 100 * excess + 1e-3


def _breaks(kind: str, current: dict, which: int) -> None:
    """Make ``current`` uncomparable in the way ``kind`` names."""
    rows = current["results"]
    if kind == "missing row":
        rows.pop(which)
    elif kind == "other data":
        rows[which]["dataset"] = {"name": "coco/val", "images": 5000}
    elif kind == "duplicate label":
        rows.append(copy.deepcopy(rows[which]))
    elif kind == "other threads":
        current["environment"]["threads"] = 4
    elif kind == "other rounds":
        current["environment"]["latency_rounds"] = 3
    elif kind == "no probe":
        current["environment"].pop("machine_probe_ms")
    elif kind == "failed row":
        rows[which] = {
            "target": rows[which]["target"],
            "artifact": rows[which]["artifact"],
            "status": "bench failed: non-finite model outputs (NaN/inf) on 200 of 200 images",
        }


def _never_passes(baseline: dict, current: dict, limits: Thresholds) -> None:
    try:
        passed, verdict = run_gate(ResultsDocument.from_dict(baseline), ResultsDocument.from_dict(current), limits)
    except EdgekitError:
        return
    assert not passed, verdict


@given(baseline=baselines(), data=st.data())
def test_a_run_worse_beyond_a_threshold_never_passes(baseline, data):
    limits = Thresholds(
        max_size_growth=data.draw(st.floats(0, 50)),
        max_latency_growth=data.draw(st.floats(0, 80)),
        max_accuracy_drop=data.draw(st.floats(0, 5)),
    )
    current = copy.deepcopy(baseline)
    rows = current["results"]
    which = data.draw(st.integers(0, len(rows) - 1))
    kind = data.draw(st.sampled_from(["accuracy", "size", "latency"]))
    _worse(kind, rows[which], rows[0], limits, data.draw(st.floats(1.01, 10)))
    _never_passes(baseline, current, limits)


@given(baseline=baselines(), data=st.data())
def test_a_run_that_cannot_be_compared_never_passes(baseline, data):
    current = copy.deepcopy(baseline)
    which = data.draw(st.integers(0, len(current["results"]) - 1))
    kind = data.draw(
        st.sampled_from(
            ["missing row", "other data", "duplicate label", "other threads", "other rounds", "no probe", "failed row"]
        )
    )
    _breaks(kind, current, which)
    _never_passes(baseline, current, Thresholds())


@given(baseline=baselines())
def test_an_unchanged_run_passes(baseline):
    """The other half of soundness: the same numbers are a pass (so the properties above are not vacuous)."""
    passed, verdict = run_gate(ResultsDocument.from_dict(baseline), ResultsDocument.from_dict(baseline), Thresholds())
    assert passed, verdict


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_thresholds_are_refused(value):
    with pytest.raises(EdgekitError, match="finite"):
        load_thresholds(None, max_accuracy_drop=value)


def test_an_empty_baseline_is_refused_not_passed():
    empty = {"schema": RESULTS_SCHEMA, "environment": {"cpu": "test"}, "results": []}
    with pytest.raises(EdgekitError, match="no rows"):
        run_gate(ResultsDocument.from_dict(empty), ResultsDocument.from_dict(empty), Thresholds())

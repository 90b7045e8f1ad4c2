"""add_drops: children get drop and ratios against their parent row; the parent (even listed twice) gets none."""

from __future__ import annotations

import pytest

from edgekit.bench import add_drops


def _row(target: str, sha: str, parent: str, top1: float, p50: float, size: int) -> dict:
    return {"target": target, "status": "ok", "model_sha256": sha, "parent_sha256": parent, "dataset": {"n": 1},
            "metrics": {"top1": top1}, "latency_ms": {"p50": p50}, "size_bytes": size}


def test_child_gets_drop_and_ratios_parent_listed_twice_gets_none():
    rows = [_row("onnx-fp32", "p", "p", 0.9, 10.0, 400), _row("ort-int8", "c", "p", 0.88, 6.0, 100),
            _row("onnx-fp32", "p", "p", 0.9, 11.0, 400)]
    add_drops(rows)
    assert "drop" not in rows[0] and "drop" not in rows[2]
    assert rows[1]["drop"]["top1"] == pytest.approx(0.02)
    assert rows[1]["ratio"]["size"] == pytest.approx(0.25)
    assert rows[1]["ratio"]["p50"] == pytest.approx(6.0 / 11.0)  # the last listed parent row


def test_no_parent_in_the_run_means_no_drop():
    rows = [_row("ort-int8", "c", "p", 0.88, 6.0, 100)]
    add_drops(rows)
    assert "drop" not in rows[0] and "ratio" not in rows[0]

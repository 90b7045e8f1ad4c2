"""with_drops: children get drop and ratios against their parent row; the parent (even listed twice) gets none;
the rows given are left as they were."""

from __future__ import annotations

import pytest
from edgekit.results import BenchRow, Latency, with_drops


def _row(target: str, sha: str, parent: str, top1: float, p50: float, size: int) -> BenchRow:
    return BenchRow(
        target=target,
        artifact=f"out/{target}",
        status="ok",
        task="classify",
        model_sha256=sha,
        parent_sha256=parent,
        dataset={"name": "d", "images": 1},
        metrics={"top1": top1},
        latency=Latency(p50=p50, p90=p50, p99=p50),
        size_bytes=size,
    )


def test_child_gets_drop_and_ratios_parent_listed_twice_gets_none():
    rows = [
        _row("onnx-fp32", "p", "p", 0.9, 10.0, 400),
        _row("ort-int8", "c", "p", 0.88, 6.0, 100),
        _row("onnx-fp32", "p", "p", 0.9, 11.0, 400),
    ]
    out = with_drops(rows)
    assert not out[0].drop and not out[2].drop and out[0] is rows[0]
    assert out[1].drop["top1"] == pytest.approx(0.02) and out[1].parent == "onnx-fp32"
    assert out[1].ratio["size"] == pytest.approx(0.25)
    assert out[1].ratio["p50"] == pytest.approx(6.0 / 11.0)  # the last listed parent row
    assert not rows[1].drop  # no mutation


def test_no_parent_in_the_run_means_no_drop():
    out = with_drops([_row("ort-int8", "c", "p", 0.88, 6.0, 100)])
    assert not out[0].drop and not out[0].ratio and "drop" not in out[0].to_dict()

"""Contract over every registered target: export -> load on its runtime -> run -> accuracy close to FP32."""

from __future__ import annotations

import pytest

from edgekit.bench import BenchOptions, bench_artifact
from edgekit.exporting import export_model
from edgekit.manifest import Artifact
from edgekit.registry import TARGETS

#: accuracy a target may lose against the FP32 parent on the classifier's val split (points of top-1)
MAX_TOP1_DROP = 0.01
QUICK = BenchOptions(warmup=1, runs=3, min_seconds=0.0)


@pytest.fixture(scope="module")
def fp32_top1(artifacts):
    row, _ = bench_artifact(artifacts["nano-cls"], QUICK)
    return row["metrics"]["top1"]


@pytest.mark.slow
@pytest.mark.parametrize("target", list(TARGETS))
def test_target_contract(target, tmp_path, fp32_top1):
    rows = export_model("nano-cls", [target], tmp_path)
    assert rows[0].status == "ok", rows[0].status
    artifact = Artifact.load(tmp_path / target)
    assert artifact.manifest.target == target and artifact.model_path.is_file()
    row, _ = bench_artifact(tmp_path / target, QUICK)
    assert row["status"] == "ok" and row["size_bytes"] > 0
    assert fp32_top1 - row["metrics"]["top1"] <= MAX_TOP1_DROP

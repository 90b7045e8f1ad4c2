"""The gate identifies data by content, so a baseline made on one machine gates a run on another (other HOME,
other cache directory); two bench processes generating the built-in data at once both succeed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from edgekit.bench.harness import dataset_summary
from edgekit.cli import app
from edgekit.data.resolve import resolve_dataset
from edgekit.results import dataset_identity, load_results
from typer.testing import CliRunner

BASELINE = Path(__file__).parent.parent / "benchmarks" / "baseline.json"
runner = CliRunner()


def _bench(artifact: Path, home: Path, out: Path) -> subprocess.Popen:
    """``edgekit bench`` in a fresh process whose HOME and data cache are ``home`` (nothing generated yet)."""
    env = os.environ | {"HOME": str(home), "EDGEKIT_CACHE": str(home / ".cache" / "edgekit")}
    args = [
        sys.executable,
        "-m",
        "edgekit.cli",
        "bench",
        str(artifact),
        "--json",
        str(out),
        "--runs",
        "3",
        "--warmup",
        "1",
        "--min-seconds",
        "0",
        "--rounds",
        "1",
    ]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_gate_passes_across_caches_and_concurrent_generation_succeeds(artifacts, tmp_path):
    shared, other = tmp_path / "home-a", tmp_path / "home-b"
    runs = {
        "a1": _bench(artifacts["nano-det"], shared, tmp_path / "a1.json"),  # these two generate shapes-det
        "a2": _bench(artifacts["nano-det"], shared, tmp_path / "a2.json"),  # into one cache at the same time
        "b": _bench(artifacts["nano-det"], other, tmp_path / "b.json"),
    }
    for name, process in runs.items():
        output = process.communicate(timeout=600)[0]
        assert process.returncode == 0, f"{name}: {output}"
    a, b = load_results(tmp_path / "a1.json"), load_results(tmp_path / "b.json")
    assert a.rows[0].dataset["annotations"] != b.rows[0].dataset["annotations"]  # other paths
    assert a.rows[0].metrics == load_results(tmp_path / "a2.json").rows[0].metrics
    result = runner.invoke(
        app,
        [
            "gate",
            "--baseline",
            str(tmp_path / "a1.json"),
            "--current",
            str(tmp_path / "b.json"),
            "--max-reference-latency-growth",
            "-1",  # data identity here, not timing:
            "--max-busy-share",
            "100",  # the three benches ran at once, on purpose
            "--max-machine-shift",
            "-1",
        ],
    )
    assert result.exit_code == 0, result.output


def test_the_committed_baseline_names_the_data_this_cache_holds():
    """Whatever EDGEKIT_CACHE is, the built-in val split has the identity the committed baseline recorded."""
    here = dataset_identity(dataset_summary(resolve_dataset("shapes-det", "val")))
    rows = load_results(BASELINE).rows
    assert here["annotations_sha256"] and all(dataset_identity(row.dataset) == here for row in rows)
    assert "machine_probe_ms" in json.loads(BASELINE.read_text())["environment"]

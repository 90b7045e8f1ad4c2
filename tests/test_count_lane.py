"""The count lane: ``bench --count`` counts instructions per inference under real valgrind, and ``gate`` decides
on those counts whatever the machine's load (no re-timing, no "inconclusive"); counts from another valgrind or
runtime version are one error line, never compared."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import edgekit.report.confirm as confirm
import pytest
from edgekit.cli import app
from edgekit.errors import EdgekitError
from edgekit.report.confirm import judge
from edgekit.report.count_lane import COUNT_METRIC
from edgekit.report.gate import Thresholds
from edgekit.results import ResultsDocument, load_results
from gate_documents import BASE
from typer.testing import CliRunner

runner = CliRunner()
HAS_VALGRIND = shutil.which("valgrind") is not None and Path("/usr/include/valgrind/callgrind.h").is_file()


def _counted(document: dict, counts: dict[str, int], busy: float = 0.0, valgrind: str = "valgrind-3.19.0") -> dict:
    document = copy.deepcopy(document)
    document["environment"]["foreign_cpu_share"] = busy
    for row in document["results"]:
        row["instructions_per_inference"] = counts[row["target"]]
        row["count"] = {
            "instructions_per_inference": counts[row["target"]],
            "valgrind": valgrind,
            "runtime": "onnxruntime",
            "runtime_version": "1.31.1",
            "threads": 1,
        }
    return document


COUNTS = {"onnx-fp32": 113_511_329, "ort-int8": 103_254_197}


def _judge(current: dict, baseline: dict | None = None):
    base = ResultsDocument.from_dict(baseline or _counted(BASE, COUNTS))
    return judge(base, ResultsDocument.from_dict(current), Thresholds())


@pytest.fixture
def no_retiming(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the count lane never times anything again")

    monkeypatch.setattr(confirm, "retime", refuse)


def test_a_busy_machine_decides_on_counts(no_retiming):
    slower_wall_clock = _counted(BASE, COUNTS, busy=0.9)
    slower_wall_clock["results"][1]["latency_ms"].update(p50=12.0, p90=14.0, p99=15.0)  # 2.4x: the neighbours
    verdict = _judge(slower_wall_clock)
    assert verdict.status == "pass", verdict.markdown
    assert "(count lane)" in verdict.markdown and "the count lane decided" in verdict.markdown


@pytest.mark.parametrize("growth, status", [(1.015, "pass"), (1.05, "regression"), (1.37, "regression")])
def test_counted_growth_decides_even_on_a_busy_machine(no_retiming, growth, status):
    counts = {**COUNTS, "ort-int8": int(COUNTS["ort-int8"] * growth)}
    verdict = _judge(_counted(BASE, counts, busy=0.9))
    assert verdict.status == status, verdict.markdown
    assert f"| ort-int8 | {COUNT_METRIC} |" in verdict.markdown


def test_counts_from_another_valgrind_are_one_error_line(tmp_path):
    base, current = tmp_path / "base.json", tmp_path / "current.json"
    base.write_text(json.dumps(_counted(BASE, COUNTS)))
    current.write_text(json.dumps(_counted(BASE, COUNTS, valgrind="valgrind-3.22.0")))
    result = runner.invoke(app, ["gate", "--baseline", str(base), "--current", str(current)])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "valgrind 'valgrind-3.19.0' vs 'valgrind-3.22.0'" in lines[0]
    with pytest.raises(EdgekitError, match="runtime_version"):
        other = _counted(BASE, COUNTS)
        other["results"][0]["count"]["runtime_version"] = "1.30.0"
        _judge(other)


def test_one_run_without_counts_leaves_the_wall_clock_lane_deciding():
    verdict = _judge(copy.deepcopy(BASE))
    assert "(wall-clock lane)" in verdict.markdown and COUNT_METRIC not in verdict.markdown


def test_count_without_valgrind_is_one_line_naming_the_package(tmp_path):
    export = runner.invoke(app, ["export", "nano-det", "-t", "onnx-fp32", "-o", str(tmp_path / "out")])
    assert export.exit_code == 0, export.output
    bare = tmp_path / "bin"  # a PATH without valgrind (nor anything else)
    bare.mkdir()
    result = runner.invoke(app, ["bench", str(tmp_path / "out" / "onnx-fp32"), "--count"], env={"PATH": str(bare)})
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "apt-get install valgrind" in lines[0], result.output


def test_cache_simulation_dumps_become_instructions_and_estimated_cycles(tmp_path):
    """Three counted inferences of nano-det's ort-int8 dumped by callgrind 3.19 with --cache-sim=yes (this EPYC,
    valgrind's own cache guess; headers and totals kept), and the end-of-program dump, which is not one of them."""
    from edgekit.bench.count import _dumped_events, count_summary, estimated_cycles

    for dump in (Path(__file__).parent / "data" / "callgrind").iterdir():
        shutil.copy(dump, tmp_path / dump.name)
    events = _dumped_events(tmp_path)
    assert [item["Ir"] for item in events] == [103185131, 103201486, 103187053]
    assert estimated_cycles(events[0]) == 103185131 + 10 * (40595 + 518398 + 273766) + 100 * (1207 + 433 + 774)
    summary = count_summary(events, "onnxruntime", "1.31.1", "valgrind-3.19.0")
    assert summary["instructions_per_inference"] == 103187053 and summary["spread_pct"] < 0.02
    cycles = sorted(estimated_cycles(item) for item in events)
    assert summary["estimated_cycles_per_inference"] == cycles[1] > summary["instructions_per_inference"]
    assert summary["cycles_spread_pct"] < 0.05 and summary["cache_geometry"].startswith("--I1=32768,8,64")


def test_count_cache_without_count_is_one_line(tmp_path):
    result = runner.invoke(app, ["bench", str(tmp_path), "--count-cache"])
    assert result.exit_code == 2 and "count_cache (--count-cache) needs count (--count)" in result.output


@pytest.mark.slow
@pytest.mark.skipif(not HAS_VALGRIND, reason="needs valgrind with callgrind.h (Debian: valgrind; .ci/run installs it)")
def test_bench_count_records_repeatable_counts_under_real_valgrind(tmp_path):
    """Two artifacts, counted side by side (one valgrind process per core): each its own repeatable count. At 128
    px: valgrind runs ORT's FP32 kernels slowly (about 28 s an inference of nano-det at 256 px here)."""
    out = tmp_path / "out"
    targets = ["-t", "onnx-fp32", "-t", "ort-int8", "--imgsz", "128"]
    export = runner.invoke(app, ["export", "nano-det", *targets, "-o", str(out)])
    assert export.exit_code == 0, export.output
    results = tmp_path / "r.json"
    args = ["bench", str(out / "onnx-fp32"), str(out / "ort-int8"), "--count", "--count-cache", "--runs", "3"]
    args += ["--warmup", "1", "--min-seconds", "0"]
    result = runner.invoke(app, args + ["--json", str(results)], env={**os.environ})
    assert result.exit_code == 0, result.output
    row, int8_row = load_results(results).rows
    # spreads are under 0.03 % on an idle machine; under load the study (docs/gate.md) saw 3 of 360 at 0.20 %
    assert int8_row.count and int8_row.count["runtime"] == "onnxruntime" and int8_row.count["spread_pct"] < 0.5
    assert int8_row.instructions_per_inference != row.instructions_per_inference
    count = row.count or {}
    assert row.instructions_per_inference == count["instructions_per_inference"] > 10_000_000
    assert len(count["per_inference"]) == 3 and count["spread_pct"] < 0.5
    # the cycle estimate is a record, not a verdict: its spread is looser than the instructions' (1.1 % seen with
    # both cores busy), so it is held to a few per cent only
    assert count["estimated_cycles_per_inference"] > row.instructions_per_inference and count["cycles_spread_pct"] < 5
    assert count["valgrind"].startswith("valgrind-") and count["runtime"] == "onnxruntime" and count["threads"] == 1
    gate = runner.invoke(app, ["gate", "--baseline", str(results), "--current", str(results)])
    assert gate.exit_code == 0 and "(count lane)" in gate.output, gate.output

"""edgekit sweep end to end on nano-det with real converters and runtimes: one table timed in one run, the
gate and report read it, a re-run redoes nothing, an interrupted sweep resumes without redoing a finished
cell, and a worker killed mid-cell is retried."""

from __future__ import annotations

import json
import signal
import time

import psutil
import pytest
from edgekit.cli import app
from edgekit.results import load_results
from sweep_grids import SMALL, finished_cells, start_sweep, sweep_file
from typer.testing import CliRunner

pytestmark = pytest.mark.slow
runner = CliRunner()

WITH_PRUNING = SMALL.replace("[grid]\n", "[grid]\nprune = [0.0, 0.3]\nepochs = [0]\n").replace(
    '[[grid.calibration]]\nname = "c16"\ncalib_images = 16\n', ""
)


def test_a_sweep_is_one_table_timed_in_one_run_and_gate_and_report_read_it(tmp_path):
    path = sweep_file(tmp_path, "out", tmp_path / "store", WITH_PRUNING)
    result = runner.invoke(app, ["sweep", str(path), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    document = load_results(out / "results.json")
    # p0 and p0.3-e0, each: onnx-fp32 once, ort-int8 per calibration variant (c8, minmax-24)
    assert document.labels()[0] == "p0/onnx-fp32" and len(document.rows) == 6
    assert all(row.ok and row.latency is not None for row in document.rows)
    assert {row.cell["calibration"] for row in document.rows if row.target == "ort-int8"} == {"c8", "minmax-24"}
    pruned = [row for row in document.rows if row.cell["prune"] == 0.3]
    assert pruned and all(row.cell["macs_ratio"] < 0.9 for row in pruned)
    assert document.rows[0].cell["p50_vs_reference"] == 1.0
    assert all(0 < row.cell["size_vs_reference"] < 1 for row in document.rows[1:])
    assert "machine_probe_ms" in document.environment  # timed together, with the probe, in one run
    for name in ("results.md", "results.csv", "pareto.png", "compression.png", "sweep.json"):
        assert (out / name).stat().st_size > 0
    assert len((out / "results.csv").read_text().splitlines()) == 7
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["cells"]["ran"] == {"compress": 1, "export": 6, "score": 6, "timing": 1}
    results = str(out / "results.json")
    gate = runner.invoke(
        app,
        [
            "gate",
            "--baseline",
            results,
            "--current",
            results,
            "--reference",
            "p0/onnx-fp32",
            "--no-confirm",
            "--max-machine-shift",
            "-1",
            "--max-busy-share",
            "100",  # it checks that gate reads a sweep's rows; whether the machine was busy is not the question
        ],
    )  # rows and reading, not timing
    assert gate.exit_code == 0, gate.output
    report = runner.invoke(app, ["report", str(out / "results.json"), "--markdown", str(tmp_path / "r.md")])
    assert report.exit_code == 0 and "p0.3-e0" in (tmp_path / "r.md").read_text()
    again = runner.invoke(app, ["sweep", str(path), "--force"])
    assert again.exit_code == 0, again.output
    assert json.loads((out / "sweep.json").read_text())["cells"]["ran"] == {}
    assert load_results(out / "results.json").rows[1].metrics == document.rows[1].metrics


def _wait_for(condition, seconds: float = 300.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_an_interrupted_sweep_resumes_without_running_a_finished_cell_again(tmp_path):
    store = tmp_path / "store"
    path = sweep_file(tmp_path, "out", store)
    process = start_sweep(path)
    _wait_for(lambda: len(finished_cells(store, "export")) >= 2)  # half of the 4 conversions
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert not (tmp_path / "out").exists()  # nothing half-written
    before = {kind: finished_cells(store, kind) for kind in ("export", "score", "timing")}
    result = runner.invoke(app, ["sweep", str(path)])
    assert result.exit_code == 0, result.output
    cells = json.loads((tmp_path / "out" / "sweep.json").read_text())["cells"]
    for kind, done in before.items():
        assert cells["reused"].get(kind, 0) == len(done)  # counted: every finished cell reused...
        assert all(finished_cells(store, kind)[key] == mtime for key, mtime in done.items())  # ...not rewritten
    assert cells["ran"].get("export", 0) + len(before["export"]) == 4
    assert len(load_results(tmp_path / "out" / "results.json").rows) == 4


def test_a_local_worker_killed_mid_cell_is_retried_and_every_row_arrives(tmp_path):
    store = tmp_path / "store"
    process = start_sweep(sweep_file(tmp_path, "out", store), "--jobs", "2")
    sweep = psutil.Process(process.pid)

    def workers() -> list[psutil.Process]:
        return [child for child in sweep.children() if "spawn_main" in " ".join(child.cmdline())]

    _wait_for(lambda: len(workers()) == 2 and (store / "export").is_dir())
    time.sleep(2)  # inside a conversion
    victim = workers()[0]
    victim.kill()
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    document = load_results(tmp_path / "out" / "results.json")
    assert len(document.rows) == 4 and all(row.ok for row in document.rows)


def test_a_failed_cell_is_a_failed_row_and_the_sweep_goes_on(tmp_path):
    bogus = 'overrides = {{ ort-int8 = {{ activation_type = "QBogus" }} }}\n'
    broken = SMALL.replace('name = "c16"\ncalib_images = 16\n', 'name = "c16"\ncalib_images = 16\n' + bogus)
    result = runner.invoke(app, ["sweep", str(sweep_file(tmp_path, "out", tmp_path / "store", broken))])
    assert result.exit_code == 1, result.output  # written, with one failed row
    document = load_results(tmp_path / "out" / "results.json")
    failed = [row for row in document.rows if not row.ok]
    assert [row.cell["calibration"] for row in failed] == ["c16"] and "QBogus" in failed[0].status
    assert sum(row.ok for row in document.rows) == 3
    assert json.loads((tmp_path / "out" / "sweep.json").read_text())["cells"]["failed"] == {"export": 1, "score": 1}


SIZES = """model = "nano-det"
data = "shapes-det"
output = "{output}"
store = "{store}"
[grid]
prune = [0.0, 0.3]
epochs = [0]
imgsz = [256, 192]
targets = ["onnx-fp32"]
[bench]
rounds = 2
runs = 10
min_seconds = 0.1
warmup = 2
"""


def test_an_imgsz_axis_exports_each_variant_at_each_size_and_judges_the_pruned_ones(tmp_path):
    path = sweep_file(tmp_path, "out", tmp_path / "store", SIZES)
    result = runner.invoke(app, ["sweep", str(path), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    document = load_results(tmp_path / "out" / "results.json")
    assert document.labels() == [
        "p0@256/onnx-fp32",
        "p0@192/onnx-fp32",
        "p0.3-e0@256/onnx-fp32",
        "p0.3-e0@192/onnx-fp32",
    ]
    for label, row in zip(document.labels(), document.rows):
        size = row.cell["imgsz"]
        manifest = json.loads(
            (tmp_path / "out" / "artifacts" / label.split("/")[0] / "onnx-fp32" / "edgekit.json").read_text()
        )
        assert manifest["inputs"][0]["shape"] == [1, 3, size, size] and row.cell["source"] == "nano-det"
    unpruned = document.rows[:2]
    assert unpruned[0].metrics["map50_95"] != unpruned[1].metrics["map50_95"]  # scored at its own size
    for row in document.rows[2:]:
        assert row.cell["vs_smaller_input"]["verdict"] in ("dominates", "dominated", "no alternative at this p50")
        assert "vs_other_models" not in row.cell  # one model: no other to compare with
    assert "vs smaller input" in (tmp_path / "out" / "results.md").read_text()
    summary = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert summary["cells"]["ran"] == {"compress": 1, "export": 4, "score": 4, "timing": 1}
    assert summary["grid"]["imgsz"] == [256, 192]

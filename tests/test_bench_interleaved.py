"""Several artifacts are timed in turn (A, B, A, B, ...) so a machine's slow spells fall on all of them alike."""

from __future__ import annotations

from pathlib import Path

from edgekit.bench.harness import BenchOptions, open_for_timing, time_interleaved
from edgekit.bench.run import run_bench
from rich.console import Console


class _Recorder:
    """A real runtime session that also notes, in a shared list, when it ran."""

    def __init__(self, name: str, session, log: list[str]) -> None:
        self.name, self.session, self.log = name, session, log

    def run(self, batch):
        self.log.append(self.name)
        return self.session.run(batch)


def test_rounds_alternate_and_rotate_between_artifacts(artifacts):
    options = BenchOptions(warmup=1, runs=6, min_seconds=0.0, rounds=3)
    log: list[str] = []
    sessions = []
    for name in ("a", "b"):
        session, batch = open_for_timing(artifacts["nano-cls"], options)
        sessions.append((_Recorder(name, session, log), batch))
    latencies = time_interleaved(sessions, options)
    assert log[:2] == ["a", "b"]  # one warm-up each
    assert log[2:] == ["a"] * 2 + ["b"] * 2 + ["b"] * 2 + ["a"] * 2 + ["a"] * 2 + ["b"] * 2
    assert [lat.runs for lat in latencies] == [6, 6]
    assert all(
        lat.p50 > 0 and len(lat.round_p50) == 3 and lat.p50_best_round == min(lat.round_p50) for lat in latencies
    )


def test_run_bench_times_several_artifacts_in_turn(artifacts, tmp_path: Path):
    options = BenchOptions(warmup=1, runs=4, min_seconds=0.0, rounds=2)
    paths = [artifacts["nano-cls"], artifacts["nano-cls"]]
    document = run_bench(paths, options, tmp_path / "r.json", None, Console(quiet=True))
    assert document.environment["latency_rounds"] == 2
    assert [row.latency.runs for row in document.rows] == [4, 4]
    assert (tmp_path / "r.json").is_file()


def test_two_artifacts_of_one_target_save_predictions_to_two_files(artifacts, tmp_path):
    import json
    import shutil

    from edgekit.cli import app
    from typer.testing import CliRunner

    for folder in ("a", "b"):
        shutil.copytree(artifacts["nano-cls"], tmp_path / folder / "onnx-fp32")
    result = CliRunner().invoke(
        app,
        [
            "bench",
            str(tmp_path / "a" / "onnx-fp32"),
            str(tmp_path / "b" / "onnx-fp32"),
            "--save-predictions",
            str(tmp_path / "p.json"),
            "--runs",
            "2",
            "--warmup",
            "1",
            "--min-seconds",
            "0",
            "--rounds",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    saved = sorted(p.name for p in tmp_path.glob("p-*.json"))
    assert saved == ["p-a-onnx-fp32.json", "p-b-onnx-fp32.json"]
    assert json.loads((tmp_path / saved[0]).read_text()) == json.loads((tmp_path / saved[1]).read_text())

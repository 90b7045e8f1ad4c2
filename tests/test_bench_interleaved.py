"""Several artifacts are timed in turn (A, B, A, B, ...) so a machine's slow spells fall on all of them alike."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from edgekit.bench import BenchOptions, open_for_timing, time_interleaved
from edgekit.bench_run import run_bench


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
    assert [lat["runs"] for lat in latencies] == [6, 6]
    assert all(lat["p50"] > 0 for lat in latencies)


def test_run_bench_times_several_artifacts_in_turn(artifacts, tmp_path: Path):
    options = BenchOptions(warmup=1, runs=4, min_seconds=0.0, rounds=2)
    paths = [artifacts["nano-cls"], artifacts["nano-cls"]]
    document = run_bench(paths, options, tmp_path / "r.json", None, Console(quiet=True))
    assert document["environment"]["latency_rounds"] == 2
    assert [row["latency_ms"]["runs"] for row in document["results"]] == [4, 4]
    assert (tmp_path / "r.json").is_file()

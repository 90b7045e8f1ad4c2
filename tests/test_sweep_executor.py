"""The local executor runs each cell in a process of its own: a cell whose process dies is the only one charged
an attempt. Before, one dead worker broke the whole process pool and every cell in flight was charged (with no
retries left, all of them failed)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from edgekit.sweeps.executors import LocalExecutor


def _score_spec(store: Path, key: str, artifact: Path) -> dict:
    bench = {"data": "shapes-det", "runs": 1, "warmup": 0, "min_seconds": 0.0, "rounds": 1}
    return {"kind": "score", "key": key, "store": str(store), "artifact": str(artifact), "bench": bench}


def test_a_dead_cell_process_charges_only_that_cell(tmp_path, artifacts):
    executor = LocalExecutor(jobs=2, max_retries=0)
    try:
        jobs = [executor.submit(_score_spec(tmp_path / "store", f"cell{i}", artifacts["nano-det"])) for i in (0, 1)]
        assert len(executor.worker_pids()) == 2
        time.sleep(1.0)  # both started
        os.kill(executor.worker_pids()[0], signal.SIGKILL)
        finished: list = []
        deadline = time.monotonic() + 300
        while len(finished) < 2 and time.monotonic() < deadline:
            finished += executor.wait_any([job for job in jobs if job not in finished], timeout=1.0)
    finally:
        executor.close(cancel=True)
    records = {job.spec["key"]: job.record for job in jobs}
    assert "its worker died 1 time(s)" in records["cell0"]["error"]
    assert "row" in records["cell1"], records["cell1"]  # the cell beside it was not charged


def test_at_most_jobs_cells_run_at_once_and_the_rest_wait(tmp_path, artifacts):
    executor = LocalExecutor(jobs=1)
    try:
        jobs = [executor.submit(_score_spec(tmp_path / "store", f"c{i}", artifacts["nano-det"])) for i in range(3)]
        assert len(executor.worker_pids()) == 1
        finished: list = []
        deadline = time.monotonic() + 300
        while len(finished) < 3 and time.monotonic() < deadline:
            finished += executor.wait_any([job for job in jobs if job not in finished], timeout=1.0)
            assert len(executor.worker_pids()) <= 1
    finally:
        executor.close(cancel=True)
    assert all("row" in job.record for job in jobs)

"""edgekit sweep on a real two-node Ray cluster (head + a second node on 127.0.0.1, one CPU and one bench_slot
each, inside a loopback-only network namespace started by the test): the grid finishes with the same accuracy
as the local executor, and a Ray worker killed mid-cell is retried so every row still arrives."""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path

import psutil
import pytest

from edgekit.results import load_results
from loopback import LoopbackNamespace, unavailable
from sweep_grids import metrics_by_label, start_sweep, sweep_file

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray")
PORT = 6391


def _ray_start(ns: LoopbackNamespace, env: dict[str, str], head: bool) -> None:
    binary = str(Path(sys.executable).parent / "ray")
    node = [
        "--num-cpus=1",
        '--resources={"bench_slot": 1}',
        "--disable-usage-stats",
        "--node-ip-address=127.0.0.1",
        "--object-store-memory=200000000",
    ]
    where = ["--head", f"--port={PORT}", "--include-dashboard=false"] if head else [f"--address=127.0.0.1:{PORT}"]
    result = ns.run([binary, "start", *where, *node], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]


def _ray_workers_running_a_cell() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if "ray::run_spec" in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def test_ray_two_node_sweep_matches_the_local_executor_and_survives_a_killed_worker(tmp_path):
    why = unavailable()
    if why:
        pytest.skip(f"no loopback network namespace for the Ray cluster: {why}")
    local = start_sweep(sweep_file(tmp_path, "local", tmp_path / "store-local"), "--jobs", "2")
    _, stderr = local.communicate(timeout=600)
    assert local.returncode == 0, stderr
    env = {
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
    }
    import os

    env = os.environ | env
    with LoopbackNamespace() as ns:
        _ray_start(ns, env, head=True)
        _ray_start(ns, env, head=False)
        process = start_sweep(
            sweep_file(tmp_path, "ray", tmp_path / "store-ray"),
            "--executor",
            "ray",
            "--address",
            f"127.0.0.1:{PORT}",
            prefix=ns.prefix(),
            env=env,
        )
        deadline = time.monotonic() + 300
        while not _ray_workers_running_a_cell() and process.poll() is None:
            assert time.monotonic() < deadline, "no Ray worker ever ran a cell"
            time.sleep(0.2)
        time.sleep(2)  # inside the cell
        killed = _ray_workers_running_a_cell()[:1]
        for worker in killed:
            worker.kill()
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
    assert killed, "the sweep ended before a worker could be killed"
    document = load_results(tmp_path / "ray" / "results.json")
    assert len(document.rows) == 4 and all(row.ok for row in document.rows)
    assert document.environment["sweep"]["executor"] == "ray"
    assert metrics_by_label(tmp_path / "ray") == metrics_by_label(tmp_path / "local")  # identical accuracy

"""edgekit sweep on a real two-node Ray cluster (head + a second node on 127.0.0.1, one CPU and one bench_slot
each, inside a loopback-only network namespace started by the test): the grid finishes with the same accuracy
as the local executor, a Ray worker killed mid-cell is retried so every row still arrives, and so does every row
when a whole node dies (its raylet killed): Ray saw it gone after 19 s here, and ran its cells on the head."""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path
from typing import Any

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


def _ray_env() -> dict[str, str]:
    """This environment plus what the test cluster and the sweep need: no usage stats, token auth, Ray on PATH."""
    import os

    return os.environ | {
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
    }


def _sweep_on_two_nodes(ns: LoopbackNamespace, env: dict[str, str], tmp_path: Path, store: Path) -> Any:
    """A head and a second node started in ``ns``, and the Ray sweep (output ``tmp_path/ray``) on them."""
    _ray_start(ns, env, head=True)
    _ray_start(ns, env, head=False)
    return start_sweep(
        sweep_file(tmp_path, "ray", store),
        "--executor",
        "ray",
        "--address",
        f"127.0.0.1:{PORT}",
        prefix=ns.prefix(),
        env=env,
    )


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
    env = _ray_env()
    with LoopbackNamespace() as ns:
        process = _sweep_on_two_nodes(ns, env, tmp_path, tmp_path / "store-ray")
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


def _second_raylet() -> psutil.Process | None:
    """The raylet of the node that is not the head (its command line has no ``--head``)."""
    for process in psutil.process_iter(["cmdline"]):
        args = process.info["cmdline"] or []
        if args and args[0].endswith("raylet") and "--head" not in args:
            return process
    return None


def _active_nodes(ns: LoopbackNamespace, env: dict[str, str]) -> int:
    binary = str(Path(sys.executable).parent / "ray")
    status = ns.run([binary, "status", f"--address=127.0.0.1:{PORT}"], capture_output=True, text=True, env=env)
    active = status.stdout.split("Active:", 1)[-1].split("Pending:", 1)[0]
    return sum(1 for line in active.splitlines() if line.strip().startswith("1 node_"))


def test_a_whole_ray_node_dying_mid_sweep_still_gives_every_row(tmp_path):
    """The second node's raylet is killed while cells run (the node, not one worker): Ray marks the node dead,
    runs its cells again on the head, and the sweep finishes with every row. How long Ray took to see the node
    gone is printed (``-s`` shows it)."""
    why = unavailable()
    if why:
        pytest.skip(f"no loopback network namespace for the Ray cluster: {why}")
    env = _ray_env()
    with LoopbackNamespace() as ns:
        process = _sweep_on_two_nodes(ns, env, tmp_path, tmp_path / "store")
        deadline = time.monotonic() + 300
        while len(_ray_workers_running_a_cell()) < 2 and process.poll() is None:
            assert time.monotonic() < deadline, "the cells never ran on both nodes"
            time.sleep(0.2)
        raylet = _second_raylet()
        assert raylet is not None
        # `ray status` reads the autoscaler's report, which can list the second node seconds after its workers run
        while _active_nodes(ns, env) != 2:
            assert time.monotonic() < deadline, "ray status never listed both nodes"
            time.sleep(0.5)
        killed_at = time.monotonic()
        raylet.kill()
        while _active_nodes(ns, env) != 1:
            assert time.monotonic() - killed_at < 120, "Ray never saw the node die"
            time.sleep(0.5)
        print(f"Ray saw the node gone after {time.monotonic() - killed_at:.1f} s")
        # one 1-CPU node is left for every cell: with both cores busy it ran past 10 min while progressing
        _, stderr = process.communicate(timeout=1800)
        assert process.returncode == 0, stderr[-3000:]
    document = load_results(tmp_path / "ray" / "results.json")
    assert len(document.rows) == 4 and all(row.ok for row in document.rows)

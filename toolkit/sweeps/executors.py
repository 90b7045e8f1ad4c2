"""Executors run sweep cells: submit a cell spec, wait for any to finish, read its record.

``LocalExecutor`` is a process pool on this machine; ``RayExecutor`` sends cells to a Ray cluster (the
``[ray]`` extra). Both retry a cell whose worker died (killed, out of memory) up to ``max_retries`` times; a
cell's own failure is its record's ``error``, never retried. A cell submitted ``exclusive`` is the timing run:
the driver submits it alone, and Ray places it on a node's single ``bench_slot`` resource.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import EdgekitError, describe, first_line

MAX_RETRIES = 2
BENCH_SLOT = "bench_slot"


@dataclass(eq=False)
class Job:
    """A submitted cell: its spec, how often it was tried, and the executor's handle."""

    spec: dict[str, Any]
    exclusive: bool = False
    attempts: int = 0
    handle: Any = None
    record: dict[str, Any] | None = field(default=None)


class Executor(Protocol):
    """What the sweep driver needs of an executor."""

    name: str

    def submit(self, spec: dict[str, Any], exclusive: bool = False) -> Job: ...

    def wait_any(self, jobs: list[Job], timeout: float) -> list[Job]:
        """The jobs among ``jobs`` that finished (their ``record`` set), waiting at most ``timeout`` s."""

    def close(self, cancel: bool = False) -> None: ...


def _share_cores(threads: int) -> None:
    """In each pool worker: torch and OpenMP use ``threads`` (the cores divided by the jobs), unless the user set
    ``OMP_NUM_THREADS``; side-by-side cells then do not oversubscribe the CPU. Timing sets its own threads."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))


def _died(job: Job, why: str) -> dict[str, Any]:
    return {"error": f"its worker died {job.attempts} time(s) ({why}); not retried again"}


def _run_in_child(spec: dict[str, Any], conn: Any, threads: int) -> None:
    """A cell's own process: run it and send its record back (a dead process sends nothing)."""
    _share_cores(threads)
    from .cells import run_spec

    conn.send(run_spec(spec))
    conn.close()


class LocalExecutor:
    """Cells in processes of their own on this machine, at most ``jobs`` at a time. A cell whose process dies
    (killed, out of memory) is the only one charged an attempt and sent again; the cells beside it go on."""

    name = "local"

    def __init__(self, jobs: int = 1, max_retries: int = MAX_RETRIES) -> None:
        import multiprocessing

        if jobs < 1 or jobs > 256:
            raise EdgekitError(f"--jobs must be 1..256, got {jobs}")
        self.jobs = jobs
        self.max_retries = max_retries
        self._context = multiprocessing.get_context("spawn")
        self._threads = max(1, (os.cpu_count() or 1) // jobs)
        self._queued: list[Job] = []
        self._running: list[Job] = []

    def _start_queued(self) -> None:
        while self._queued and len(self._running) < self.jobs:
            job = self._queued.pop(0)
            receive, send = self._context.Pipe(duplex=False)
            process = self._context.Process(target=_run_in_child, args=(job.spec, send, self._threads), daemon=True)
            job.attempts += 1
            process.start()
            send.close()  # the child holds its own end: a dead child then reads as end of file here
            job.handle = (process, receive)
            self._running.append(job)

    def submit(self, spec: dict[str, Any], exclusive: bool = False) -> Job:
        job = Job(spec, exclusive)
        self._queued.append(job)
        self._start_queued()
        return job

    def worker_pids(self) -> list[int]:
        """The processes of the cells running now (the tests kill one)."""
        return [job.handle[0].pid for job in self._running]

    def _collect(self, job: Job) -> bool:
        """Read a finished job's record; a dead one is sent again or failed past its retries. True when done."""
        process, receive = job.handle
        try:
            job.record = receive.recv()
        except (EOFError, OSError):
            job.record = None
        receive.close()
        process.join(timeout=10)
        self._running.remove(job)
        if job.record is not None:
            return True
        if job.attempts > self.max_retries:
            job.record = _died(job, f"exit code {process.exitcode}")
            return True
        self._queued.append(job)
        return False

    def wait_any(self, jobs: list[Job], timeout: float) -> list[Job]:
        from multiprocessing.connection import wait as wait_ready

        self._start_queued()
        running = [job for job in jobs if job in self._running]
        ready = wait_ready([job.handle[1] for job in running], timeout=timeout) if running else []
        finished = [job for job in running if job.handle[1] in ready and self._collect(job)]
        self._start_queued()
        return finished

    def close(self, cancel: bool = False) -> None:
        self._queued.clear()
        for job in list(self._running):
            process, receive = job.handle
            if cancel:
                process.kill()
            process.join()
            receive.close()
        self._running.clear()


def _check_answers(address: str) -> None:
    """One error line when nothing listens at ``host:port`` (ray.init would wait a long time first)."""
    if address == "auto":  # Ray finds the cluster itself
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise EdgekitError(f"--address must be host:port, got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as exc:
        raise EdgekitError(f"the Ray cluster at {address} does not answer ({exc.strerror or exc})") from None


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EdgekitError(
            "--executor ray needs Ray: pip install 'edgekit-deploy[ray]' (the local executor needs nothing more)"
        ) from None
    return ray


class RayExecutor:
    """Cells as Ray tasks: ``address`` names a running cluster (``ray start --head``), else a local one is
    started for this sweep. Ray retries a task whose worker died (``max_retries``)."""

    name = "ray"

    def __init__(self, address: str | None = None, max_retries: int = MAX_RETRIES) -> None:
        ray = _ray()
        if address:
            _check_answers(address)
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if not address:
            options["resources"] = {BENCH_SLOT: 1}
        try:
            ray.init(address=address or "local", **options)  # "local": a new cluster, never one found on disk
        except Exception as exc:  # noqa: BLE001 - ray.init raises ConnectionError, RuntimeError, ValueError, ...
            first = first_line(exc)
            raise EdgekitError(
                f"could not join the Ray cluster at {address or 'a new local cluster'}: {first} "
                "(a cluster with token authentication needs its RAY_AUTH_TOKEN here too)"
            ) from None
        if not ray.cluster_resources().get(BENCH_SLOT):
            ray.shutdown()
            raise EdgekitError(
                f"the Ray cluster has no {BENCH_SLOT!r} resource: start each node with "
                f"--resources='{{\"{BENCH_SLOT}\": 1}}' (one timing run per node at a time)"
            )
        from .cells import run_spec

        self._ray = ray
        self._task = ray.remote(num_cpus=1, max_retries=max_retries)(run_spec)
        self._jobs: list[Job] = []

    def submit(self, spec: dict[str, Any], exclusive: bool = False) -> Job:
        job = Job(spec, exclusive, attempts=1)
        options = {"resources": {BENCH_SLOT: 1}} if exclusive else {}
        job.handle = self._task.options(**options).remote(spec)
        self._jobs.append(job)
        return job

    def wait_any(self, jobs: list[Job], timeout: float) -> list[Job]:
        by_ref = {job.handle: job for job in jobs}
        done, _ = self._ray.wait(list(by_ref), num_returns=1, timeout=timeout)
        finished = []
        for ref in done:
            job = by_ref[ref]
            try:
                job.record = self._ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - the worker died more often than max_retries
                job.record = {"error": f"Ray could not run it: {describe(exc)}"}
            finished.append(job)
        return finished

    def close(self, cancel: bool = False) -> None:
        if cancel:
            for job in self._jobs:
                if job.record is None:
                    self._ray.cancel(job.handle, force=True)
        self._ray.shutdown()


def make_executor(name: str, jobs: int = 1, address: str | None = None) -> Executor:
    """``local`` (a process pool of ``jobs``) or ``ray`` (``address``: an existing cluster)."""
    if name == "local":
        if address:
            raise EdgekitError("--address is for --executor ray")
        return LocalExecutor(jobs)
    if name == "ray":
        return RayExecutor(address)
    raise EdgekitError(f"unknown executor {name!r}: local or ray")

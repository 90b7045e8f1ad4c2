"""The shared bench harness: load, first inference, peak RSS, size and accuracy of one artifact; warm-up and
timed runs of several in interleaved rounds; the results document. (Drops: ``edgekit.results.with_drops``.)

Device side: numpy + one runtime. Nothing here imports torch or tensorflow.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..data.preprocess import read_image
from ..data.resolve import resolve_dataset
from ..errors import EdgekitError
from ..manifest import Artifact, host_environment
from ..provenance import provenance
from ..registry import get_runtime
from ..results import BenchRow, Latency, ResultsDocument
from ..tasks.detection import EVALUATION_PRESETS, DetectionDecoding
from ..tasks.evaluation import evaluate
from ..tasks.registry import TASKS
from ..version import __version__
from .foreign import foreign_artifact, is_foreign
from .options import BenchOptions as BenchOptions  # re-exported: callers import it from here too
from .sessions import open_session


class PeakMemory:
    """Peak resident set size of this process, reset per artifact where Linux allows it."""

    def __init__(self) -> None:
        self._resettable = self._reset()
        import psutil

        self._process = psutil.Process()
        self._sampled = int(self._process.memory_info().rss)

    @staticmethod
    def _reset() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")  # resets VmHWM, the kernel's peak RSS
            return True
        except OSError:
            return False

    def sample(self) -> None:
        self._sampled = max(self._sampled, int(self._process.memory_info().rss))

    def peak(self) -> int:
        self.sample()
        if self._resettable:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return max(int(line.split()[1]) * 1024, self._sampled)
        return self._sampled


def latency_stats(seconds: list[float], warmup: int, round_p50: list[float] | None = None) -> Latency:
    """Percentiles and moments of timed runs, in milliseconds; with each interleaved round's p50 (and the
    fastest of them, ``p50_best_round``: a busy neighbour on a shared machine can only slow a round down, so
    the fastest round's median is the steadiest estimate of what the model itself costs)."""
    ms = np.asarray(seconds) * 1000.0
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    rounds = tuple(round_p50 or ())
    return Latency(
        p50=float(p50),
        p90=float(p90),
        p99=float(p99),
        mean=float(ms.mean()),
        std=float(ms.std()),
        runs=int(ms.size),
        warmup=warmup,
        round_p50=rounds,
        p50_best_round=min(rounds) if rounds else None,
    )


def _timed_slice(session: Any, batch: np.ndarray, runs: int, min_seconds: float, max_runs: int) -> list[float]:
    """Seconds of each run until both ``runs`` and ``min_seconds`` are reached (at most ``max_runs``)."""
    timings: list[float] = []
    start = time.perf_counter()
    while len(timings) < max_runs and (len(timings) < runs or time.perf_counter() - start < min_seconds):
        t0 = time.perf_counter()
        session.run(batch)
        timings.append(time.perf_counter() - t0)
    return timings


#: how a run's sessions are timed: (session, timing input) pairs and the options in, one Latency each out
TimingStrategy = Callable[[list[tuple[Any, Any]], BenchOptions], list[Latency]]


def time_interleaved(sessions: list[tuple[Any, Any]], options: BenchOptions) -> list[Latency]:
    """Latency of several (session, batch) pairs timed in turn over ``options.rounds`` slices each.

    Every session is warmed up first; each round times every session for ``1/rounds`` of the runs and seconds,
    starting one session later than the round before, so slow spells of a shared machine fall on all of them.
    Each result also carries ``round_p50`` and ``p50_best_round``.
    """
    for session, batch in sessions:
        for _ in range(options.warmup):
            session.run(batch)
    rounds = max(1, options.rounds)
    runs, seconds = -(-options.runs // rounds), options.min_seconds / rounds
    slices: list[list[list[float]]] = [[] for _ in sessions]
    for round_index in range(rounds):
        for offset in range(len(sessions)):
            index = (round_index + offset) % len(sessions)
            session, batch = sessions[index]
            slices[index].append(_timed_slice(session, batch, runs, seconds, options.max_runs // rounds))
    return [
        latency_stats(
            [t for part in parts for t in part], options.warmup, [float(np.median(part)) * 1000.0 for part in parts]
        )
        for parts in slices
    ]


class MachineProbe:
    """A fixed numpy workload (a 256x1024 @ 1024x256 float32 matmul) timed in turn with the artifacts.

    Its latency says how fast this machine was during this run, so ``edgekit gate`` can see a slowdown that
    hits every artifact alike (the reference included), which ratios to the reference cannot.
    """

    threads = 0  # numpy's own BLAS threads

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self._a = rng.standard_normal((256, 1024), dtype=np.float32)
        self._b = rng.standard_normal((1024, 256), dtype=np.float32)

    def run(self, batch: Any) -> list[np.ndarray]:
        return [self._a @ self._b]


class CpuContention:
    """Share of CPU time that other processes used while the block ran (0: idle neighbours, 0.5 on 2 cores:
    one core kept busy), over the CPUs this process may run on (its affinity: a container's cpuset, not the
    host's every core), from their busy times and this process's own CPU time (psutil). ``children``: the
    children it waited for in the block (a counting valgrind, say) are its own too, not others."""

    def __init__(self, children: bool = False) -> None:
        self._children = children

    def _own_seconds(self) -> float:
        times = self._process.cpu_times()
        return float(sum(times[:4] if self._children else times[:2]))

    def __enter__(self) -> CpuContention:
        import psutil

        self._process = psutil.Process()
        self._cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        self._start = (time.perf_counter(), self._busy_seconds(), self._own_seconds())
        self.share: float | None = None
        return self

    def _busy_seconds(self) -> float:
        import psutil

        per_cpu = psutil.cpu_times(percpu=True)
        chosen = [per_cpu[i] for i in self._cpus if i < len(per_cpu)] if self._cpus else per_cpu
        idle = ("idle", "iowait", "guest", "guest_nice")  # guest time is counted in user already
        return float(sum(value for times in chosen for name, value in times._asdict().items() if name not in idle))

    def __exit__(self, *exc: Any) -> None:
        wall = time.perf_counter() - self._start[0]
        others = self._busy_seconds() - self._start[1] - (self._own_seconds() - self._start[2])
        capacity = wall * (len(self._cpus) if self._cpus else os.cpu_count() or 1)
        self.share = min(max(others / capacity, 0.0), 1.0) if capacity > 0 else None


def time_with_probe(
    sessions: list[tuple[Any, Any]], options: BenchOptions, timing: TimingStrategy = time_interleaved
) -> tuple[list[Latency], Latency, float | None]:
    """``sessions`` and the machine probe timed together by ``timing``: each session's latency, the probe's, and
    the share of CPU other processes took meanwhile (``CpuContention``)."""
    with CpuContention() as contention:
        latencies = timing(sessions + [(MachineProbe(), None)], options)
    return latencies[:-1], latencies[-1], contention.share


def dataset_summary(dataset: Any) -> dict[str, Any]:
    """Which data a row was scored on: name, image count and a sha256 of the scored labels (the gate's
    identity of data), as the dataset's type describes itself."""
    return dataset.summary()  # type: ignore[no-any-return]


def _timing_batch(artifact: Artifact, dataset: Any) -> np.ndarray:
    """The input every timed run uses: the val split's first image, preprocessed as the artifact expects."""
    return artifact.manifest.preprocessing.apply(read_image(dataset.image_paths[0]))[0][None]


def open_artifact(path: Path, options: BenchOptions) -> Artifact:
    """An edgekit artifact directory, or a model file / export folder from another tool (see ``foreign``)."""
    if is_foreign(path):
        return foreign_artifact(path, data=options.data, task=options.task, imgsz=options.imgsz)
    return Artifact.load(path)


def timing_batch(artifact: Artifact, options: BenchOptions) -> np.ndarray:
    """The timing input of ``artifact`` in a run with ``options`` (the data option, else the manifest's)."""
    return _timing_batch(artifact, resolve_dataset(options.data or artifact.manifest.dataset, "val"))


def open_for_timing(path: Path, options: BenchOptions, artifact: Artifact | None = None) -> tuple[Any, np.ndarray]:
    """A fresh session of the artifact at ``path`` (``artifact``: already opened) and its timing input (for
    ``time_interleaved``)."""
    artifact = artifact or open_artifact(path, options)
    return open_session(artifact, options.threads), timing_batch(artifact, options)


def _decoding(manifest: Any, options: BenchOptions) -> DetectionDecoding | None:
    """The detector evaluation settings a row is scored with: the preset's, else the manifest's."""
    if not TASKS[manifest.task].decoded:
        return None
    own = DetectionDecoding.from_dict(manifest.decoding or {})
    if options.preset:  # the preset's thresholds; the model's own output format and box units
        return dataclasses.replace(EVALUATION_PRESETS[options.preset], format=own.format, box_scale=own.box_scale)
    return own


def score_artifact(
    path: Path, options: BenchOptions, tick: Any = None, artifact: Artifact | None = None
) -> tuple[BenchRow, list[Any]]:
    """Load, first inference, peak RSS and accuracy of one artifact: its row (no latency yet: a run times all
    its artifacts together, see ``edgekit.bench.run``) and its predictions. Bad input raises ``EdgekitError``.

    The session is released at the end, so the next artifact's peak RSS is its own; timing opens a second one.
    """
    artifact = artifact or open_artifact(path, options)
    manifest = artifact.manifest
    data_spec = options.data or manifest.dataset
    if not data_spec:
        raise EdgekitError(f"{path}: no dataset recorded in the manifest; pass --data")
    dataset = resolve_dataset(data_spec, "val")
    runtime = get_runtime(manifest.runtime)
    memory = PeakMemory()
    t0 = time.perf_counter()
    session = open_session(artifact, options.threads)
    load_s = time.perf_counter() - t0
    batch = _timing_batch(artifact, dataset)
    t0 = time.perf_counter()
    session.run(batch)
    first_s = time.perf_counter() - t0
    memory.sample()
    decoding = _decoding(manifest, options)
    metrics, predictions = evaluate(session, manifest.card, dataset, tick, decoding)
    row = BenchRow(
        target=manifest.target,
        artifact=str(path),
        status="ok",
        runtime=manifest.runtime,
        runtime_version=runtime.version(),
        task=manifest.task,
        size_bytes=artifact.size_bytes,
        load_s=load_s,
        first_inference_s=first_s,
        threads=session.threads,
        peak_rss_bytes=memory.peak(),
        metrics=metrics,
        dataset=dataset_summary(dataset),
        evaluation={"preset": options.preset or "manifest", **decoding.to_dict()} if decoding else None,
        model_sha256=manifest.model_sha256,
        parent_sha256=manifest.parent_sha256,
        accuracy_budget=manifest.notes.get("accuracy_budget"),
    )
    del session
    gc.collect()
    return row, predictions


def results_document(
    rows: list[BenchRow], options: BenchOptions, machine_probe: Latency | None = None, contention: float | None = None
) -> ResultsDocument:
    """The ``--json`` document: environment (with the machine probe's latency and the CPU share other
    processes took while timing) and rows."""
    runtimes = sorted({f"{r.runtime} {r.runtime_version}" for r in rows if r.ok})
    environment = host_environment() | {
        "edgekit": __version__,
        "threads": options.threads,
        "latency_rounds": options.rounds,
        "latency_runs": options.runs,
        "latency_warmup": options.warmup,
        "latency_min_seconds": options.min_seconds,
        "runtimes": runtimes,
        "pid": os.getpid(),
        "provenance": provenance(),
    }
    if machine_probe:
        environment["machine_probe_ms"] = machine_probe.to_dict()
    if contention is not None:
        environment["foreign_cpu_share"] = round(contention, 4)
    return ResultsDocument(environment=environment, rows=tuple(rows))

"""One bench run: score each artifact, time them all together, add drops; with a progress bar, then write JSON
and predictions atomically."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from ..data.resolve import resolve_dataset
from ..errors import EdgekitError, describe
from ..fsutil import check_replaceable, write_text_atomic
from ..manifest import Artifact
from ..results import BenchRow, Latency, ResultsDocument, row_labels, with_drops
from .device_state import device_state, throttling
from .harness import (
    TimingStrategy,
    open_artifact,
    open_for_timing,
    results_document,
    score_artifact,
    time_interleaved,
    time_with_probe,
    timing_batch,
)
from .options import BenchOptions, physical_cores


def predictions_paths(base: Path, labels: list[str]) -> list[Path]:
    """One predictions file per benched artifact: ``base`` itself for one, ``base-LABEL`` for several
    (labels made unique, so two artifacts of one target never share a file)."""
    if len(labels) == 1:
        return [base]
    names = [label.replace("/", "-") for label in labels]
    names = [f"{name}-{i}" if names.count(name) > 1 else name for i, name in enumerate(names)]
    return [base.with_name(f"{base.stem}-{name}{base.suffix}") for name in names]


def _time_together(
    rows: list[BenchRow], artifacts: dict[str, Artifact], options: BenchOptions, timing: TimingStrategy
) -> tuple[list[BenchRow], Latency, float | None]:
    """The rows with their latency, every "ok" artifact and the machine probe timed by ``timing`` (sessions
    held meanwhile); the probe's latency; the share of CPU other processes took meanwhile."""
    sessions = [open_for_timing(Path(row.artifact), options, artifacts[row.artifact]) for row in rows if row.ok]
    measured, probe, share = time_with_probe(sessions, options, timing)
    del sessions
    latencies = iter(measured)
    return [dataclasses.replace(row, latency=next(latencies)) if row.ok else row for row in rows], probe, share


def with_counts(
    rows: list[BenchRow], artifacts: dict[str, Artifact], options: BenchOptions, valgrind: str
) -> list[BenchRow]:
    """Each "ok" row with its instructions per inference counted under ``valgrind`` (its version;
    ``edgekit.bench.count``); a row whose runtime cannot be counted keeps its measurement and says why in
    ``count.error``. Artifacts are counted side by side, one valgrind process per core (``physical_cores``): a
    count does not depend on what else runs, so this only shortens the wall time."""
    from concurrent.futures import ThreadPoolExecutor

    from .count import build_helper, count_artifact, count_summary

    def counted(index: int, row: BenchRow, helper: Path, work: Path) -> BenchRow:
        if not row.ok:
            return row
        batch = timing_batch(artifacts[row.artifact], options)
        try:
            counts = count_artifact(Path(row.artifact), batch, work / str(index), helper, cache=options.count_cache)
        except EdgekitError as exc:
            return dataclasses.replace(row, count={"error": str(exc), "valgrind": valgrind})
        summary = count_summary(counts, row.runtime or "", row.runtime_version, valgrind)
        return dataclasses.replace(row, instructions_per_inference=summary["instructions_per_inference"], count=summary)

    with tempfile.TemporaryDirectory(prefix="edgekit-count-") as work:
        helper = build_helper(Path(work))
        with ThreadPoolExecutor(max_workers=max(1, min(len(rows), physical_cores()))) as pool:
            futures = [pool.submit(counted, index, row, helper, Path(work)) for index, row in enumerate(rows)]
            return [future.result() for future in futures]


def _with_device_state(document: ResultsDocument, before: dict[str, Any], after: dict[str, Any]) -> ResultsDocument:
    """The document with the device's state before and after the timed rounds (``edgekit.bench.device_state``)
    and, when it throttled meanwhile, ``throttled``: why (every row was timed in those rounds)."""
    environment = dict(document.environment)
    if before or after:
        environment["device_state"] = {"before": before, "after": after}
    reason = throttling(before, after)
    if reason:
        environment["throttled"] = reason
    return dataclasses.replace(document, environment=environment)


def run_bench(
    paths: list[Path],
    options: BenchOptions,
    json_path: Path | None,
    predictions_path: Path | None,
    console: Console,
    timing: TimingStrategy = time_interleaved,
) -> ResultsDocument:
    """Bench every artifact (a failing one gets a failed row): score each, time all of them with ``timing``,
    add drops, write outputs."""
    options.validate()
    # bad input fails before any measuring or writing; each artifact is opened (and hash-checked) once
    artifacts = {str(path): open_artifact(path, options) for path in paths}
    if options.data:
        resolve_dataset(options.data, "val")
    valgrind = ""
    if options.count:
        from .count import valgrind_version

        valgrind = valgrind_version()  # no valgrind: one line before anything is measured
    for path in (json_path, predictions_path):
        if path is not None:
            check_replaceable(Path(path), force=True)  # a directory given as the output file fails up front
    rows, predictions = [], []
    with Progress(console=console, transient=True) as progress:
        for path in paths:
            task = progress.add_task(f"bench {path}", total=None)
            artifact = artifacts[str(path)]
            try:
                row, preds = score_artifact(path, options, lambda task=task: progress.advance(task), artifact)
            except EdgekitError as exc:
                row, preds = BenchRow.failed(path, str(exc), artifact.manifest.target), None
            except Exception as exc:  # noqa: BLE001 - a runtime's error on this model fails its row, not the run
                row, preds = BenchRow.failed(path, describe(exc), artifact.manifest.target), None
            rows.append(row)
            predictions.append(preds)
            progress.remove_task(task)
        progress.add_task(f"latency: {len(rows)} artifact(s) in turn, {options.rounds} rounds", total=None)
        before = device_state()
        rows, probe, contention = _time_together(rows, artifacts, options, timing)
        after = device_state()
        if options.count:
            progress.add_task(f"counting instructions under valgrind: {len(rows)} artifact(s)", total=None)
            rows = with_counts(rows, artifacts, options, valgrind)
    document = results_document(with_drops(rows), options, probe, contention)
    document = _with_device_state(document, before, after)
    if json_path:
        write_text_atomic(json_path, json.dumps(document.to_dict(), indent=2, allow_nan=False) + "\n")
    if predictions_path:
        ok = [(row, preds) for row, preds in zip(document.rows, predictions) if row.ok]
        for path, (_, preds) in zip(predictions_paths(predictions_path, row_labels([r for r, _ in ok])), ok):
            write_text_atomic(path, json.dumps(preds))
    return document

"""Bench several artifacts with a progress bar, then write JSON and predictions atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from .bench import (BenchOptions, MachineProbe, add_drops, bench_artifact, failed_row, open_artifact,
                    open_for_timing, results_document, time_interleaved)
from .datasets import resolve_dataset
from .errors import EdgekitError
from .fsutil import check_replaceable, write_text_atomic
from .manifest import Artifact
from .report import row_labels


def predictions_paths(base: Path, labels: list[str]) -> list[Path]:
    """One predictions file per benched artifact: ``base`` itself for one, ``base-LABEL`` for several
    (labels made unique, so two artifacts of one target never share a file)."""
    if len(labels) == 1:
        return [base]
    names = [label.replace("/", "-") for label in labels]
    names = [f"{name}-{i}" if names.count(name) > 1 else name for i, name in enumerate(names)]
    return [base.with_name(f"{base.stem}-{name}{base.suffix}") for name in names]


def _time_in_turn(rows: list[dict[str, Any]], artifacts: dict[str, Artifact],
                  options: BenchOptions) -> dict[str, Any]:
    """Fill each row's ``latency_ms``, timing all artifacts and the machine probe in interleaved rounds
    (sessions held meanwhile); returns the probe's latency."""
    sessions = [open_for_timing(Path(row["artifact"]), options, artifacts[row["artifact"]]) for row in rows]
    timings = time_interleaved(sessions + [(MachineProbe(), None)], options)
    for row, latency in zip(rows, timings):
        row["latency_ms"] = latency
    del sessions
    return timings[-1]


def run_bench(paths: list[Path], options: BenchOptions, json_path: Path | None, predictions_path: Path | None,
              console: Console) -> dict[str, Any]:
    """Bench every artifact (a failing one gets a failed row), add drops, write outputs."""
    options.validate()
    # bad input fails before any measuring or writing; each artifact is opened (and hash-checked) once
    artifacts = {str(path): open_artifact(path, options) for path in paths}
    if options.data:
        resolve_dataset(options.data, "val")
    for path in (json_path, predictions_path):
        if path is not None:
            check_replaceable(Path(path), force=True)  # a directory given as the output file fails up front
    rows, predictions = [], []
    with Progress(console=console, transient=True) as progress:
        for path in paths:
            task = progress.add_task(f"bench {path}", total=None)
            artifact = artifacts[str(path)]
            try:
                row, preds = bench_artifact(path, options, tick=lambda: progress.advance(task), timed=False,
                                            artifact=artifact)
            except EdgekitError as exc:
                row, preds = failed_row(path, str(exc), artifact.manifest.target), None
            rows.append(row)
            predictions.append(preds)
            progress.remove_task(task)
        progress.add_task(f"latency: {len(rows)} artifact(s) in turn, {options.rounds} rounds", total=None)
        probe = _time_in_turn([row for row in rows if row["status"] == "ok"], artifacts, options)
    add_drops(rows)
    document = results_document(rows, options, probe)
    if json_path:
        write_text_atomic(json_path, json.dumps(document, indent=2) + "\n")
    if predictions_path:
        ok = [(row, preds) for row, preds in zip(rows, predictions) if row["status"] == "ok"]
        for path, (_, preds) in zip(predictions_paths(predictions_path, row_labels([r for r, _ in ok])), ok):
            write_text_atomic(path, json.dumps(preds))
    return document

"""Bench several artifacts with a progress bar, then write JSON and predictions atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from .bench import (BenchOptions, add_drops, bench_artifact, failed_row, open_for_timing, results_document,
                    time_interleaved)
from .datasets import resolve_dataset
from .errors import EdgekitError
from .fsutil import atomic_file
from .manifest import Artifact


def _predictions_path(base: Path, target: str, several: bool) -> Path:
    return base.with_name(f"{base.stem}-{target}{base.suffix}") if several else base


def _time_in_turn(rows: list[dict[str, Any]], options: BenchOptions) -> None:
    """Fill each row's ``latency_ms``, timing all artifacts in interleaved rounds (sessions held meanwhile)."""
    sessions = [open_for_timing(Path(row["artifact"]), options) for row in rows]
    for row, latency in zip(rows, time_interleaved(sessions, options)):
        row["latency_ms"] = latency
    del sessions


def run_bench(paths: list[Path], options: BenchOptions, json_path: Path | None, predictions_path: Path | None,
              console: Console) -> dict[str, Any]:
    """Bench every artifact (a failing one gets a failed row), add drops, write outputs."""
    for path in paths:  # bad input fails before any measuring or writing
        Artifact.load(path)
    if options.data:
        resolve_dataset(options.data, "val")
    rows, predictions = [], {}
    alone = len(paths) == 1
    with Progress(console=console, transient=True) as progress:
        for path in paths:
            task = progress.add_task(f"bench {path}", total=None)
            try:
                row, preds = bench_artifact(path, options, tick=lambda: progress.advance(task), timed=alone)
                predictions[row["target"]] = preds
            except EdgekitError as exc:
                row = failed_row(path, str(exc))
            rows.append(row)
            progress.remove_task(task)
        if not alone:
            progress.add_task(f"latency: {len(rows)} artifacts in turn, {options.rounds} rounds", total=None)
            _time_in_turn([row for row in rows if row["status"] == "ok"], options)
    add_drops(rows)
    document = results_document(rows, options)
    if json_path:
        with atomic_file(json_path) as tmp:
            tmp.write_text(json.dumps(document, indent=2) + "\n")
    if predictions_path:
        for target, preds in predictions.items():
            with atomic_file(_predictions_path(predictions_path, target, len(predictions) > 1)) as tmp:
                tmp.write_text(json.dumps(preds))
    return document

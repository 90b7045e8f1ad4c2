"""``edgekit sweep``: plan the cells, run them on an executor, time every artifact in one run, write the table.

The output directory (written whole, replaced only with ``--force``) holds ``results.json`` (the bench schema,
each row's grid point under ``cell``), ``results.md``, ``results.csv``, ``pareto.png`` (accuracy vs p50 ratio to
the reference, marker area = file size), ``compression.png`` (accuracy vs compression ratio), ``sweep.json``
(what ran, what was reused, what failed, wall time) and ``artifacts/<grid point>/<target>``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import EdgekitError
from ..fsutil import atomic_dir, check_replaceable
from ..results import BenchRow, Latency, ResultsDocument, with_drops
from .config import SweepConfig
from .dominance import with_dominance
from .driver import Driver
from .executors import make_executor
from .plan import GridPoint, Plan, Planner, timing_cell
from .store import Store, default_store, row_without_latency

SWEEP_MARKER = "sweep.json"


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _cell_info(point: GridPoint, records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": point.name,
        "model": point.model,
        "prune": point.prune,
        "epochs": point.epochs,
        "target": point.target,
        "calibration": point.calibration,
        "source": point.source,
        "imgsz": point.imgsz,
    }
    compressed = records.get(point.compress_key or "", {})
    if "macs_after" in compressed:
        info["macs_ratio"] = compressed["macs_after"] / compressed["macs_before"]
    return info


def _rows(
    plan: Plan, records: dict[str, dict[str, Any]], timing: dict[str, Any], scored: list[str], out: Path
) -> list[BenchRow]:
    """One row per grid point (the reference first), each artifact named where the output will hold it."""
    latencies = dict(zip(scored, timing.get("latencies", [])))
    rows = []
    for point in plan.table():
        artifact = out / "artifacts" / point.name / point.target
        record = records.get(point.score_key, {})
        info = _cell_info(point, records)
        if "error" in record or "row" not in record:
            # the first failure on the way (compress, export, score) says why
            reason = next(
                (
                    records[key]["error"]
                    for key in (point.compress_key, point.export_key, point.score_key)
                    if key and "error" in records.get(key, {})
                ),
                "not run",
            )
            rows.append(dataclasses.replace(BenchRow.failed(artifact, reason, point.target), cell=info))
            continue
        row = row_without_latency(record["row"])
        latency = latencies.get(point.score_key)
        status = "ok" if latency else f"bench failed: {timing.get('error', 'not timed')}"
        rows.append(
            dataclasses.replace(
                row,
                artifact=str(artifact),
                status=status,
                cell=info,
                latency=Latency.from_dict(latency) if latency else None,
            )
        )
    return rows


def _versus_reference(rows: list[BenchRow]) -> list[BenchRow]:
    """Each row's p50, size and headline metric against the reference row (the first)."""
    reference = rows[0]
    if not reference.ok or reference.latency is None:
        return rows
    out = []
    for row in rows:
        if row.ok and row.latency is not None and row.size_bytes and reference.size_bytes:
            metric = row.primary_metric
            row = dataclasses.replace(
                row,
                cell=row.cell
                | {
                    "p50_vs_reference": row.latency.p50 / reference.latency.p50,
                    "size_vs_reference": row.size_bytes / reference.size_bytes,
                    "metric_change_pts": (row.metrics[metric] - reference.metrics[metric]) * 100,
                },
            )
        out.append(row)
    return out


def _copy_artifacts(plan: Plan, store: Store, records: dict[str, dict[str, Any]], work: Path) -> None:
    for point in plan.table():
        if "error" in records.get(point.export_key, {"error": ""}):
            continue
        destination = work / "artifacts" / point.name / point.target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(
            store.folder("export", point.export_key) / point.target, destination, copy_function=_link_or_copy
        )


def _protected(config: SweepConfig, store: Store) -> list[Path]:
    named = [config.path, *config.models, config.data, store.root]
    return [Path(p) for p in named if p is not None and Path(p).exists()]


def run_sweep(
    config: SweepConfig,
    executor: str = "local",
    jobs: int = 1,
    address: str | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every cell of ``config`` (skipping those done in the store) and write the output directory; returns
    ``{"document": ResultsDocument, "summary": dict}``."""
    store = Store(config.store or default_store())
    if store.root.resolve().is_relative_to(config.output.resolve()):
        raise EdgekitError(f"sweep: the store {store.root} lies inside the output {config.output}, which is replaced")
    protect = _protected(config, store)
    check_replaceable(config.output, force, SWEEP_MARKER, protect)
    planner = Planner(config, store)
    plan = planner.build()
    start = time.perf_counter()
    runner = make_executor(executor, jobs, address)
    driver = Driver(runner, store, log, jobs)
    try:
        store.check_writable()
        if not config.trust_store:
            store.check_private()
        records = driver.run(list(plan.cells.values()))
        scored = list(dict.fromkeys(p.score_key for p in plan.table() if "row" in records.get(p.score_key, {})))
        timing: dict[str, Any] = {"error": "no artifact was scored"}
        if scored:
            cell = timing_cell(plan, store, planner.bench(), scored)
            timing = driver.run([cell], exclusive=True)[cell.key]
    finally:
        runner.close()
    seconds = time.perf_counter() - start
    summary = _summary(config, executor, jobs, driver, seconds)
    with atomic_dir(config.output, force, marker=SWEEP_MARKER, protect=protect) as work:
        rows = with_dominance(_versus_reference(with_drops(_rows(plan, records, timing, scored, config.output))))
        document = ResultsDocument(environment=timing.get("environment", {}) | {"sweep": summary}, rows=tuple(rows))
        _copy_artifacts(plan, store, records, work)
        _write_outputs(document, summary, work)
    return {"document": document, "summary": summary}


def _summary(config: SweepConfig, executor: str, jobs: int, driver: Driver, seconds: float) -> dict[str, Any]:
    from ..provenance import provenance

    return {
        "schema": 1,
        "provenance": provenance(),
        "model": config.model,
        "models": list(config.models),
        "data": config.data,
        "executor": executor,
        "jobs": jobs,
        "store": str(config.store or default_store()),
        "wall_s": round(seconds, 2),
        "grid": {
            "prune": list(config.prune),
            "epochs": list(config.epochs),
            "imgsz": list(config.imgsz),
            "targets": list(config.targets),
            "calibration": [v.name for v in config.calibration],
            "reference": config.reference,
        },
        "cells": driver.tally.to_dict(),
    }


def _write_outputs(document: ResultsDocument, summary: dict[str, Any], work: Path) -> None:
    from .report import sweep_csv, sweep_markdown, sweep_plots

    (work / "results.json").write_text(json.dumps(document.to_dict(), indent=2, allow_nan=False) + "\n")
    (work / "results.md").write_text(sweep_markdown(document))
    (work / "results.csv").write_text(sweep_csv(document))
    try:
        sweep_plots(document, work / "pareto.png", work / "compression.png")
    except EdgekitError as exc:
        summary["plots"] = f"not drawn: {exc}"
    (work / SWEEP_MARKER).write_text(json.dumps(summary, indent=2) + "\n")

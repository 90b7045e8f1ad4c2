"""The work of one sweep cell, run in a worker process (a local pool's or a Ray worker's).

Each function takes a plain ``spec`` dict (picklable, JSON-able), writes its result into the store in whole
(see ``edgekit.sweeps.store``) and returns the cell's record. ``run_cell`` wraps them: a cell's own failure is
a record with an ``error`` line (a failed row, never the end of the sweep); only a dead worker is an exception
(which the executor retries).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import EdgekitError, describe
from ..fsutil import sha256_file
from .store import Store


def run_cell(function: Callable[[dict[str, Any]], dict[str, Any]], spec: dict[str, Any]) -> dict[str, Any]:
    """``function(spec)``, or ``{"error": line}`` when the cell itself fails; the record is done in the store
    already when it was (a resumed cell returns it without work)."""
    store = Store(Path(spec["store"]))
    with store.cell_lock(spec["kind"], spec["key"]):  # another sweep on this store may be running it
        return _run_unlocked(store, function, spec)


def _run_unlocked(
    store: Store, function: Callable[[dict[str, Any]], dict[str, Any]], spec: dict[str, Any]
) -> dict[str, Any]:
    done = store.done(spec["kind"], spec["key"])
    if done is not None:
        return done | {"reused": True}
    start = time.perf_counter()
    try:
        record = store.write(spec["kind"], spec["key"], lambda work: function(spec | {"work": str(work)}))
    except EdgekitError as exc:
        return {"error": str(exc), "seconds": time.perf_counter() - start}
    except Exception as exc:  # noqa: BLE001 - one cell's crash is its failed row
        return {"error": describe(exc), "seconds": time.perf_counter() - start}
    except SystemExit as exc:  # a converter that calls sys.exit() fails its cell only
        return {"error": f"the converter exited (code {exc.code})", "seconds": time.perf_counter() - start}
    return record


def compress_cell(spec: dict[str, Any]) -> dict[str, Any]:
    """``edgekit compress`` of ``spec["model"]`` with ``spec["plan"]`` into ``work/model.pt``."""
    from ..compress.options import plan_from_options
    from ..compress.run import compress_model, write_report

    start = time.perf_counter()
    work = Path(spec["work"])
    report = compress_model(
        spec["model"],
        plan_from_options(dict(spec["plan"])),
        work / "model.pt",
        spec["data"],
        log=lambda *_: None,
        source_options={"trust": spec["trust"], "head": spec.get("head")},
    )
    write_report(report, work / "compress.json")
    return {
        "model_sha256": sha256_file(work / "model.pt"),
        "macs_before": report["before"]["macs"],
        "macs_after": report["after"]["macs"],
        "params_before": report["before"]["params"],
        "params_after": report["after"]["params"],
        "seconds": time.perf_counter() - start,
    }


def export_cell(spec: dict[str, Any]) -> dict[str, Any]:
    """``edgekit export`` of one target into ``work/<target>``; a failed conversion fails the cell."""
    from ..convert.run import export_model

    start = time.perf_counter()
    target = spec["target"]
    model, trust, head = spec["model"], spec["trust"], spec.get("head")
    if spec.get("from_store"):  # this sweep's own compressed TorchScript (one head): loaded only if it is that file
        model, trust = str(Store(Path(spec["store"])).verified_model(spec["from_store"], spec["trust_store"])), True
        head = None
    rows = export_model(
        model,
        [target],
        Path(spec["work"]),
        data=spec["data"],
        calib_images=spec["calib_images"],
        overrides={target: dict(spec["overrides"])},
        max_drop=spec["max_drop"],
        source_label=spec["label"],
        trust=trust,
        imgsz=spec.get("imgsz"),
        head=head,
    )
    if rows[0].status != "ok":
        raise EdgekitError(rows[0].status)
    return {"target": target, "seconds": time.perf_counter() - start}


def score_cell(spec: dict[str, Any]) -> dict[str, Any]:
    """Accuracy, size, load time and memory of one artifact (``edgekit bench`` without timing)."""
    from ..bench.harness import score_artifact
    from ..bench.options import bench_options

    start = time.perf_counter()
    row, _ = score_artifact(Path(spec["artifact"]), bench_options(**spec["bench"]))
    return {"row": row.to_dict(), "seconds": time.perf_counter() - start}


def time_cell(spec: dict[str, Any]) -> dict[str, Any]:
    """Every artifact of the table and the machine probe timed in one interleaved run on this host (the
    executor gives this cell a host alone: a ``bench_slot``), with the host's environment."""
    from ..bench.harness import open_for_timing, results_document, time_with_probe
    from ..bench.options import bench_options

    start = time.perf_counter()
    options = bench_options(**spec["bench"])
    sessions = [open_for_timing(Path(path), options) for path in spec["artifacts"]]
    latencies, probe, share = time_with_probe(sessions, options)
    del sessions
    environment = results_document([], options, probe, share).environment
    return {
        "latencies": [latency.to_dict() for latency in latencies],
        "environment": environment,
        "seconds": time.perf_counter() - start,
    }


CELL_FUNCTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "compress": compress_cell,
    "export": export_cell,
    "score": score_cell,
    "timing": time_cell,
}


def run_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The executor's entry point: the cell of ``spec["kind"]``."""
    return run_cell(CELL_FUNCTIONS[spec["kind"]], spec)

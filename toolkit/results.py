"""The bench results document (``edgekit bench --json``): reading with full type checks, and data identity.

A leaf module (json + the schema checks): report, gate and pipeline read results through it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import EdgekitError
from .schema import Number, check_list, check_object, check_value, read_json_file
from .tasks.registry import TASKS

RESULTS_SCHEMA = 1
#: task -> its metrics, headline first (from the task registry)
TASK_METRICS = {name: spec.metrics for name, spec in TASKS.items()}
#: the dataset fields that say which data was scored, whatever machine or cache directory scored it
IDENTITY_KEYS = ("name", "images", "annotations_sha256", "labels_sha256")

_ROW = {"target": str, "artifact": str, "status": str}
_OK_ROW = {"task": str, "size_bytes": int, "latency_ms": dict, "metrics": dict, "dataset": dict}
_OK_OPTIONAL = {"runtime": str, "runtime_version": str, "threads": int, "peak_rss_bytes": int,
                "load_s": Number, "first_inference_s": Number, "model_sha256": str, "parent_sha256": str,
                "parent": str, "drop": dict, "ratio": dict, "evaluation": dict}
_LATENCY = {"p50": Number, "p90": Number, "p99": Number}
_LATENCY_OPTIONAL = {"mean": Number, "std": Number, "runs": int, "warmup": int, "round_p50": list,
                     "p50_best_round": Number}


def dataset_identity(summary: dict[str, Any]) -> dict[str, Any]:
    """What makes two rows' data the same data: name, image count and a content hash of the scored labels —
    never a path, so a baseline made on one machine gates a run on another."""
    return {key: summary[key] for key in IDENTITY_KEYS if key in summary}


def _check_row(row: Any, where: str) -> None:
    check_object(row, where, _ROW, strict=False)
    if row["status"] != "ok":
        return
    check_object(row, where, _OK_ROW, _OK_OPTIONAL, strict=False)
    if row["task"] not in TASK_METRICS:
        raise EdgekitError(f"{where}.task: unknown task {row['task']!r} (known: {', '.join(TASK_METRICS)})")
    if row["size_bytes"] <= 0:
        raise EdgekitError(f"{where}.size_bytes must be positive")
    latency = check_object(row["latency_ms"], f"{where}.latency_ms", _LATENCY, _LATENCY_OPTIONAL, strict=False)
    if any(latency[key] <= 0 for key in ("p50", "p90", "p99", "p50_best_round") if key in latency):
        raise EdgekitError(f"{where}.latency_ms: latencies must be positive")
    check_list(latency.get("round_p50", []), Number, f"{where}.latency_ms.round_p50")
    metrics = check_object(row["metrics"], f"{where}.metrics", {TASK_METRICS[row["task"]][0]: Number},
                           strict=False)
    for key, value in metrics.items():
        check_value(value, Number, f"{where}.metrics.{key}")
    check_object(row["dataset"], f"{where}.dataset", {"name": str, "images": int},
                 {"annotations": str, "annotations_sha256": str, "labels_sha256": str}, strict=False)
    for key in ("drop", "ratio"):
        for name, value in row.get(key, {}).items():
            check_value(value, Number, f"{where}.{key}.{name}")


def check_results(document: Any, where: str = "results") -> dict[str, Any]:
    """``document`` when it is a results document of this schema with well-typed rows; else ``EdgekitError``."""
    if not isinstance(document, dict) or "results" not in document or "environment" not in document:
        raise EdgekitError(f"{where} is not an edgekit bench results document")
    if document.get("schema") != RESULTS_SCHEMA:
        raise EdgekitError(f"{where} has results schema {document.get('schema')!r}; this edgekit reads "
                           f"schema {RESULTS_SCHEMA!r}")
    check_object(document, where, {"environment": dict, "results": list}, strict=False)
    for index, row in enumerate(document["results"]):
        _check_row(row, f"{where}: results[{index}]")
    return document


def load_results(path: Path) -> dict[str, Any]:
    """Read and check a ``edgekit bench --json`` document; a wrong schema or shape is an error, not a guess."""
    path = Path(path)
    return check_results(read_json_file(path, "results JSON"), str(path))

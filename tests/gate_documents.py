"""Results documents (their JSON form) for the gate tests: two rows of a detector, a machine probe."""

from __future__ import annotations

from edgekit.results import RESULTS_SCHEMA

DATASET = {"name": "shapes-det/val", "images": 200}


def row(target: str, p50: float, size: int, map50_95: float) -> dict:
    """One ok detector row benched on ``DATASET``."""
    return {
        "target": target,
        "artifact": f"/nonexistent-edgekit-test/out/{target}",  # never a path a checkout can hold
        "status": "ok",
        "task": "detect",
        "runtime": "ort",
        "latency_ms": {"p50": p50, "p90": p50 * 1.2, "p99": p50 * 1.5},
        "size_bytes": size,
        "metrics": {"map50_95": map50_95, "map50": 0.88},
        "dataset": DATASET,
    }


def document(*rows: dict) -> dict:
    """A results document of ``rows`` with a machine probe."""
    return {
        "schema": RESULTS_SCHEMA,
        "environment": {"cpu": "test", "threads": 2, "machine_probe_ms": {"p50": 1.0}},
        "results": list(rows),
    }


BASE = document(row("onnx-fp32", 8.0, 4_800_000, 0.785), row("ort-int8", 5.0, 1_330_000, 0.777))

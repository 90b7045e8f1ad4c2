"""Does pruning beat the cheaper ways to a faster model? For each pruned grid point, against the alternatives a
user has without pruning, at equal measured p50 (the sweep's one interleaved timing run):

- ``vs_smaller_input``: the same model, unpruned, at the sweep's input sizes (``[grid] imgsz``), its own size
  included: the front between two sizes is what shrinking the input gives at the pruned point's p50;
- ``vs_other_models``: the sweep's other models, unpruned, at any size (the next model down of a ladder).

Each family is compared on the same target and calibration variant. Its Pareto front (no faster point of the
family is at least as accurate) is interpolated linearly at the pruned point's p50; the margin is the pruned
point's headline metric minus that, in points. Outside the front's p50 range there is no alternative at equal
p50, except where the pruned point is faster than all of them and at least as accurate as the fastest
(``dominates``) or slower than all and less accurate than the slowest (``dominated``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ..results import BenchRow

DOMINATES, DOMINATED, NO_MATCH = "dominates", "dominated", "no alternative at this p50"
FAMILIES = ("vs_smaller_input", "vs_other_models")


def _measured(row: BenchRow) -> bool:
    return row.ok and row.latency is not None and row.primary_metric in row.metrics


def _point(row: BenchRow) -> tuple[float, float]:
    assert row.latency is not None
    return row.latency.p50, float(row.metrics[row.primary_metric]) * 100


def _front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The family's points that no faster-or-equal point matches in accuracy, fastest first."""
    front: list[tuple[float, float]] = []
    for p50, value in sorted(points, key=lambda point: (point[0], -point[1])):
        if not front or value > front[-1][1]:
            front.append((p50, value))
    return front


def compare(row: BenchRow, family: list[BenchRow]) -> dict[str, Any] | None:
    """``{"verdict", "margin_pts", "against"}`` of ``row`` against ``family``'s front (None: no family)."""
    if not family:
        return None
    front = _front([_point(r) for r in family])
    p50, value = _point(row)
    margin: float | None = None
    if p50 < front[0][0]:
        margin = value - front[0][1] if value >= front[0][1] else None
    elif p50 > front[-1][0]:
        margin = value - front[-1][1] if value < front[-1][1] else None
    else:
        for (x0, y0), (x1, y1) in zip(front, front[1:] or front):
            if x0 <= p50 <= x1:
                share = 0.0 if x1 == x0 else (p50 - x0) / (x1 - x0)
                margin = value - (y0 + share * (y1 - y0))
                break
    verdict = NO_MATCH if margin is None else DOMINATES if margin >= 0 else DOMINATED
    return {"verdict": verdict, "margin_pts": margin, "against": len(family)}


def _alternatives(row: BenchRow, rows: list[BenchRow], same_source: bool) -> list[BenchRow]:
    cell = row.cell
    return [
        other
        for other in rows
        if _measured(other)
        and other.cell.get("prune") == 0
        and other.target == row.target
        and other.cell.get("calibration") == cell.get("calibration")
        and other.primary_metric == row.primary_metric
        and (other.cell.get("source") == cell.get("source")) == same_source
    ]


_SELECT: dict[str, Callable[[BenchRow, list[BenchRow]], list[BenchRow]]] = {
    "vs_smaller_input": lambda row, rows: _alternatives(row, rows, same_source=True),
    "vs_other_models": lambda row, rows: _alternatives(row, rows, same_source=False),
}


def with_dominance(rows: list[BenchRow]) -> list[BenchRow]:
    """Every measured pruned row with its verdicts in ``cell`` (a family the sweep has no point of is left out)."""
    out = []
    for row in rows:
        if _measured(row) and (row.cell.get("prune") or 0) > 0:
            verdicts = {name: compare(row, select(row, rows)) for name, select in _SELECT.items()}
            row = dataclasses.replace(row, cell=row.cell | {k: v for k, v in verdicts.items() if v is not None})
        out.append(row)
    return out


def summary(cell: dict[str, Any], family: str) -> str:
    """A table cell: the verdict and its margin in points ("" where the family was not compared)."""
    verdict = cell.get(family)
    if not isinstance(verdict, dict):
        return ""
    margin = verdict.get("margin_pts")
    return verdict["verdict"] if margin is None else f"{verdict['verdict']} ({margin:+.2f})"

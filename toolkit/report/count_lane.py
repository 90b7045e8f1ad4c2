"""The gate's count lane: instructions per inference (``bench --count``) instead of wall-clock latency.

Counted instructions repeat within hundredths of a percent whatever else the machine does, so a busy CI runner
decides instead of answering "inconclusive". Counts are compared only like with like: the same artifact label,
valgrind version, runtime and runtime version; anything else is one error line (exit 2), never a verdict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import EdgekitError
from .check import Check

if TYPE_CHECKING:
    from ..results import BenchRow
    from .gate import Thresholds

COUNT_METRIC = "instructions / inference"
#: what two counts must share to be compared (keys of a row's ``count`` record)
COMPARABLE = ("valgrind", "runtime", "runtime_version", "threads")


def counted(row: BenchRow) -> bool:
    """Whether the row carries a count (``bench --count`` that succeeded for it)."""
    return row.instructions_per_inference is not None and isinstance(row.count, dict)


def uses_counts(base_rows: dict[str, BenchRow], cur_rows: dict[str, BenchRow]) -> bool:
    """The count lane decides when every baseline row and its current row were counted; then each pair must be
    comparable (``COMPARABLE``), else one error line."""
    pairs = [(label, base, cur_rows[label]) for label, base in base_rows.items() if label in cur_rows]
    if not pairs or not all(counted(base) and counted(cur) for _, base, cur in pairs):
        return False
    for label, base, cur in pairs:
        differ = [key for key in COMPARABLE if _get(base, key) != _get(cur, key)]
        if differ:
            detail = "; ".join(f"{key} {_get(base, key)!r} vs {_get(cur, key)!r}" for key in differ)
            raise EdgekitError(
                f"{label}: instruction counts made under different conditions cannot be compared ({detail}): "
                "count the baseline again with this valgrind and runtime"
            )
    return True


def _get(row: BenchRow, key: str) -> Any:
    return (row.count or {}).get(key)


def count_check(label: str, base: BenchRow, cur: BenchRow, limits: Thresholds) -> Check:
    """Growth of counted instructions per inference, in percent, against ``max_instruction_growth``."""
    b, c = float(base.instructions_per_inference or 0), float(cur.instructions_per_inference or 0)
    if b <= 0 or c <= 0:
        raise EdgekitError(f"{label}: instruction counts must be positive (baseline {b:.0f}, current {c:.0f})")
    return Check(label, COUNT_METRIC, b, c, (c / b - 1) * 100, limits.max_instruction_growth, "%")


def count_note(base_rows: dict[str, BenchRow]) -> str:
    """How the count lane compared latency, for the verdict."""
    any_row = next(iter(base_rows.values()))
    valgrind = _get(any_row, "valgrind") or "valgrind"
    return (
        f"the count lane decided: instructions per inference counted under {valgrind}, one thread, median of "
        "each artifact's counted inferences (wall-clock p50 and the machine's load not judged)"
    )

"""A budget for Torch-Pruning's dependency tracing: a graph it cannot follow must end in one error line, not
in an hour of swapping or an out-of-memory kill (YOLO11's attention once took it past 20 GB)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import EdgekitError

TRACE_SECONDS = 120.0
TRACE_MEMORY_BYTES = 3 * 1024**3  # growth of the process's RSS while tracing (the whole stays under 4 GB)
_CHECK_EVERY = 0.25


class TracingBudgetExceeded(EdgekitError):
    """Torch-Pruning's dependency tracing went over its time or memory budget."""


@contextmanager
def tracing_budget(seconds: float = TRACE_SECONDS, memory_bytes: int = TRACE_MEMORY_BYTES) -> Iterator[None]:
    """Raise ``TracingBudgetExceeded`` inside the block once it runs longer than ``seconds`` or grows the
    process's resident memory by more than ``memory_bytes``. Checked by a timer signal, so it works in the
    main thread only (elsewhere the block runs unguarded)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    import psutil

    process, start = psutil.Process(), time.monotonic()
    base = process.memory_info().rss

    def check(_signum: int, _frame: object) -> None:
        grown, spent = process.memory_info().rss - base, time.monotonic() - start
        if grown > memory_bytes or spent > seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)
            what = f"{grown / 1024**3:.1f} GB more memory" if grown > memory_bytes else f"{spent:.0f} s"
            raise TracingBudgetExceeded(
                f"Torch-Pruning's dependency tracing took {what} (budget {memory_bytes / 1024**3:.0f} GB, "
                f"{seconds:.0f} s): this model has a block it cannot follow; pass --keep NAME for that block"
            )

    previous = signal.signal(signal.SIGALRM, check)
    signal.setitimer(signal.ITIMER_REAL, _CHECK_EVERY, _CHECK_EVERY)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

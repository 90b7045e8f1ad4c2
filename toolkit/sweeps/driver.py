"""Runs a sweep's cells on an executor in dependency order: each cell once its inputs are done, every done
cell skipped (resume), a failed cell's dependants failed with it, progress as one line per finished cell."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .executors import Executor, Job
from .plan import Cell
from .store import Store


@dataclass
class Tally:
    """What a sweep did per cell kind: ``ran`` (worked now), ``reused`` (done before), ``failed``."""

    ran: Counter[str] = field(default_factory=Counter)
    reused: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    cell_seconds: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ran": dict(self.ran), "reused": dict(self.reused), "failed": dict(self.failed)}


class Driver:
    """Submits ready cells to ``executor`` and collects their records by key."""

    def __init__(self, executor: Executor, store: Store, log: Callable[[str], None], jobs: int = 1) -> None:
        self.executor = executor
        self.store = store
        self.log = log
        self.jobs = jobs
        self.records: dict[str, dict[str, Any]] = {}
        self.names: dict[str, str] = {}
        self.tally = Tally()
        self._start = time.perf_counter()
        self._total = 0

    def _blocked_by(self, cell: Cell) -> str | None:
        for need in cell.needs:
            if "error" in self.records.get(need, {}):
                return need
        return None

    def _progress(self, cell: Cell, record: dict[str, Any], running: int) -> None:
        done = sum(self.tally.ran.values()) + sum(self.tally.reused.values()) + sum(self.tally.failed.values())
        left = max(0, self._total - done - running)
        seconds = self.tally.cell_seconds
        eta = sum(seconds) / len(seconds) * left / max(1, min(self.jobs, left)) if seconds and left else 0.0
        what = (
            f"failed: {record['error']}"
            if "error" in record
            else ("reused" if record.get("reused") else f"{record.get('seconds', 0.0):.1f} s")
        )
        self.log(
            f"[{done} done, {running} submitted, {left} waiting, {sum(self.tally.failed.values())} failed; "
            f"{time.perf_counter() - self._start:.0f} s, ETA {eta:.0f} s] {cell.name}: {what}"
        )

    def _finish(self, cell: Cell, record: dict[str, Any], running: int) -> None:
        self.records[cell.key] = record
        if "error" in record:
            self.tally.failed[cell.kind] += 1
        elif record.get("reused"):
            self.tally.reused[cell.kind] += 1
        else:
            self.tally.ran[cell.kind] += 1
            self.tally.cell_seconds.append(float(record.get("seconds", 0.0)))
        self._progress(cell, record, running)

    def run(self, cells: list[Cell], exclusive: bool = False) -> dict[str, dict[str, Any]]:
        """Run ``cells`` (dependency order); returns every record by key (``error`` in a failed one's)."""
        self.names.update({cell.key: cell.name for cell in cells})
        waiting = [cell for cell in cells if cell.key not in self.records]
        self._total = len(self.records) + len(waiting)
        running: dict[Job, Cell] = {}
        try:
            while waiting or running:
                before = len(waiting)
                waiting = self._submit_ready(waiting, running, exclusive)
                if not running:
                    if waiting and len(waiting) == before:  # nothing can start: a need outside this plan
                        stuck = [c for c in waiting if any(need not in self.names for need in c.needs)] or waiting
                        for cell in stuck:
                            self._finish(cell, {"error": "not run: it needs a cell outside the sweep"}, 0)
                        waiting = [cell for cell in waiting if cell not in stuck]
                    continue
                for job in self.executor.wait_any(list(running), timeout=1.0):
                    cell = running.pop(job)
                    self._finish(cell, job.record or {"error": "no record"}, len(running))
        except BaseException:
            self.executor.close(cancel=True)
            raise
        return self.records

    def _submit_ready(self, waiting: list[Cell], running: dict[Job, Cell], exclusive: bool) -> list[Cell]:
        still = []
        for cell in waiting:
            blocker = self._blocked_by(cell)
            if blocker is not None:
                failed = {"error": f"not run: {self.names.get(blocker, blocker)} failed"}
                self._finish(cell, failed, len(running))
            elif any(need not in self.records for need in cell.needs):
                still.append(cell)
            elif (done := self.store.done(cell.kind, cell.key)) is not None:
                self._finish(cell, done | {"reused": True}, len(running))
            else:
                damaged = self.store.damage(cell.kind, cell.key)
                if damaged:
                    self.log(f"store: {damaged}; running {self.names.get(cell.key, cell.key)} again")
                running[self.executor.submit(cell.spec, exclusive)] = cell
        return still

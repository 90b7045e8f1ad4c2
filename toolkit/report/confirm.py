"""Latency judged again before it decides a gate, and a machine too busy to judge says so.

On a shared machine a neighbour can change what a bench measures, and not evenly: with one of two cores kept
busy, onnx-fp32 ran 2.05x slower but ort-int8 only 1.27x and the machine probe not at all, so every ratio the
gate compares moved (benchmarks/gate_noise.json). A failed latency check may then be noise, and a passed one a
regression hidden by it. So the bench records the share of CPU other processes took while it timed
(``foreign_cpu_share``), and ``edgekit gate`` times the artifacts again (``retime``: in one interleaved run,
with the machine probe) when a latency check failed or the run was timed on a busy machine. If other processes
still took more than ``max_busy_share`` of the CPU (a gate threshold, default 25 %), latency is
"inconclusive: machine busy" (exit
``INCONCLUSIVE_EXIT_CODE``): neither a pass nor a failure. Accuracy and size checks never wait on this.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EdgekitError
from ..results import ResultsDocument
from .gate import Check, Thresholds, compare, compare_with_note, verdict_markdown

#: more rounds than the run had: a neighbour's burst then falls on few of them, and gate compares the fastest
RETIME_ROUNDS = 2
#: ``edgekit gate``'s exit code for "inconclusive: machine busy" (EX_TEMPFAIL: try again later)
INCONCLUSIVE_EXIT_CODE = 75

if TYPE_CHECKING:
    from ..bench.options import BenchOptions


def is_latency(metric: str) -> bool:
    """Whether a check's metric is a latency (``p50 ms``, ``p50 / <reference>``, ``p50 / machine probe``)."""
    return metric.startswith("p50")


@dataclass(frozen=True)
class Retiming:
    """The current run with the involved rows and the probe timed again, or why that was not possible."""

    document: ResultsDocument | None
    contention: float | None
    seconds: float
    rounds: int
    why_not: str = ""


def _options(current: ResultsDocument) -> "BenchOptions":
    """The current run's timing settings, with ``RETIME_ROUNDS`` times its rounds and seconds."""
    from ..bench.options import BenchOptions

    env = current.environment
    rounds = int(env.get("latency_rounds", 5)) * RETIME_ROUNDS
    return BenchOptions(threads=int(env.get("threads", 2)), warmup=int(env.get("latency_warmup", 10)),
                        runs=max(int(env.get("latency_runs", 50)), rounds),
                        min_seconds=float(env.get("latency_min_seconds", 2.0)) * RETIME_ROUNDS, rounds=rounds)


def retime(current: ResultsDocument, labels: set[str]) -> Retiming:
    """Time the rows labelled ``labels`` and a machine probe again, in one interleaved run."""
    from ..bench.harness import open_for_timing, time_with_probe

    rows = dict(zip(current.labels(), current.rows))
    chosen = [rows[label] for label in sorted(labels) if label in rows]
    missing = [row.artifact for row in chosen if not Path(row.artifact).exists()]
    if missing:
        return Retiming(None, None, 0.0, 0, f"{missing[0]} is not here to time again")
    options = _options(current)
    start = time.perf_counter()
    try:
        sessions = [open_for_timing(Path(row.artifact), options) for row in chosen]
    except EdgekitError as exc:
        return Retiming(None, None, 0.0, 0, f"it could not be opened again ({exc})")
    latencies, probe, share = time_with_probe(sessions, options)
    del sessions
    fresh = {id(row): latency for row, latency in zip(chosen, latencies)}
    new_rows = tuple(dataclasses.replace(row, latency=fresh[id(row)]) if id(row) in fresh else row
                     for row in current.rows)
    environment = dict(current.environment) | {"machine_probe_ms": probe.to_dict()}
    return Retiming(dataclasses.replace(current, rows=new_rows, environment=environment), share,
                    time.perf_counter() - start, options.rounds)


@dataclass(frozen=True)
class Verdict:
    """``status``: "pass", "regression" or "inconclusive" (a latency check failed twice on a busy machine)."""

    status: str
    markdown: str

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def _reference_label(document: ResultsDocument, thresholds: Thresholds) -> str | None:
    if thresholds.absolute_latency:
        return None
    return next((label for label, row in zip(document.labels(), document.rows)
                 if label == thresholds.reference or row.target == thresholds.reference), None)


def _busy(document: ResultsDocument, thresholds: Thresholds) -> bool:
    share = document.environment.get("foreign_cpu_share")
    return isinstance(share, (int, float)) and share * 100 > thresholds.max_busy_share


def _latency_judged_again(baseline: ResultsDocument, current: ResultsDocument, thresholds: Thresholds,
                          checks: list[Check]) -> tuple[list[Check], str, bool]:
    """Latency checks judged on a re-timing when one failed or the current run was timed on a busy machine:
    (checks, what was done, whether the latency verdict cannot be trusted because the machine was busy)."""
    failed = {c.artifact for c in checks if not c.passed and is_latency(c.metric)}
    if _busy(baseline, thresholds):
        return checks, " The baseline was timed while other processes took more than " \
                       f"{thresholds.max_busy_share:g} % of the CPU: its latency cannot be judged against.", True
    busy_run = _busy(current, thresholds)
    if not failed and not busy_run:
        return checks, "", False
    labels = set(current.labels()) if busy_run else failed | {_reference_label(current, thresholds)} - {None}
    again = retime(current, labels)
    if again.document is None:
        return checks, f" Latency could not be timed again ({again.why_not}).", busy_run
    # keyed by artifact: each has one latency check (which ratio it uses may differ between the two timings)
    fresh = {c.artifact: c for c in compare(baseline, again.document, thresholds) if is_latency(c.metric)}
    checks = [fresh.get(c.artifact, c) if is_latency(c.metric) else c for c in checks]
    share = again.contention
    why = "one timed on a busy machine" if busy_run else f"{len(failed)} failed latency check(s)"
    note = (f" Latency was timed again ({why}): {', '.join(sorted(labels))} and the probe, {again.rounds} "
            f"interleaved rounds, {again.seconds:.0f} s; other processes took "
            f"{share if share is not None else float('nan'):.0%} of the CPU meanwhile.")
    return checks, note, share is not None and share * 100 > thresholds.max_busy_share


def judge(baseline: ResultsDocument, current: ResultsDocument, thresholds: Thresholds,
          confirm: bool = True) -> Verdict:
    """Every check. Latency is judged again on a re-timing of the artifacts involved (``confirm``) when a
    latency check failed or the run was timed while other processes took much of the CPU; if the machine is
    still busy then, latency is "inconclusive" (neither a pass nor a regression: a busy neighbour shifts the
    ratios either way). Accuracy and size failures are regressions whatever the machine did."""
    checks, note = compare_with_note(baseline, current, thresholds)
    if confirm:
        checks, retimed, busy = _latency_judged_again(baseline, current, thresholds, checks)
        note += retimed
    else:
        busy = _busy(baseline, thresholds) or _busy(current, thresholds)
    extra = sorted(set(current.labels()) - set(baseline.labels()))
    failed = [c for c in checks if not c.passed]
    if any(not is_latency(c.metric) for c in failed):
        status = "regression"
    elif busy:
        status = "inconclusive"
    else:
        status = "regression" if failed else "pass"
    return Verdict(status, verdict_markdown(checks, thresholds, extra, note, status))

"""Latency judged again before it decides a gate, and a machine too busy to judge says so.

On a shared machine a neighbour can change what a bench measures, and not evenly: with one of two cores kept
busy, onnx-fp32 ran 2.05x slower but ort-int8 only 1.27x and the machine probe not at all, so every ratio the
gate compares moved (benchmarks/gate_noise.json). A failed latency check may then be noise, and a passed one a
regression hidden by it. So the bench records the share of CPU other processes took while it timed
(``foreign_cpu_share``), and ``edgekit gate`` times the artifacts again (``retime``: in one interleaved run,
with the machine probe) when a latency check failed or the run was timed on a busy machine. If other processes
still took more than ``max_busy_share`` of the CPU (a gate threshold, default 25 %), latency is
"inconclusive: machine busy" (exit ``INCONCLUSIVE_EXIT_CODE``): neither a pass nor a failure.

An idle machine can change speed too: this VM's host has slow phases of a few minutes in which the probe runs
1.2x slower and the models 1.2-1.8x, unevenly, so a 1.3x slower artifact can hide behind either ratio. The
probe shows them (``machine_shift``): its rounds spread within a run, or its p50 moves from the baseline's on
the same machine. Such a run is timed again, and latency is "inconclusive: machine speed shifted" if the shift
holds. Accuracy and size checks never wait on any of this.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EdgekitError
from ..results import BenchRow, ResultsDocument
from .check import Check
from .count_lane import COUNT_METRIC
from .gate import Thresholds, compare, compare_with_note, has_rounds, verdict_markdown

#: more rounds than the run had: a neighbour's burst then falls on few of them, and gate compares the fastest
RETIME_ROUNDS = 2
#: re-timings while the machine probe still shows the machine changing speed (its slow phases come and go)
RETIME_ATTEMPTS = 3
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


def _options(current: ResultsDocument) -> BenchOptions:
    """The current run's timing settings, with ``RETIME_ROUNDS`` times its rounds and seconds."""
    from ..bench.options import BenchOptions

    env = current.environment
    rounds = int(env.get("latency_rounds", 5)) * RETIME_ROUNDS
    return BenchOptions(
        threads=int(env.get("threads", 2)),
        warmup=int(env.get("latency_warmup", 10)),
        runs=max(int(env.get("latency_runs", 50)), rounds),
        min_seconds=float(env.get("latency_min_seconds", 2.0)) * RETIME_ROUNDS,
        rounds=rounds,
    )


def _timed_elsewhere(current: ResultsDocument) -> str:
    """Why ``current`` was not timed on this machine (a device, another host or boot), or "" when it was."""
    from ..manifest import host_environment

    env = current.environment
    if env.get("device"):
        return f"it was timed on {env['device']}, not here"
    if not env.get("boot"):
        return "its results do not say which machine timed them"
    if env.get("boot") != host_environment().get("boot"):
        return "it was timed on another machine (or before this one restarted)"
    return ""


def _same_artifact(row: BenchRow, base: Path | None) -> tuple[Path | None, str]:
    """The row's artifact folder, resolved against the results file's folder (``base``; never the current
    directory), when its model file still has the sha256 the row measured; else why not."""
    from ..manifest import Artifact

    path = Path(row.artifact)
    if not path.is_absolute():
        if base is None:
            return None, f"{row.artifact} is a relative path and the results file's folder is not known"
        path = base / path
    if not row.model_sha256:
        return None, f"the row of {row.artifact} records no sha256 of what it measured"
    try:
        artifact = Artifact.load(path)  # checks every file against its manifest's sha256
    except (EdgekitError, OSError):
        return None, f"{path} is not here to time again"
    if artifact.manifest.model_sha256 != row.model_sha256:
        return None, f"{path} is not the artifact the row measured (sha256 differs)"
    return path, ""


def retime(current: ResultsDocument, labels: set[str], base: Path | None = None) -> Retiming:
    """Time the rows labelled ``labels`` and a machine probe again, in one interleaved run: only rows timed on
    this machine, and only artifacts (``base``: the results file's folder, for relative paths) whose model
    file is still the one the row measured."""
    from ..bench.harness import open_for_timing, time_with_probe

    elsewhere = _timed_elsewhere(current)
    if elsewhere:
        return Retiming(None, None, 0.0, 0, elsewhere)
    rows = dict(zip(current.labels(), current.rows))
    chosen = [rows[label] for label in sorted(labels) if label in rows]
    paths = []
    for row in chosen:
        path, why_not = _same_artifact(row, base)
        if path is None:
            return Retiming(None, None, 0.0, 0, why_not)
        paths.append(path)
    options = _options(current)
    start = time.perf_counter()
    try:
        sessions = [open_for_timing(path, options) for path in paths]
    except EdgekitError as exc:
        return Retiming(None, None, 0.0, 0, f"it could not be opened again ({exc})")
    latencies, probe, share = time_with_probe(sessions, options)
    del sessions
    fresh = {id(row): latency for row, latency in zip(chosen, latencies)}
    new_rows = tuple(
        dataclasses.replace(row, latency=fresh[id(row)]) if id(row) in fresh else row for row in current.rows
    )
    # the re-timing's own contention: the first run's share no longer describes these timings
    environment = dict(current.environment) | {"machine_probe_ms": probe.to_dict(), "foreign_cpu_share": share}
    return Retiming(
        dataclasses.replace(current, rows=new_rows, environment=environment),
        share,
        time.perf_counter() - start,
        options.rounds,
    )


@dataclass(frozen=True)
class Verdict:
    """``status``: "pass", "regression" or "inconclusive" (latency timed twice on a busy or shifting machine)."""

    status: str
    markdown: str

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def _reference_label(document: ResultsDocument, thresholds: Thresholds) -> str | None:
    if thresholds.absolute_latency:
        return None
    return next(
        (
            label
            for label, row in zip(document.labels(), document.rows)
            if label == thresholds.reference or row.target == thresholds.reference
        ),
        None,
    )


def _busy(document: ResultsDocument, thresholds: Thresholds) -> bool:
    share = document.environment.get("foreign_cpu_share")
    return isinstance(share, (int, float)) and share * 100 > thresholds.max_busy_share


#: environment keys that must agree before two runs' machine probes are compared in milliseconds: one boot of
#: one machine (another host of the same CPU model, even another boot, may run the probe 10 % apart)
SAME_MACHINE_KEYS = ("boot", "cpu", "cores", "isa", "machine")


def machine_shift(baseline: ResultsDocument, current: ResultsDocument) -> tuple[float, str]:
    """How far, in percent, the machine's own speed moved as the machine probe saw it, and a phrase saying where:
    the spread of the probe's round p50s within the current run, and, when both ran on one boot of one machine
    (``SAME_MACHINE_KEYS``), the change of its fastest-round p50 from the baseline's. On this 2-core VM the probe's
    rounds stay within 4 % on an idle machine, and the host's slow phases (the probe 1.2x slower, every model
    1.2-1.8x, unevenly) move it 17-24 % (benchmarks/gate_noise.json): no ratio holds through those."""
    probe = current.machine_probe
    if probe is None:
        return 0.0, ""
    shifts = [(0.0, "")]
    if len(probe.round_p50) > 1:
        spread = (max(probe.round_p50) / min(probe.round_p50) - 1) * 100
        shifts.append((spread, f"the machine probe's rounds differed by {spread:.0f} % within the run"))
    base_probe = baseline.machine_probe
    if (
        base_probe is not None
        and "boot" in current.environment
        and all(baseline.environment.get(k) == current.environment.get(k) for k in SAME_MACHINE_KEYS)
    ):
        best = has_rounds(base_probe, probe)
        ratio = probe.gate_p50(best) / base_probe.gate_p50(best)
        way = "slower" if ratio > 1 else "faster"
        shifts.append(
            (
                abs(ratio - 1) * 100,
                f"the machine probe ran {abs(ratio - 1):.0%} {way} than in the baseline, same machine",
            )
        )
    return max(shifts)


def _unsteady(baseline: ResultsDocument, current: ResultsDocument, thresholds: Thresholds) -> str:
    """Why ``current``'s latency cannot be judged (a busy machine, a device that throttled in either run, a
    machine that changed speed), or ""."""
    if _busy(current, thresholds):
        return "machine busy"
    for which, document in (("", current), (" at baseline", baseline)):
        if document.environment.get("throttled"):
            return f"device throttled{which} ({document.environment['throttled']})"
    shift, where = machine_shift(baseline, current)
    if 0 <= thresholds.max_machine_shift < shift:
        return f"machine speed shifted ({where}; limit {thresholds.max_machine_shift:g} %)"
    return ""


#: why a latency verdict stays open when a failure of the first timing did not repeat on the re-timing
UNCONFIRMED = "a latency failure of the first timing did not repeat when timed again"


def _stricter(first: list[Check], fresh: dict[str, Check]) -> tuple[list[Check], bool]:
    """Each latency check as the re-timing saw it, except that a failure of the first timing never becomes a
    pass: it stands, unconfirmed. Returns (checks, whether any failure stands unconfirmed)."""
    checks, unconfirmed = [], False
    for check in first:
        again = fresh.get(check.artifact) if is_latency(check.metric) else None
        if again is not None and not check.passed and again.passed:
            unconfirmed = True
            checks.append(check)
        else:
            checks.append(again or check)
    return checks, unconfirmed


def _latency_judged_again(
    baseline: ResultsDocument,
    current: ResultsDocument,
    thresholds: Thresholds,
    checks: list[Check],
    base: Path | None = None,
) -> tuple[list[Check], str, str]:
    """Latency checks judged on a re-timing when one failed or the current run was timed on a busy or shifting
    machine: (checks, what was done, why the latency verdict cannot be trusted or ""). Re-timing only ever
    makes a verdict stricter or inconclusive: a failure it does not repeat is ``UNCONFIRMED``, never a pass."""
    failed = {c.artifact for c in checks if not c.passed and is_latency(c.metric)}
    if _busy(baseline, thresholds):
        return (
            checks,
            " The baseline was timed while other processes took more than "
            f"{thresholds.max_busy_share:g} % of the CPU: its latency cannot be judged against.",
            "machine busy at baseline",
        )
    unsteady = _unsteady(baseline, current, thresholds)
    if not failed and not unsteady:
        return checks, "", ""
    labels = set(current.labels()) if unsteady else failed | {_reference_label(current, thresholds)} - {None}
    why, note = (f"the first timing: {unsteady}" if unsteady else f"{len(failed)} failed latency check(s)"), ""
    first = checks
    for _ in range(RETIME_ATTEMPTS):
        again = retime(current, labels, base)
        if again.document is None:
            return checks, note + f" Latency could not be timed again ({again.why_not}).", unsteady
        # keyed by artifact: each has one latency check (which ratio it uses may differ between the two timings)
        fresh = {c.artifact: c for c in compare(baseline, again.document, thresholds) if is_latency(c.metric)}
        checks, unconfirmed = _stricter(first, fresh)
        share = again.contention
        note += (
            f" Latency was timed again ({why}): {', '.join(sorted(labels))} and the probe, {again.rounds} "
            f"interleaved rounds, {again.seconds:.0f} s; other processes took "
            f"{share if share is not None else float('nan'):.0%} of the CPU meanwhile."
        )
        unsteady = _unsteady(baseline, again.document, thresholds)
        if not unsteady.startswith("machine speed"):  # steady, or busy: a neighbour does not leave in seconds
            break
        why = f"that timing: {unsteady}"
    return checks, note, unsteady or (UNCONFIRMED if unconfirmed else "")


def judge(
    baseline: ResultsDocument,
    current: ResultsDocument,
    thresholds: Thresholds,
    confirm: bool = True,
    base: Path | None = None,
) -> Verdict:
    """Every check. Latency is judged again on a re-timing of the artifacts involved (``confirm``) when a
    latency check failed, or of every row when the run was timed while other processes took much of the CPU or
    while the machine itself changed speed (``machine_shift``); if the machine is still busy or shifted then,
    latency is "inconclusive" (neither a pass nor a regression: either shifts the ratios either way). Accuracy
    and size failures are regressions whatever the machine did, and so are counted-instruction failures (the count
    lane, where both runs were benched with ``--count``: no re-timing, no busy verdict). ``base``: the current
    results file's folder, against which its relative artifact paths are resolved for re-timing."""
    checks, note = compare_with_note(baseline, current, thresholds)
    if any(check.metric == COUNT_METRIC for check in checks):  # the count lane: the machine's load cannot move it
        unsteady = ""
    elif confirm:
        checks, retimed, unsteady = _latency_judged_again(baseline, current, thresholds, checks, base)
        note += retimed
    else:
        unsteady = (
            "machine busy at baseline" if _busy(baseline, thresholds) else _unsteady(baseline, current, thresholds)
        )
    extra = sorted(set(current.labels()) - set(baseline.labels()))
    failed = [c for c in checks if not c.passed]
    if any(not is_latency(c.metric) for c in failed):
        status = "regression"
    elif unsteady:  # busy, shifting, or a failure the re-timing did not repeat
        status = "inconclusive"
    else:
        status = "regression" if failed else "pass"
    return Verdict(status, verdict_markdown(checks, thresholds, extra, note, status, unsteady))


def run_gate(baseline: ResultsDocument, current: ResultsDocument, thresholds: Thresholds) -> tuple[bool, str]:
    """(passed, Markdown verdict) of ``judge``."""
    verdict = judge(baseline, current, thresholds)
    return verdict.passed, verdict.markdown

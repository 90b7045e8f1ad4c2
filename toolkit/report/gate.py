"""``edgekit gate``: fail a change that makes an artifact bigger, slower or less accurate than the baseline.

Latency is compared as a ratio to a reference artifact benched in the same run (``onnx-fp32`` by default):
a slower CI machine slows the reference too, so only a genuinely slower model moves the ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import tomlread as tomllib
from ..errors import EdgekitError, first_line
from ..results import BenchRow, Latency, ResultsDocument, dataset_identity
from ..schema import check_nesting, check_object, dataclass_schema
from .check import Check
from .count_lane import COUNT_METRIC, count_check, count_note, uses_counts
from .files import markdown_cell


@dataclass(frozen=True)
class Thresholds:
    """How much worse the current run may be, per artifact. Percentages are growth over the baseline."""

    max_size_growth: float = 5.0
    max_latency_growth: float = 30.0
    max_accuracy_drop: float = 1.0  # points of the primary metric (mAP50-95 or top-1, x100)
    #: growth of the reference's own p50 measured in machine-probe units (see ``reference_checks``): wide,
    #: because a different CPU shifts the ratio of a model's speed to a matmul's; negative turns it off
    max_reference_latency_growth: float = 50.0
    reference: str = "onnx-fp32"
    absolute_latency: bool = False
    #: percent of the CPU other processes may take while timing before latency is "inconclusive" (100: never)
    max_busy_share: float = 25.0
    #: percent the machine probe may move (its rounds within the run, or its p50 from the baseline's on the same
    #: CPU) before latency is "inconclusive": the machine itself changed speed (negative turns it off)
    max_machine_shift: float = 10.0
    #: the count lane (both runs benched with ``--count``): percent growth of counted instructions per inference
    max_instruction_growth: float = 2.0
    per_target: dict[str, dict[str, float]] = field(default_factory=dict)

    def for_target(self, target: str) -> Thresholds:
        """These thresholds with the ``[targets.NAME]`` overrides for ``target`` applied."""
        return replace(self, **self.per_target.get(target, {}))


#: the config's keys and their TOML types, from the fields of ``Thresholds`` (one schema): the per-target
#: overrides are its ``[targets.NAME]`` tables, and only the numeric limits may be overridden per target
_, _CONFIG_KEYS = dataclass_schema(Thresholds, renamed={"per_target": "targets"})
_NUMBERS = tuple(name for name, types in _CONFIG_KEYS.items() if float in types)


def load_thresholds(path: Path | None, **overrides: Any) -> Thresholds:
    """Thresholds from a TOML file (top-level keys plus ``[targets.NAME]`` tables), then command-line values."""
    values: dict[str, Any] = {}
    if path is not None:
        values = _read_config(Path(path))
    values.update({k: v for k, v in overrides.items() if v is not None})
    thresholds = Thresholds(**values)
    for where, table in [("", vars(thresholds))] + [(f"[targets.{t}] ", v) for t, v in thresholds.per_target.items()]:
        bad = {name: table[name] for name in _NUMBERS if name in table and not math.isfinite(table[name])}
        if bad:
            raise EdgekitError(
                f"gate thresholds must be finite numbers: {where}{bad} (an infinite limit passes "
                "anything; to skip the reference check use a negative max_reference_latency_growth)"
            )
    return thresholds


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise EdgekitError(f"gate config not found: {path}")
    check_nesting(path.read_bytes(), f"gate config {path}")
    try:
        raw = tomllib.loads(path.read_bytes().decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise EdgekitError(f"gate config {path} does not parse: {first_line(exc)}") from None
    where = f"gate config {path}"
    known = _CONFIG_KEYS
    try:
        check_object(raw, where, {}, known)
    except EdgekitError as exc:
        raise EdgekitError(f"{exc} (allowed: {', '.join(sorted(known))}; [targets.NAME])") from None
    values = {k: v for k, v in raw.items() if k != "targets"}
    per_target = raw.get("targets", {})
    for target, table in per_target.items():
        try:
            check_object(table, f"{where}: [targets.{target}]", {}, {name: (int, float) for name in _NUMBERS})
        except EdgekitError as exc:
            raise EdgekitError(f"{exc} (a target may set {', '.join(_NUMBERS)})") from None
    values["per_target"] = per_target
    return values


def _rows_by_label(document: ResultsDocument, which: str) -> dict[str, BenchRow]:
    if not document.rows:
        raise EdgekitError(f"{which} run has no rows: nothing to gate")
    failed = [r.target for r in document.rows if not r.ok or r.latency is None]
    if failed:
        raise EdgekitError(f"{which} run has failed rows: {', '.join(failed)}")
    labels = document.labels()
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise EdgekitError(
            f"{which} run has several rows labelled {', '.join(twice)}: one of them would go "
            "unchecked; bench each artifact once"
        )
    return dict(zip(labels, document.rows))


#: environment keys that say how latency was measured: two runs gated against each other must agree on these
TIMING_SETTINGS = ("threads", "latency_rounds", "latency_runs", "latency_warmup", "latency_min_seconds")


def _timing_note(baseline: ResultsDocument, current: ResultsDocument) -> str:
    """Refuse two runs timed with different settings; return which settings could not be compared (older runs
    did not record all of them), for the verdict."""
    base, cur = baseline.environment, current.environment
    differ = [
        f"{key} {base[key]!r} vs {cur[key]!r}"
        for key in TIMING_SETTINGS
        if key in base and key in cur and base[key] != cur[key]
    ]
    if differ:
        raise EdgekitError(
            f"baseline and current were timed with different settings ({'; '.join(differ)}): "
            "re-bench one of them with the other's"
        )
    unrecorded = [key for key in TIMING_SETTINGS if (key in base) != (key in cur)]
    return f"; timing settings not recorded by both runs, not compared: {', '.join(unrecorded)}" if unrecorded else ""


def has_rounds(*latencies: Latency | None) -> bool:
    """Compare fastest rounds only when every latency involved recorded them (else plain p50 for all)."""
    return all(latency.p50_best_round is not None for latency in latencies if latency is not None)


def _reference_row(rows: dict[str, BenchRow], name: str, which: str) -> BenchRow:
    matches = [row for label, row in rows.items() if label == name or row.target == name]
    if len(matches) != 1:
        raise EdgekitError(
            f"{which} run has {len(matches)} rows for the latency reference {name!r}; need exactly 1 "
            "(pick another with --reference, or --absolute-latency)"
        )
    return matches[0]


def _latency_check(
    label: str,
    base: BenchRow,
    cur: BenchRow,
    limits: Thresholds,
    base_ref: BenchRow,
    cur_ref: BenchRow,
    probes: tuple[Latency | None, Latency | None],
) -> Check:
    """Latency growth as a ratio to the reference row and, where both runs timed the machine probe, to the
    probe too; the smaller growth is the verdict. On this 2-core VM the reference (ORT FP32) and ORT INT8 drift
    apart by up to 30 % between idle runs while ORT INT8 and the probe move together within 2 %, and
    OpenVINO/TFLite the other way round (benchmarks/gate_noise.json): a drift moves one ratio, a slower
    artifact moves both."""
    best = has_rounds(base.latency, cur.latency, base_ref.latency, cur_ref.latency)
    b = base.latency.gate_p50(best) / base_ref.latency.gate_p50(best)
    c = cur.latency.gate_p50(best) / cur_ref.latency.gate_p50(best)
    check = Check(label, f"p50 / {limits.reference}", b, c, (c / b - 1) * 100, limits.max_latency_growth, "%")
    if None in probes or (best and not has_rounds(*probes)):
        return check
    pb = base.latency.gate_p50(best) / probes[0].gate_p50(best)
    pc = cur.latency.gate_p50(best) / probes[1].gate_p50(best)
    growth = (pc / pb - 1) * 100
    return (
        replace(check, metric=PROBE_METRIC, baseline=pb, current=pc, change=growth) if growth < check.change else check
    )


def _artifact_checks(
    label: str,
    base: BenchRow,
    cur: BenchRow,
    limits: Thresholds,
    base_ref: BenchRow | None,
    cur_ref: BenchRow | None,
    probes: tuple[Latency | None, Latency | None] = (None, None),
    counts: bool = False,
) -> list[Check]:
    if dataset_identity(base.dataset) != dataset_identity(cur.dataset):
        raise EdgekitError(
            f"{label}: measured on different data (baseline {dataset_identity(base.dataset)}, "
            f"current {dataset_identity(cur.dataset)}); re-bench on the same dataset"
        )
    if base.evaluation is not None and cur.evaluation is not None and base.evaluation != cur.evaluation:
        raise EdgekitError(
            f"{label}: scored with different evaluation settings (baseline {base.evaluation}, "
            f"current {cur.evaluation}); bench both with the same --preset"
        )
    metric = base.primary_metric
    if metric not in cur.metrics:
        raise EdgekitError(f"{label}: the current run has no {metric!r} (task {cur.task}, baseline {base.task})")
    checks = [
        Check(
            label,
            "size",
            base.size_bytes,
            cur.size_bytes,
            (cur.size_bytes / base.size_bytes - 1) * 100,
            limits.max_size_growth,
            "%",
        ),
        Check(
            label,
            metric,
            base.metrics[metric],
            cur.metrics[metric],
            (base.metrics[metric] - cur.metrics[metric]) * 100,
            limits.max_accuracy_drop,
            "pts",
        ),
    ]
    if counts:
        checks.insert(1, count_check(label, base, cur, limits))
        return checks
    if base_ref is not None and cur_ref is not None:
        if base is not base_ref:  # the reference's own ratio is 1 by definition
            checks.insert(1, _latency_check(label, base, cur, limits, base_ref, cur_ref, probes))
        return checks
    best = has_rounds(base.latency, cur.latency)
    b, c = base.latency.gate_p50(best), cur.latency.gate_p50(best)
    checks.insert(1, Check(label, "p50 ms", b, c, (c / b - 1) * 100, limits.max_latency_growth, "%"))
    return checks


def compare(baseline: ResultsDocument, current: ResultsDocument, thresholds: Thresholds) -> list[Check]:
    """Every check of every baseline artifact; input that cannot be compared honestly raises."""
    return compare_with_note(baseline, current, thresholds)[0]


def compare_with_note(
    baseline: ResultsDocument, current: ResultsDocument, thresholds: Thresholds
) -> tuple[list[Check], str]:
    """The checks, and one sentence saying how the latency reference itself was checked."""
    base_rows, cur_rows = _rows_by_label(baseline, "baseline"), _rows_by_label(current, "current")
    missing = sorted(set(base_rows) - set(cur_rows))
    if missing:
        raise EdgekitError(f"current run lacks baseline row(s): {', '.join(missing)}")
    base_ref = cur_ref = None
    if not thresholds.absolute_latency:
        base_ref = _reference_row(base_rows, thresholds.reference, "baseline")
        cur_ref = _reference_row(cur_rows, thresholds.reference, "current")
    checks = []
    probes = (_probe(baseline, "baseline"), _probe(current, "current"))
    counts = uses_counts(base_rows, cur_rows)
    for label, base in base_rows.items():
        limits = thresholds.for_target(base.target)
        checks += _artifact_checks(label, base, cur_rows[label], limits, base_ref, cur_ref, probes, counts)
    if counts:
        return checks, count_note(base_rows)
    timing = _timing_note(baseline, current)
    reference = _reference_check(baseline, current, base_ref, cur_ref, thresholds)
    if isinstance(reference, str):
        return checks, reference + timing
    return checks + [reference], (
        f"the reference `{thresholds.reference}` itself was checked as its p50 over a fixed numpy matmul timed in "
        f"the same rounds (`{PROBE_METRIC}`), with a wide limit because another CPU shifts that ratio" + timing
    )


PROBE_METRIC = "p50 / machine probe"


def _probe(document: ResultsDocument, which: str) -> Latency | None:
    try:
        return document.machine_probe
    except EdgekitError as exc:
        raise EdgekitError(f"{which} {exc}") from None


def _reference_check(
    baseline: ResultsDocument,
    current: ResultsDocument,
    base_ref: BenchRow | None,
    cur_ref: BenchRow | None,
    thresholds: Thresholds,
) -> Check | str:
    """The reference's own latency in machine-probe units (a fixed matmul timed in the same rounds), baseline
    vs current: a slowdown of every artifact alike moves this though it leaves every ratio at 1. Returns the
    check, or why there is none."""
    if base_ref is None or cur_ref is None:
        return "every artifact's absolute p50 was compared, the reference's included"
    limit = thresholds.for_target(base_ref.target).max_reference_latency_growth
    if limit < 0:
        return "the reference's own latency was not checked (max_reference_latency_growth < 0)"
    probes = _probe(baseline, "baseline"), _probe(current, "current")
    if None in probes:
        missing = "baseline" if probes[0] is None else "current"
        raise EdgekitError(
            f"the {missing} run has no machine probe, so the reference's own latency cannot be "
            "checked: bench it with this edgekit, or pass --max-reference-latency-growth -1 to gate "
            "without that check"
        )
    best = has_rounds(base_ref.latency, cur_ref.latency, *probes)
    b = base_ref.latency.gate_p50(best) / probes[0].gate_p50(best)
    c = cur_ref.latency.gate_p50(best) / probes[1].gate_p50(best)
    return Check(thresholds.reference, PROBE_METRIC, b, c, (c / b - 1) * 100, limit, "%")


def _fmt(value: float, metric: str) -> str:
    if metric == "size":
        return f"{value / 1e6:.3f} MB"
    if metric == COUNT_METRIC:
        return f"{value:,.0f}"
    return f"{value:.4f}" if metric.startswith("p50 /") or "map" in metric or "top" in metric else f"{value:.2f}"


_TITLES = {
    "pass": "✅ edgekit gate: pass",
    "regression": "❌ edgekit gate: regression",
    "inconclusive": "⚠️ edgekit gate: inconclusive: {why} (latency not judged; run it again)",
}


def verdict_markdown(
    checks: list[Check],
    thresholds: Thresholds,
    extra_rows: list[str],
    note: str = "",
    status: str | None = None,
    why: str = "machine busy",
) -> str:
    """The Markdown verdict: one line per check, failures first; ``why`` a latency verdict is inconclusive. The
    title names the lane that decided latency: counted instructions, or wall-clock time."""
    failed = [c for c in checks if not c.passed]
    counted = any(c.metric == COUNT_METRIC for c in checks)
    title = _TITLES[status or ("regression" if failed else "pass")].format(why=why)
    title += " (count lane)" if counted else " (wall-clock lane)"
    latency = (
        "absolute p50"
        if thresholds.absolute_latency
        else f"p50 relative to `{thresholds.reference}` or to the machine probe, whichever grew less"
    )
    latency += " (the fastest of the bench's interleaved rounds, where it recorded them)"
    if counted:
        latency = f"counted instructions per inference (≤ {thresholds.max_instruction_growth:g} % growth)"
    lines = [
        f"### {title}",
        "",
        f"{len(checks) - len(failed)}/{len(checks)} checks within thresholds; "
        f"latency compared as {latency}; {note or 'the reference itself was not checked'}.",
        "",
        "| artifact | metric | baseline | current | change | threshold | verdict |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for c in sorted(checks, key=lambda c: c.passed):
        lines.append(
            f"| {markdown_cell(c.artifact)} | {c.metric} | {_fmt(c.baseline, c.metric)} | "
            f"{_fmt(c.current, c.metric)} | "
            f"{c.change:+.2f} {c.unit} | ≤ {c.limit:g} {c.unit} | {'pass' if c.passed else '**FAIL**'} |"
        )
    if extra_rows:
        lines += ["", f"Not in the baseline (not gated): {', '.join(extra_rows)}"]
    return "\n".join(lines) + "\n"

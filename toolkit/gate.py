"""``edgekit gate``: fail a change that makes an artifact bigger, slower or less accurate than the baseline.

Latency is compared as a ratio to a reference artifact benched in the same run (``onnx-fp32`` by default):
a slower CI machine slows the reference too, so only a genuinely slower model moves the ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import tomlread as tomllib
from .errors import EdgekitError
from .report import row_labels
from .report_files import primary_metric
from .results import dataset_identity
from .schema import check_nesting, check_object


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
    per_target: dict[str, dict[str, float]] = field(default_factory=dict)

    def for_target(self, target: str) -> "Thresholds":
        """These thresholds with the ``[targets.NAME]`` overrides for ``target`` applied."""
        return replace(self, **self.per_target.get(target, {}))


_NUMBERS = ("max_size_growth", "max_latency_growth", "max_accuracy_drop", "max_reference_latency_growth")


def load_thresholds(path: Path | None, **overrides: Any) -> Thresholds:
    """Thresholds from a TOML file (top-level keys plus ``[targets.NAME]`` tables), then command-line values."""
    values: dict[str, Any] = {}
    if path is not None:
        values = _read_config(Path(path))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Thresholds(**values)


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise EdgekitError(f"gate config not found: {path}")
    check_nesting(path.read_bytes(), f"gate config {path}")
    try:
        raw = tomllib.loads(path.read_bytes().decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise EdgekitError(f"gate config {path} does not parse: {str(exc).splitlines()[0]}") from None
    where = f"gate config {path}"
    known = {name: (int, float) for name in _NUMBERS} | {"reference": str, "absolute_latency": bool,
                                                          "targets": dict}
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


@dataclass(frozen=True)
class Check:
    """One metric of one artifact, baseline vs current."""

    artifact: str
    metric: str
    baseline: float
    current: float
    change: float
    limit: float
    unit: str

    @property
    def passed(self) -> bool:
        return self.change <= self.limit


def _rows_by_label(document: dict[str, Any], which: str) -> dict[str, dict[str, Any]]:
    rows = document["results"]
    failed = [r["target"] for r in rows if r["status"] != "ok"]
    if failed:
        raise EdgekitError(f"{which} run has failed rows: {', '.join(failed)}")
    return dict(zip(row_labels(rows), rows))


def gate_p50(row: dict[str, Any], best_round: bool) -> float:
    """The latency the gate compares: the fastest interleaved round's p50 (``best_round``) or the plain p50."""
    return row["latency_ms"]["p50_best_round" if best_round else "p50"]


def _has_rounds(*rows: dict[str, Any] | None) -> bool:
    """Compare fastest rounds only when every row involved recorded them (else plain p50 for all)."""
    return all("p50_best_round" in row["latency_ms"] for row in rows if row is not None)


def _reference_row(rows: dict[str, dict[str, Any]], name: str, which: str) -> dict[str, Any]:
    matches = [row for label, row in rows.items() if label == name or row["target"] == name]
    if len(matches) != 1:
        raise EdgekitError(f"{which} run has {len(matches)} rows for the latency reference {name!r}; need exactly 1 "
                           "(pick another with --reference, or --absolute-latency)")
    return matches[0]


def _artifact_checks(label: str, base: dict[str, Any], cur: dict[str, Any], limits: Thresholds,
                     base_ref: dict[str, Any] | None, cur_ref: dict[str, Any] | None) -> list[Check]:
    if dataset_identity(base["dataset"]) != dataset_identity(cur["dataset"]):
        raise EdgekitError(f"{label}: measured on different data (baseline {dataset_identity(base['dataset'])}, "
                           f"current {dataset_identity(cur['dataset'])}); re-bench on the same dataset")
    if "evaluation" in base and "evaluation" in cur and base["evaluation"] != cur["evaluation"]:
        raise EdgekitError(f"{label}: scored with different evaluation settings (baseline {base['evaluation']}, "
                           f"current {cur['evaluation']}); bench both with the same --preset")
    metric = primary_metric(base)
    checks = [Check(label, "size", base["size_bytes"], cur["size_bytes"],
                    (cur["size_bytes"] / base["size_bytes"] - 1) * 100, limits.max_size_growth, "%"),
              Check(label, metric, base["metrics"][metric], cur["metrics"][metric],
                    (base["metrics"][metric] - cur["metrics"][metric]) * 100, limits.max_accuracy_drop, "pts")]
    best = _has_rounds(base, cur, base_ref, cur_ref)
    if base_ref is None or cur_ref is None:
        b, c, name = gate_p50(base, best), gate_p50(cur, best), "p50 ms"
    elif base is base_ref:
        return checks  # the reference's own ratio is 1 by definition
    else:
        b = gate_p50(base, best) / gate_p50(base_ref, best)
        c = gate_p50(cur, best) / gate_p50(cur_ref, best)
        name = f"p50 / {limits.reference}"
    checks.insert(1, Check(label, name, b, c, (c / b - 1) * 100, limits.max_latency_growth, "%"))
    return checks


def compare(baseline: dict[str, Any], current: dict[str, Any], thresholds: Thresholds) -> list[Check]:
    """Every check of every baseline artifact; input that cannot be compared honestly raises."""
    return _compare(baseline, current, thresholds)[0]


def _compare(baseline: dict[str, Any], current: dict[str, Any],
             thresholds: Thresholds) -> tuple[list[Check], str]:
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
    for label, base in base_rows.items():
        limits = thresholds.for_target(base["target"])
        checks += _artifact_checks(label, base, cur_rows[label], limits, base_ref, cur_ref)
    reference = _reference_check(baseline, current, base_ref, cur_ref, thresholds)
    if isinstance(reference, str):
        return checks, reference
    return checks + [reference], (
        f"the reference `{thresholds.reference}` itself was checked as its p50 over a fixed numpy matmul timed in "
        f"the same rounds (`{PROBE_METRIC}`), with a wide limit because another CPU shifts that ratio")


PROBE_METRIC = "p50 / machine probe"


def _probe(document: dict[str, Any], which: str) -> dict[str, Any] | None:
    probe = document["environment"].get("machine_probe_ms")
    if probe is None:
        return None
    check_object(probe, f"{which} environment.machine_probe_ms", {"p50": (int, float)},
                 {"p50_best_round": (int, float)}, strict=False)
    if any(probe.get(key, 1) <= 0 for key in ("p50", "p50_best_round")):
        raise EdgekitError(f"{which} environment.machine_probe_ms: latencies must be positive")
    return {"latency_ms": probe}  # shaped like a row, for gate_p50


def _reference_check(baseline: dict[str, Any], current: dict[str, Any], base_ref: dict[str, Any] | None,
                     cur_ref: dict[str, Any] | None, thresholds: Thresholds) -> Check | str:
    """The reference's own latency in machine-probe units (a fixed matmul timed in the same rounds), baseline
    vs current: a slowdown of every artifact alike moves this though it leaves every ratio at 1. Returns the
    check, or why there is none."""
    if base_ref is None or cur_ref is None:
        return "every artifact's absolute p50 was compared, the reference's included"
    limit = thresholds.for_target(base_ref["target"]).max_reference_latency_growth
    if limit < 0:
        return "the reference's own latency was not checked (max_reference_latency_growth < 0)"
    probes = _probe(baseline, "baseline"), _probe(current, "current")
    if None in probes:
        missing = "baseline" if probes[0] is None else "current"
        return (f"the reference's own latency was not checked: the {missing} run has no machine probe "
                "(bench it with this edgekit)")
    best = _has_rounds(base_ref, cur_ref, *probes)
    b = gate_p50(base_ref, best) / gate_p50(probes[0], best)
    c = gate_p50(cur_ref, best) / gate_p50(probes[1], best)
    return Check(thresholds.reference, PROBE_METRIC, b, c, (c / b - 1) * 100, limit, "%")


def _fmt(value: float, metric: str) -> str:
    if metric == "size":
        return f"{value / 1e6:.3f} MB"
    return f"{value:.4f}" if metric.startswith("p50 /") or "map" in metric or "top" in metric else f"{value:.2f}"


def verdict_markdown(checks: list[Check], thresholds: Thresholds, extra_rows: list[str], note: str = "") -> str:
    """The Markdown verdict: one line per check, failures first."""
    failed = [c for c in checks if not c.passed]
    title = "❌ edgekit gate: regression" if failed else "✅ edgekit gate: pass"
    latency = ("absolute p50" if thresholds.absolute_latency else f"p50 relative to `{thresholds.reference}`")
    latency += " (the fastest of the bench's interleaved rounds, where it recorded them)"
    lines = [f"### {title}", "", f"{len(checks) - len(failed)}/{len(checks)} checks within thresholds; "
             f"latency compared as {latency}; {note or 'the reference itself was not checked'}.", "",
             "| artifact | metric | baseline | current | change | threshold | verdict |",
             "|---|---|---:|---:|---:|---:|---|"]
    for c in sorted(checks, key=lambda c: c.passed):
        lines.append(f"| {c.artifact} | {c.metric} | {_fmt(c.baseline, c.metric)} | {_fmt(c.current, c.metric)} | "
                     f"{c.change:+.2f} {c.unit} | ≤ {c.limit:g} {c.unit} | {'pass' if c.passed else '**FAIL**'} |")
    if extra_rows:
        lines += ["", f"Not in the baseline (not gated): {', '.join(extra_rows)}"]
    return "\n".join(lines) + "\n"


def run_gate(baseline: dict[str, Any], current: dict[str, Any], thresholds: Thresholds) -> tuple[bool, str]:
    """(passed, Markdown verdict)."""
    checks, note = _compare(baseline, current, thresholds)
    extra = sorted(set(row_labels(current["results"])) - set(row_labels(baseline["results"])))
    return all(c.passed for c in checks), verdict_markdown(checks, thresholds, extra, note)

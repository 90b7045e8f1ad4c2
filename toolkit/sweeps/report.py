"""A sweep's table (Markdown, CSV) and its two plots: accuracy vs p50 ratio (the Pareto plot, marker area =
file size) and accuracy vs compression ratio (reference size / artifact size). Colour is the prune ratio and
the marker the target; only the points on each plot's front carry a text label (the table has them all)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import EdgekitError
from ..report.files import csv_text, label_offsets, markdown_cell, pareto_front, pyplot
from ..results import BenchRow, ResultsDocument
from .dominance import DOMINATED, DOMINATES, FAMILIES, summary

COLUMNS = (
    "label",
    "model",
    "source",
    "imgsz",
    "prune",
    "epochs",
    "macs_ratio",
    "target",
    "calibration",
    "metric",
    "value",
    "metric_change_pts",
    "p50_ms",
    "p50_vs_reference",
    "size_bytes",
    "compression_ratio",
    "vs_smaller_input",
    "vs_other_models",
    "status",
)


def _flat(row: BenchRow, label: str) -> dict[str, Any]:
    cell, metric = row.cell, row.primary_metric if row.ok else ""
    size_ratio = cell.get("size_vs_reference")
    return {
        "label": label,
        "model": cell.get("model", ""),
        "source": cell.get("source") or "",
        "imgsz": cell.get("imgsz") or "",
        "prune": cell.get("prune", ""),
        "epochs": cell.get("epochs", ""),
        "macs_ratio": cell.get("macs_ratio", ""),
        "target": row.target,
        "calibration": cell.get("calibration") or "",
        "metric": metric,
        "value": row.metrics.get(metric, ""),
        "metric_change_pts": cell.get("metric_change_pts", ""),
        "p50_ms": row.latency.p50 if row.ok and row.latency else "",
        "p50_vs_reference": cell.get("p50_vs_reference", ""),
        "size_bytes": row.size_bytes or "",
        "compression_ratio": 1 / size_ratio if size_ratio else "",
        "vs_smaller_input": summary(cell, "vs_smaller_input"),
        "vs_other_models": summary(cell, "vs_other_models"),
        "status": row.status,
    }


def sweep_csv(document: ResultsDocument) -> str:
    """One line per grid point, numbers unrounded."""
    return csv_text(COLUMNS, (_flat(row, label) for row, label in zip(document.rows, document.labels())))


def _fmt(value: Any, spec: str) -> str:
    return "" if value == "" or value is None else format(value, spec)


def sweep_markdown(document: ResultsDocument) -> str:
    """The grid as a GitHub-flavoured table; ratios are to the first row, the sweep's reference."""
    env = document.environment
    sweep = env.get("sweep", {})
    models = ", ".join(sweep.get("models") or [sweep.get("model", "?")])
    lines = [
        f"### edgekit sweep — {models} on {sweep.get('data') or 'its card dataset'}; "
        f"timed in one interleaved run on {env.get('cpu', '?')}, {env.get('threads', '?')} threads",
        "",
        "| grid point | target | calibration | MACs × | metric | value | Δ pts vs ref | p50 ms | p50 × ref | "
        "size MB | compression × | vs smaller input (pts) | vs other models (pts) | status |",
        "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for row, label in zip(document.rows, document.labels()):
        f = _flat(row, label)
        size = "" if f["size_bytes"] == "" else f"{f['size_bytes'] / 1e6:.2f}"
        lines.append(
            f"| {markdown_cell(f['model'])} | {markdown_cell(f['target'])} | "
            f"{markdown_cell(f['calibration'])} | {_fmt(f['macs_ratio'], '.2f')} | {f['metric']} | "
            f"{_fmt(f['value'], '.4f')} | {_fmt(f['metric_change_pts'], '+.2f')} | "
            f"{_fmt(f['p50_ms'], '.2f')} | {_fmt(f['p50_vs_reference'], '.2f')} | {size} | "
            f"{_fmt(f['compression_ratio'], '.1f')} | {f['vs_smaller_input']} | {f['vs_other_models']} | "
            f"{markdown_cell(f['status'])} |"
        )
    isa = ", ".join(env.get("isa", [])) if isinstance(env.get("isa"), list) else ""
    cells = sweep.get("cells", {})
    lines += [
        "",
        f"{env.get('os', '')}, {env.get('cores', '?')} cores{', ISA: ' + isa if isa else ''}; "
        f"edgekit {env.get('edgekit', '')}; executor {sweep.get('executor', '?')}, "
        f"{sweep.get('wall_s', '?')} s; cells ran {cells.get('ran', {})}, reused {cells.get('reused', {})}, "
        f"failed {cells.get('failed', {})}",
        "",
        "vs smaller input / vs other models: a pruned point's headline metric minus that of the same model "
        "unpruned at the other input sizes / of the other models unpruned, at equal p50 (their Pareto front "
        "interpolated; same target and calibration; edgekit.sweeps.dominance).",
        "",
    ]
    return "\n".join(lines)


_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _scatter(fig: Any, ax: Any, rows: list[tuple[BenchRow, str]], xs: list[float], labelled: list[int]) -> None:
    """Colour = prune ratio, marker = target, area = file size; text labels only on ``labelled`` points."""
    biggest = max(row.size_bytes or 0 for row, _ in rows) or 1
    prunes = sorted({row.cell.get("prune", 0.0) for row, _ in rows})
    targets = list(dict.fromkeys(row.target for row, _ in rows))
    ys = [row.metrics[row.primary_metric] for row, _ in rows]
    for (row, _label), x, y in zip(rows, xs, ys):
        ax.scatter(
            x,
            y,
            s=30 + 600 * (row.size_bytes or 0) / biggest,
            alpha=0.7,
            edgecolors="black",
            linewidths=0.5,
            color=_COLOURS[prunes.index(row.cell.get("prune", 0.0)) % len(_COLOURS)],
            marker=_MARKERS[targets.index(row.target) % len(_MARKERS)],
        )
    _mark_verdicts(ax, rows, xs, ys)
    for prune, colour in zip(prunes, _COLOURS):
        ax.scatter([], [], color=colour, label=f"prune {prune:g}")
    for target, marker in zip(targets, _MARKERS):
        ax.scatter([], [], color="grey", marker=marker, label=target)
    ax.autoscale_view()
    to_points = 72.0 / fig.dpi
    anchors = [tuple(xy * to_points) for xy in ax.transData.transform([(xs[i], ys[i]) for i in labelled])]
    offsets = label_offsets(anchors, [4.0 * max(len(rows[i][1]), 8) for i in labelled])
    for i, offset in zip(labelled, offsets):
        ax.annotate(
            rows[i][1],
            (xs[i], ys[i]),
            fontsize=6,
            xytext=offset,
            textcoords="offset points",
            ha="right" if offset[0] < 0 else "left",
        )


def _mark_verdicts(ax: Any, rows: list[tuple[BenchRow, str]], xs: list[float], ys: list[float]) -> None:
    """A green ring: a pruned point that beats every alternative it was compared with; a red cross: one that an
    alternative beats at equal p50 (``edgekit.sweeps.dominance``)."""
    for (row, _label), x, y in zip(rows, xs, ys):
        verdicts = [row.cell[f]["verdict"] for f in FAMILIES if isinstance(row.cell.get(f), dict)]
        if verdicts and all(v == DOMINATES for v in verdicts):
            ax.scatter(x, y, s=260, facecolors="none", edgecolors="green", linewidths=1.5)
        elif DOMINATED in verdicts:
            ax.scatter(x, y, s=80, marker="x", color="red", linewidths=1.2)
    if any(isinstance(row.cell.get(f), dict) for row, _ in rows for f in FAMILIES):
        ax.scatter([], [], s=120, facecolors="none", edgecolors="green", label="pruned, beats the alternatives")
        ax.scatter([], [], marker="x", color="red", label="pruned, beaten at equal p50")


def sweep_plots(document: ResultsDocument, pareto: Path, compression: Path) -> None:
    """Write both plots (PNG); raises ``EdgekitError`` when matplotlib is missing or nothing was measured."""
    plt = pyplot()

    rows = [(r, label) for r, label in zip(document.rows, document.labels()) if r.ok and "p50_vs_reference" in r.cell]
    if not rows:
        raise EdgekitError("nothing to plot: no grid point was measured against the reference")
    metric = rows[0][0].primary_metric
    ratios = [row.cell["p50_vs_reference"] for row, _ in rows]
    front = pareto_front([(x, row.metrics[row.primary_metric]) for x, (row, _) in zip(ratios, rows)])
    for path, xs, xlabel, title, marks in (
        (
            pareto,
            ratios,
            "p50 latency / reference p50 (one interleaved run)",
            "accuracy vs latency (marker area = file size; dashed: Pareto front)",
            front,
        ),
        (
            compression,
            [1 / row.cell["size_vs_reference"] for row, _ in rows],
            "compression ratio (reference size / artifact size)",
            "accuracy vs compression ratio",
            None,
        ),
    ):
        fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
        compression_front = pareto_front([(-x, row.metrics[metric]) for x, (row, _) in zip(xs, rows)])
        _scatter(fig, ax, rows, xs, marks if marks is not None else compression_front)
        if marks is not None:
            ordered = sorted(marks, key=lambda i: xs[i])
            ax.plot([xs[i] for i in ordered], [rows[i][0].metrics[metric] for i in ordered], "--", color="grey")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric)
        ax.set_title(f"edgekit sweep: {title}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=7)
        fig.tight_layout()
        fig.savefig(path, format="png")
        plt.close(fig)

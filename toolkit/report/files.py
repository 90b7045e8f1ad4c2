"""Bench results as files people read: Markdown (fits a GitHub job summary), CSV, and a latency-accuracy plot."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import EdgekitError
from ..fsutil import atomic_file
from ..results import BenchRow, ResultsDocument

CSV_COLUMNS = (
    "label",
    "target",
    "runtime",
    "runtime_version",
    "task",
    "metric",
    "value",
    "drop",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "p50_ratio",
    "size_bytes",
    "size_ratio",
    "peak_rss_bytes",
    "status",
)


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _flat(row: BenchRow, label: str) -> dict[str, Any]:
    timed = row.ok and row.latency is not None
    metric = row.primary_metric if row.ok else ""
    return {
        "label": label,
        "target": row.target,
        "runtime": _blank(row.runtime),
        "runtime_version": _blank(row.runtime_version),
        "task": _blank(row.task),
        "metric": metric,
        "value": row.metrics.get(metric, ""),
        "drop": row.drop.get(metric, ""),
        "p50_ms": row.latency.p50 if timed else "",
        "p90_ms": row.latency.p90 if timed else "",
        "p99_ms": row.latency.p99 if timed else "",
        "p50_ratio": row.ratio.get("p50", ""),
        "size_bytes": _blank(row.size_bytes),
        "size_ratio": row.ratio.get("size", ""),
        "peak_rss_bytes": _blank(row.peak_rss_bytes),
        "status": row.status,
    }


def csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet will not run: one starting with ``= + - @`` (or a tab / carriage return) gets a
    leading apostrophe; numbers pass as they are."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def markdown_cell(value: Any) -> str:
    """Text that stays inside one Markdown table cell: pipes escaped, line breaks made spaces."""
    return " ".join(str(value).splitlines()).replace("|", "\\|")


def csv_text(columns: tuple[str, ...], records: Iterable[dict[str, Any]]) -> str:
    """CSV of ``records`` under ``columns``, numbers unrounded; text cells defused for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: csv_cell(value) for key, value in record.items()})
    return buffer.getvalue()


def to_csv(document: ResultsDocument) -> str:
    """One line per artifact, numbers unrounded; text cells defused for spreadsheets (``csv_cell``)."""
    return csv_text(CSV_COLUMNS, (_flat(row, label) for row, label in zip(document.rows, document.labels())))


def _num(value: Any, fmt: str) -> str:
    return "" if value == "" else format(value, fmt)


#: the accuracy column of bench tables: how many points the headline metric lost against the FP32 parent
#: (positive: lost; negative: gained), the same name in the terminal table and the Markdown report
DROP_COLUMN = "drop pts"


def format_drop(drop: float | None) -> str:
    """A drop (a fraction, as rows store it) in points, unsigned when it is a loss: ``0.93``, ``-0.12``."""
    return "" if drop is None else f"{drop * 100:.2f}"


def to_markdown(document: ResultsDocument) -> str:
    """A GitHub-flavoured Markdown table plus the environment it was measured in."""
    env = document.environment
    lines = [
        f"### edgekit bench — {env.get('cpu', '?')}, {env.get('threads', '?')} threads",
        "",
        f"| artifact | runtime | metric | value | {DROP_COLUMN} | p50 ms | p50 × | p90 ms | size MB | size × "
        "| status |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row, label in zip(document.rows, document.labels()):
        f = _flat(row, label)
        drop = format_drop(None if f["drop"] == "" else f["drop"])
        size = "" if f["size_bytes"] == "" else f"{f['size_bytes'] / 1e6:.2f}"
        lines.append(
            f"| {markdown_cell(label)} | {markdown_cell(f['runtime'])} | {f['metric']} | "
            f"{_num(f['value'], '.4f')} | {drop} | {_num(f['p50_ms'], '.2f')} | "
            f"{_num(f['p50_ratio'], '.2f')} | "
            f"{_num(f['p90_ms'], '.2f')} | {size} | {_num(f['size_ratio'], '.2f')} | "
            f"{markdown_cell(f['status'])} |"
        )
    isa = ", ".join(env.get("isa", [])) if isinstance(env.get("isa"), list) else ""
    lines += [
        "",
        f"{env.get('os', '')}, Python {env.get('python', '')}, {env.get('cores', '?')} cores"
        f"{', ISA: ' + isa if isa else ''}; "
        f"runtimes: {', '.join(env.get('runtimes', []))}; edgekit {env.get('edgekit', '')}",
        "",
    ]
    return "\n".join(lines)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points no other point beats on both latency (lower) and accuracy (higher)."""
    front = []
    for i, (lat, acc) in enumerate(points):
        dominated = any((l2 <= lat and a2 >= acc) and (l2 < lat or a2 > acc) for l2, a2 in points)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


_LABEL_SPOTS = ((6, 4), (6, -22), (-8, 4), (-8, -22), (6, 26), (6, -44), (-8, 26), (-8, -44))


def label_offsets(
    anchors: list[tuple[float, float]], widths: list[float], height: float = 20.0
) -> list[tuple[int, int]]:
    """Text offsets (points) for labels of the given widths at ``anchors`` (display points): each label takes the
    first spot around its marker that no earlier label covers (negative x spots put the text to the left)."""
    boxes: list[tuple[float, float, float, float]] = []
    offsets = []
    for (x, y), width in zip(anchors, widths):
        for dx, dy in _LABEL_SPOTS:
            left = x + dx - (width if dx < 0 else 0)
            box = (left, y + dy, left + width, y + dy + height)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes):
                break
        boxes.append(box)
        offsets.append((dx, dy))
    return offsets


def pyplot() -> Any:
    """``matplotlib.pyplot`` drawing to files (Agg), or one error line naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise EdgekitError("matplotlib is not installed: pip install 'edgekit-deploy[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(document: ResultsDocument, path: Path) -> None:
    """Latency (p50) vs accuracy, one point per artifact, marker area ∝ file size, Pareto front joined."""
    plt = pyplot()

    rows = [(r, label) for r, label in zip(document.rows, document.labels()) if r.ok and r.latency]
    if not rows:
        raise EdgekitError("nothing to plot: no artifact was benched successfully")
    points = [(r.latency.p50, r.metrics[r.primary_metric]) for r, _ in rows]
    biggest = max(r.size_bytes for r, _ in rows)
    front = pareto_front(points)
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    for index, ((row, _label), (lat, acc)) in enumerate(zip(rows, points)):
        on_front = index in front
        ax.scatter(
            lat,
            acc,
            s=40 + 900 * row.size_bytes / biggest,
            alpha=0.75 if on_front else 0.35,
            color="tab:orange" if on_front else "tab:blue",
            edgecolors="black",
            linewidths=0.6,
        )
    ax.autoscale_view()
    to_points = 72.0 / fig.dpi
    anchors = [tuple(xy * to_points) for xy in ax.transData.transform(points)]
    offsets = label_offsets(anchors, [4.2 * max(len(label), 8) for _, label in rows])
    for (row, label), point, offset in zip(rows, points, offsets):
        ax.annotate(
            f"{label}\n{row.size_bytes / 1e6:.2f} MB",
            point,
            fontsize=7,
            xytext=offset,
            textcoords="offset points",
            ha="right" if offset[0] < 0 else "left",
        )
    ax.plot(
        [points[i][0] for i in front],
        [points[i][1] for i in front],
        "--",
        color="tab:orange",
        label="Pareto front (no other artifact is both faster and more accurate)",
    )
    metrics = sorted({r.primary_metric for r, _ in rows})
    env = document.environment
    ax.set_xlabel(f"p50 latency, ms ({env.get('threads', '?')} threads, {env.get('cpu', '')})")
    ax.set_ylabel(" / ".join(metrics))
    ax.set_title("edgekit bench: latency vs accuracy (marker area ∝ file size)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def write_reports(
    document: ResultsDocument, markdown: Path | None = None, csv_path: Path | None = None, plot_path: Path | None = None
) -> list[Path]:
    """Write whichever of the three reports were asked for (atomically); returns the paths written."""
    written = []
    for path, render in ((markdown, to_markdown), (csv_path, to_csv)):
        if path is not None:
            with atomic_file(path) as tmp:
                tmp.write_text(render(document))
            written.append(path)
    if plot_path is not None:
        plot(document, plot_path)
        written.append(plot_path)
    return written

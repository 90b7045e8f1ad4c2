"""Human-readable output of bench and export results (rich tables)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..results import TASK_METRICS as METRIC_KEYS
from ..results import BenchRow, ResultsDocument
from .files import DROP_COLUMN, format_drop


def _fmt_size(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"


def _metric_keys(rows: tuple[BenchRow, ...]) -> list[str]:
    """Metric columns for the tasks present (a run may mix detectors and classifiers)."""
    keys: list[str] = []
    for row in rows:
        for key in METRIC_KEYS.get(row.task or "", ()):
            if row.ok and key not in keys:
                keys.append(key)
    return keys


def _ratio(row: BenchRow, key: str) -> str:
    value = row.ratio.get(key)
    return "" if value is None else f"{value:.2f}"


def bench_table(document: ResultsDocument, title: str = "") -> Table:
    """One row per artifact: accuracy, drop and ratios vs parent, latency percentiles, size, peak RSS
    (``title``: added to the heading, e.g. the device benched on)."""
    rows = document.rows
    labels = document.labels()
    keys = _metric_keys(rows)
    env = document.environment
    isa = env.get("isa")
    where = f" {title}" if title else ""
    table = Table(
        title=escape(f"edgekit bench{where} — {env.get('cpu', '?')}, {env.get('threads', '?')} threads"),
        caption=escape(f"ISA: {', '.join(map(str, isa))}") if isinstance(isa, list) and isa else None,
    )
    for column in (
        "target",
        *keys,
        DROP_COLUMN,
        "p50 ms",
        "p50 ×",
        "p90 ms",
        "p99 ms",
        "size",
        "size ×",
        "peak RSS",
        "status",
    ):
        table.add_column(column, justify="left" if column in ("target", "status") else "right")
    for row, label in zip(rows, labels):
        if not row.ok or row.latency is None:
            table.add_row(escape(label), *[""] * (len(keys) + 8), f"[red]{escape(row.status)}[/red]")
            continue
        lat = row.latency
        drop = row.drop.get(row.primary_metric)
        metrics = [f"{row.metrics[k]:.4f}" if k in row.metrics else "" for k in keys]
        rss = row.peak_rss_bytes
        table.add_row(
            escape(label),
            *metrics,
            format_drop(drop),
            f"{lat.p50:.2f}",
            _ratio(row, "p50"),
            f"{lat.p90:.2f}",
            f"{lat.p99:.2f}",
            _fmt_size(row.size_bytes),
            _ratio(row, "size"),
            "" if rss is None else f"{rss / 2**20:.0f} MiB",
            "ok",
        )
    return table


def devices_table(documents: dict[str, ResultsDocument]) -> Table:
    """Several devices' results as one table with a device column (``bench --on`` given more than once); ratios
    are to each device's own FP32 parent, never across devices."""
    table = Table(title="edgekit bench on several devices")
    for column in ("device", "cpu", "artifact", "metric", "value", DROP_COLUMN, "p50 ms", "p50 ×", "size", "status"):
        table.add_column(
            column, justify="left" if column in ("device", "cpu", "artifact", "metric", "status") else "right"
        )
    for device, document in documents.items():
        cpu = str(document.environment.get("cpu", "?"))
        for row, label in zip(document.rows, document.labels()):
            if not row.ok or row.latency is None:
                table.add_row(escape(device), escape(cpu), escape(label), *[""] * 6, f"[red]{escape(row.status)}[/red]")
                continue
            metric = row.primary_metric
            drop = row.drop.get(metric)
            table.add_row(
                escape(device),
                escape(cpu),
                escape(label),
                metric,
                f"{row.metrics[metric]:.4f}",
                format_drop(drop),
                f"{row.latency.p50:.2f}",
                _ratio(row, "p50"),
                _fmt_size(row.size_bytes),
                "ok",
            )
    return table


def export_table(rows: list[Any]) -> Table:
    """One row per target: status, output directory, seconds."""
    table = Table(title="edgekit export")
    for column in ("target", "status", "artifact", "seconds"):
        table.add_column(column)
    for row in rows:
        status = "[green]ok[/green]" if row.status == "ok" else f"[red]{escape(row.status)}[/red]"
        table.add_row(escape(row.target), status, escape(str(row.path)), f"{row.seconds:.1f}")
    return table


def compress_table(document: dict[str, Any]) -> Table:
    """One row per compression step: params, MACs, file size, sparsity, accuracy."""
    rows = [{"step": "before", **document["before"]}] + document["steps"]
    keys = list(METRIC_KEYS.get(document["task"], ()))
    table = Table(title=f"edgekit compress — {document['model']}")
    for column in ("step", "params", "MACs", "size", "sparsity", *keys):
        table.add_column(column, justify="left" if column == "step" else "right")
    for row in rows:
        label = f"{row['step']} {row['round']}" if "round" in row else row["step"]
        table.add_row(
            label,
            f"{row['params'] / 1e6:.3f} M",
            f"{row['macs'] / 1e6:.1f} M",
            _fmt_size(row["size_bytes"]),
            f"{row['sparsity']:.0%}",
            *[f"{row['metrics'][k]:.4f}" for k in keys],
        )
    return table


def versus_table(pairs: list[dict[str, Any]]) -> Table:
    """Compressed model over original, per target, from one bench run."""
    table = Table(title="compressed vs original (same bench run)")
    keys = list(pairs[0]["metric_change"]) if pairs else []
    for column in ("target", "p50 ×", "size ×", *[f"Δ {k}" for k in keys[:2]]):
        table.add_column(column, justify="left" if column == "target" else "right")
    for pair in pairs:
        table.add_row(
            pair["target"],
            f"{pair['p50_ratio']:.2f}",
            f"{pair['size_ratio']:.2f}",
            *[f"{pair['metric_change'][k]:+.4f}" for k in keys[:2]],
        )
    return table


def _epoch_lines(label: str) -> Callable[[int, int, int, float], None]:
    """``on_step`` that writes ``<label> epoch N/steps loss L (S s)`` to stderr when an epoch's last step ends."""
    import sys
    import time

    start = time.perf_counter()

    def on_step(epoch: int, step: int, steps: int, loss: float) -> None:
        if step == steps:
            print(
                f"{label} epoch {epoch + 1}: {steps} steps, loss {loss:.4f}, {time.perf_counter() - start:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    return on_step


@contextmanager
def step_progress(console: Console, label: str) -> Iterator[Callable[[int, int, int, float], None]]:
    """A progress bar per epoch, shown from the first step on; yields ``on_step(epoch, step, steps, loss)``. Off a
    terminal (a CI log), one plain line per finished epoch on stderr instead: a bar draws nothing there."""
    if not console.is_terminal:
        yield _epoch_lines(label)
        return
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    tasks: dict[int, Any] = {}

    def on_step(epoch: int, step: int, steps: int, loss: float) -> None:
        if not tasks:
            progress.start()
        if epoch not in tasks:
            tasks[epoch] = progress.add_task("", total=steps)
        progress.update(tasks[epoch], completed=step, description=f"{label} epoch {epoch + 1} loss {loss:.4f}")

    try:
        yield on_step
    finally:
        if tasks:
            progress.stop()

"""Human-readable output of bench and export results (rich tables)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

METRIC_KEYS = {"detect": ("map50_95", "map50"), "classify": ("top1", "top5")}


def _fmt_size(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"


def bench_table(document: dict[str, Any]) -> Table:
    """One row per artifact: accuracy, drop vs parent, latency percentiles, size, peak RSS."""
    rows = document["results"]
    task = next((r["task"] for r in rows if r["status"] == "ok"), "detect")
    keys = METRIC_KEYS.get(task, ())
    table = Table(title=f"edgekit bench — {document['environment']['cpu']}, "
                        f"{document['environment']['threads']} threads")
    for column in ("target", *keys, f"Δ{keys[0]}" if keys else "Δ", "p50 ms", "p90 ms", "p99 ms", "size",
                   "peak RSS", "status"):
        table.add_column(column, justify="left" if column in ("target", "status") else "right")
    for row in rows:
        if row["status"] != "ok":
            table.add_row(row["target"], *[""] * (len(keys) + 6), f"[red]{row['status']}[/red]")
            continue
        lat = row["latency_ms"]
        drop = row.get("drop", {}).get(keys[0]) if keys else None
        table.add_row(row["target"], *[f"{row['metrics'][k]:.4f}" for k in keys],
                      "" if drop is None else f"{drop:+.4f}", f"{lat['p50']:.2f}", f"{lat['p90']:.2f}",
                      f"{lat['p99']:.2f}", _fmt_size(row["size_bytes"]),
                      f"{row['peak_rss_bytes'] / 2**20:.0f} MiB", "ok")
    return table


def export_table(rows: list[Any]) -> Table:
    """One row per target: status, output directory, seconds."""
    table = Table(title="edgekit export")
    for column in ("target", "status", "artifact", "seconds"):
        table.add_column(column)
    for row in rows:
        status = "[green]ok[/green]" if row.status == "ok" else f"[red]{row.status}[/red]"
        table.add_row(row.target, status, str(row.path), f"{row.seconds:.1f}")
    return table

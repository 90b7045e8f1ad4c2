"""``edgekit bench --profile FILE``: where each artifact's time goes, per operator, on its own runtime.

Each runtime profiles in its own way (``Runtime.profile``: ONNX Runtime's profiler, OpenVINO's performance
counters, TFLite operators timed one by one); this module sums what they return by operator type and by kind
(int8 kernels, float kernels, quantize/dequantize boundaries), names the share of Q/DQ and of float islands,
and renders it as a table, as Markdown and as a JSON file that ``edgekit report`` renders again.
Device side: numpy + the artifact's runtime.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from pathlib import Path
from typing import Any, cast

from rich.table import Table

from ..fsutil import write_text_atomic
from ..registry import get_runtime
from ..results import ResultsDocument
from ..schema import check_list, check_object, check_value, read_json_file
from .harness import open_artifact, timing_batch
from .options import BenchOptions

PROFILE_SCHEMA = "edgekit.profile/1"
PROFILE_RUNS = 30
TOP_OPS = 10
KINDS = ("int8", "float", "quantize")


def summarize(ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals by operator type and by kind, the Q/DQ and float shares, and the float islands' count."""
    total = sum(op["ms"] for op in ops) or 1e-12
    by_type: dict[str, float] = defaultdict(float)
    by_kind = {kind: 0.0 for kind in KINDS}
    for op in ops:
        by_type[op["op_type"]] += op["ms"]
        by_kind[op["kind"]] = by_kind.get(op["kind"], 0.0) + op["ms"]
    ranked = sorted(by_type.items(), key=lambda item: -item[1])
    return {
        "ops_ms": total,
        "operators": len(ops),
        "by_type": [{"op_type": name, "ms": ms, "share": ms / total} for name, ms in ranked],
        "by_kind": {kind: {"ms": ms, "share": ms / total} for kind, ms in by_kind.items()},
        "qdq_share": by_kind["quantize"] / total,
        "float_share": by_kind["float"] / total,
        "float_ops": sum(op["kind"] == "float" for op in ops),
    }


def profile_artifact(path: Path, options: BenchOptions, runs: int = PROFILE_RUNS) -> dict[str, Any]:
    """Profile the artifact at ``path`` on its runtime: ``runs`` inferences of the bench's timing input."""
    artifact = open_artifact(path, options)
    runtime = get_runtime(artifact.manifest.runtime)
    ops, method = runtime.profile(artifact, options.threads, timing_batch(artifact, options), runs)
    listed = [dataclasses.asdict(op) for op in sorted(ops, key=lambda op: -op.ms)]
    return {
        "target": artifact.manifest.target,
        "artifact": str(path),
        "runtime": artifact.manifest.runtime,
        "runtime_version": runtime.version(),
        "method": method,
        "runs": runs,
        "summary": summarize(listed),
        "ops": listed,
    }


def profile_document(results: ResultsDocument, options: BenchOptions, runs: int = PROFILE_RUNS) -> dict[str, Any]:
    """Profiles of every artifact benched ``ok`` in ``results`` (its bench p50 kept beside the op sum)."""
    profiles = []
    for row in results.rows:
        if not row.ok or row.latency is None:
            continue
        profile = profile_artifact(Path(row.artifact), options, runs)
        profile["bench_p50_ms"] = row.latency.p50
        profiles.append(profile)
    return {"schema": PROFILE_SCHEMA, "environment": results.environment, "profiles": profiles}


def check_profile_document(document: Any, where: str) -> dict[str, Any]:
    """The profile JSON's shape, checked before rendering (``EdgekitError`` naming what is wrong)."""
    check_object(document, where, {"schema": str, "environment": dict, "profiles": list})
    for index, profile in enumerate(check_list(document["profiles"], dict, f"{where}.profiles")):
        at = f"{where}.profiles[{index}]"
        check_object(
            profile,
            at,
            {"target": str, "runtime": str, "method": str, "summary": dict, "ops": list},
            {"artifact": str, "runtime_version": str, "runs": int, "bench_p50_ms": (int, float)},
            strict=False,
        )
        check_object(
            profile["summary"],
            f"{at}.summary",
            {
                "ops_ms": (int, float),
                "by_type": list,
                "by_kind": dict,
                "qdq_share": (int, float),
                "float_share": (int, float),
                "float_ops": int,
            },
            strict=False,
        )
        for op_index, op in enumerate(check_list(profile["ops"], dict, f"{at}.ops")):
            check_object(
                op,
                f"{at}.ops[{op_index}]",
                {"name": str, "op_type": str, "kind": str, "ms": (int, float)},
                {"detail": str},
                strict=False,
            )
        for type_index, entry in enumerate(check_list(profile["summary"]["by_type"], dict, f"{at}.summary.by_type")):
            check_object(
                entry,
                f"{at}.summary.by_type[{type_index}]",
                {"op_type": str, "ms": (int, float), "share": (int, float)},
            )
        for kind in KINDS:
            check_object(
                check_value(profile["summary"]["by_kind"].get(kind), dict, f"{at}.summary.by_kind.{kind}"),
                f"{at}.summary.by_kind.{kind}",
                {"ms": (int, float), "share": (int, float)},
            )
    return cast(dict[str, Any], document)


def _share_line(summary: dict[str, Any]) -> str:
    kinds = summary["by_kind"]
    return (
        f"int8 kernels {kinds['int8']['share']:.0%}, float kernels {kinds['float']['share']:.0%} "
        f"({summary['float_ops']} float ops), quantize/dequantize {summary['qdq_share']:.0%}"
    )


def profile_tables(document: dict[str, Any]) -> list[Table]:
    """One table per artifact: its ``TOP_OPS`` operator types by time, and the kind shares as caption."""
    tables = []
    for profile in document["profiles"]:
        summary = profile["summary"]
        bench = profile.get("bench_p50_ms")
        title = f"{profile['target']} ({profile['runtime']}): ops sum {summary['ops_ms']:.2f} ms" + (
            f", bench p50 {bench:.2f} ms" if bench else ""
        )
        table = Table(title=title, caption=f"{_share_line(summary)} — {profile['method']}", min_width=80)
        for column in ("op type", "ms", "share"):
            table.add_column(column, justify="left" if column == "op type" else "right")
        for entry in summary["by_type"][:TOP_OPS]:
            table.add_row(entry["op_type"], f"{entry['ms']:.3f}", f"{entry['share']:.1%}")
        tables.append(table)
    return tables


def profile_markdown(document: dict[str, Any]) -> str:
    """The same tables as Markdown, with the machine they were taken on."""
    env = document["environment"]
    lines = [
        f"Per-operator profile — {env.get('cpu', '?')} ({', '.join(env.get('isa', []))}), "
        f"{env.get('threads', '?')} threads",
        "",
    ]
    for profile in document["profiles"]:
        summary = profile["summary"]
        bench = profile.get("bench_p50_ms")
        lines += [
            f"#### {profile['target']} ({profile['runtime']} {profile.get('runtime_version', '')})",
            "",
            f"ops sum {summary['ops_ms']:.2f} ms"
            + (f", bench p50 {bench:.2f} ms" if bench else "")
            + f"; {_share_line(summary)}; {profile['method']}",
            "",
            "| op type | ms | share |",
            "|---|---:|---:|",
        ]
        lines += [f"| {e['op_type']} | {e['ms']:.3f} | {e['share']:.1%} |" for e in summary["by_type"][:TOP_OPS]]
        lines.append("")
    return "\n".join(lines)


def load_profile(path: Path) -> dict[str, Any] | None:
    """The profile document at ``path``, checked; ``None`` when the JSON is something else (bench results)."""
    document = read_json_file(path, "results JSON")  # bench --json or --profile: one reader, one message
    if not isinstance(document, dict) or document.get("schema") != PROFILE_SCHEMA:
        return None
    return check_profile_document(document, str(path))


def write_profile(
    results: ResultsDocument, options: BenchOptions, path: Path, runs: int = PROFILE_RUNS
) -> dict[str, Any]:
    """Profile the artifacts of ``results`` and write the document to ``path`` (atomically); returns it."""
    document = profile_document(results, options, runs)
    write_text_atomic(path, json.dumps(document, indent=2) + "\n")
    return document


def write_profile_markdown(document: dict[str, Any], path: Path) -> None:
    """``profile_markdown`` written to ``path`` (atomically)."""
    write_text_atomic(path, profile_markdown(document) + "\n")

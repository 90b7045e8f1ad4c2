"""The committed corpus of malformed files (tests/corpus) through every command that takes a file.

Each run must end in exactly one ``error:`` line and exit 2: never a traceback, never exit 1 (which means
"regression" to the gate), nothing written (no output, no hidden temporary left behind), and no code from
the file run (the malicious pickles would create a marker file in the working directory).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from edgekit.cli import app
from typer.testing import CliRunner

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(p.name for p in CORPUS.iterdir() if p.name != "make_corpus.py")
MARKER = "edgekit-corpus-marker"
OUTPUTS = ("out", "r.json", "m.md", "small.pt", "small.pt.json", "run")
VALID_RESULTS = {
    "schema": 1,
    "environment": {"cpu": "test"},
    "results": [
        {
            "target": "onnx-fp32",
            "artifact": "a/onnx-fp32",
            "status": "ok",
            "task": "classify",
            "size_bytes": 1000,
            "latency_ms": {"p50": 1.0, "p90": 1.2, "p99": 1.5},
            "metrics": {"top1": 0.9, "top5": 1.0},
            "dataset": {"name": "shapes-cls/val", "images": 500},
        }
    ],
}

runner = CliRunner()


def _place(corpus_file: str, where: Path) -> Path:
    where.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CORPUS / corpus_file, where)
    return where


def _valid_results(work: Path) -> str:
    path = work / "valid.json"
    path.write_text(json.dumps(VALID_RESULTS))
    return str(path)


CLS = ["--data", "shapes-cls", "--task", "classify", "--imgsz", "64"]

#: slot name -> builds the command line for one corpus file inside the work directory
SLOTS: dict[str, Callable[[str, Path, Path], list[str]]] = {
    "export model.pt": lambda f, w, a: ["export", str(_place(f, w / "model.pt")), "-t", "onnx-fp32", "-o", "out", *CLS],
    "export model.onnx": lambda f, w, a: [
        "export",
        str(_place(f, w / "model.onnx")),
        "-t",
        "onnx-fp32",
        "-o",
        "out",
        *CLS,
    ],
    "export model.pt2": lambda f, w, a: [
        "export",
        str(_place(f, w / "model.pt2")),
        "-t",
        "onnx-fp32",
        "-o",
        "out",
        *CLS,
        "--trust",
    ],
    "export --data data.yaml": lambda f, w, a: [
        "export",
        "nano-det",
        "-t",
        "onnx-fp32",
        "-o",
        "out",
        "--data",
        str(_place(f, w / "data.yaml")),
    ],
    "export --data ann.json": lambda f, w, a: [
        "export",
        "nano-det",
        "-t",
        "onnx-fp32",
        "-o",
        "out",
        "--data",
        str(_place(f, w / "ann.json")),
    ],
    "export --data image folder": lambda f, w, a: [
        "export",
        "nano-cls",
        "-t",
        "onnx-fp32",
        "-o",
        "out",
        "--data",
        str(_place(f, w / "imgs" / "circle" / "x.png").parent.parent),
    ],
    "bench manifest": lambda f, w, a: ["bench", str(_place(f, w / "art" / "edgekit.json").parent), "--json", "r.json"],
    "bench --data data.yaml": lambda f, w, a: [
        "bench",
        str(a),
        "--json",
        "r.json",
        "--data",
        str(_place(f, w / "data.yaml")),
    ],
    "bench --data ann.json": lambda f, w, a: [
        "bench",
        str(a),
        "--json",
        "r.json",
        "--data",
        str(_place(f, w / "ann.json")),
    ],
    "compress model.pt": lambda f, w, a: [
        "compress",
        str(_place(f, w / "model.pt")),
        "--prune",
        "0.5",
        "-o",
        "small.pt",
        *CLS,
    ],
    "compress --data data.yaml": lambda f, w, a: [
        "compress",
        "nano-det",
        "--prune",
        "0.5",
        "-o",
        "small.pt",
        "--data",
        str(_place(f, w / "data.yaml")),
    ],
    "compress --images": lambda f, w, a: [
        "compress",
        "nano-cls",
        "--distill",
        "--epochs",
        "1",
        "-o",
        "small.pt",
        "--images",
        str(_place(f, w / "imgs" / "x.png").parent),
    ],
    "pipeline recipe.toml": lambda f, w, a: ["pipeline", str(_place(f, w / "recipe.toml"))],
    "pipeline recipe.yaml": lambda f, w, a: ["pipeline", str(_place(f, w / "recipe.yaml"))],
    "report results": lambda f, w, a: ["report", str(_place(f, w / "results.json")), "--markdown", "m.md"],
    "gate --baseline": lambda f, w, a: [
        "gate",
        "--baseline",
        str(_place(f, w / "b.json")),
        "--current",
        _valid_results(w),
        "--markdown",
        "m.md",
    ],
    "gate --current": lambda f, w, a: [
        "gate",
        "--baseline",
        _valid_results(w),
        "--current",
        str(_place(f, w / "c.json")),
        "--markdown",
        "m.md",
    ],
    "gate --config": lambda f, w, a: [
        "gate",
        "--baseline",
        _valid_results(w),
        "--current",
        _valid_results(w),
        "--config",
        str(_place(f, w / "gate.toml")),
        "--markdown",
        "m.md",
    ],
}


def _assert_clean_failure(result, work: Path, label: str) -> None:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, f"{label}: exit {result.exit_code}\n{result.output}"
    assert len(lines) == 1 and lines[0].startswith("error: "), f"{label}: {result.output}"
    assert "Traceback" not in result.output and "internal:" not in lines[0], f"{label}: {result.output}"
    written = [name for name in OUTPUTS if (work / name).exists()]
    leftovers = [p.name for p in work.iterdir() if ".edgekit-" in p.name]
    assert not written and not leftovers, f"{label}: wrote {written + leftovers}"
    assert not (work / MARKER).exists(), f"{label}: code from the file ran"


#: (slot, file) pairs that are valid input, not malformed: an empty TOML file is a gate config of defaults
VALID = {("gate --config", "empty.bin")}


@pytest.mark.parametrize("slot", sorted(SLOTS))
def test_every_corpus_file_fails_cleanly_in_every_command(slot, artifacts, tmp_path, monkeypatch):
    for corpus_file in FILES:
        if (slot, corpus_file) in VALID:
            continue
        work = tmp_path / corpus_file
        work.mkdir()
        monkeypatch.chdir(work)
        args = SLOTS[slot](corpus_file, work, artifacts["nano-cls"])
        _assert_clean_failure(runner.invoke(app, args), work, f"{slot} <- {corpus_file}")


def test_the_malicious_pickles_would_write_the_marker(tmp_path, monkeypatch):
    """The corpus is real: unpickled with trust, the malicious file does run code (so its absence above means
    something)."""
    import pickle

    monkeypatch.chdir(tmp_path)
    pickle.loads((CORPUS / "malicious.pkl").read_bytes())
    assert (tmp_path / MARKER).exists()


def test_bad_option_values_are_one_line(artifacts, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for extra in (
        ["--runs", "0"],
        ["--threads", "-1"],
        ["--rounds", "0"],
        ["--warmup", "-5"],
        ["--min-seconds", "-1"],
        ["--runs", "abc"],
        ["--threads", "100000"],
    ):
        result = runner.invoke(app, ["bench", str(artifacts["nano-cls"]), "--json", "r.json", *extra])
        _assert_clean_failure(result, tmp_path, " ".join(extra))
    (tmp_path / "dir.md").mkdir()
    result = runner.invoke(app, ["bench", str(artifacts["nano-cls"]), "--markdown", "dir.md", "--runs", "1"])
    assert result.exit_code == 2 and "is a directory" in result.output
    for args in (
        ["export", "nano-cls", "-t", "onnx-fp32", "-o", "out", "--task", "segment"],
        ["export", "nano-cls", "-t", "onnx-fp32", "-o", "out", "--imgsz", "0"],
    ):
        _assert_clean_failure(runner.invoke(app, args), tmp_path, " ".join(args))


def test_deep_nesting_is_refused_before_any_parser_recurses(artifacts, tmp_path, monkeypatch):
    """Where a library has raised Python's recursion limit (seen in the full suite), a parser recursing into
    100 000 nested brackets overflows the C stack and kills the process; edgekit refuses such text first."""
    import sys

    monkeypatch.chdir(tmp_path)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(200_000)
    try:
        for slot in (
            "report results",
            "bench manifest",
            "gate --config",
            "pipeline recipe.yaml",
            "export --data data.yaml",
            "export --data ann.json",
        ):
            work = tmp_path / slot.replace(" ", "_")
            work.mkdir()
            result = runner.invoke(app, SLOTS[slot]("deep.json", work, artifacts["nano-cls"]))
            assert result.exit_code == 2 and "nested deeper than" in result.output, (slot, result.output)
    finally:
        sys.setrecursionlimit(old)

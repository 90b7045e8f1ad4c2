"""Small nano-det sweep files for the end-to-end sweep tests, and a sweep run in its own process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

#: 1 model x (onnx-fp32 + ort-int8 x 3 calibration variants): 4 exports, 4 scores, 1 timing
SMALL = """model = "nano-det"
data = "shapes-det"
output = "{output}"
store = "{store}"
[grid]
targets = ["onnx-fp32", "ort-int8"]
[[grid.calibration]]
name = "c8"
calib_images = 8
[[grid.calibration]]
name = "c16"
calib_images = 16
[[grid.calibration]]
name = "minmax-24"
calib_images = 24
overrides = {{ ort-int8 = {{ calibration_method = "MinMax" }} }}
[bench]
rounds = 2
runs = 10
min_seconds = 0.1
warmup = 2
"""


def sweep_file(folder: Path, name: str, store: Path, text: str = SMALL) -> Path:
    """A sweep file in ``folder`` writing ``folder/name`` with ``store``."""
    path = folder / f"{name}.toml"
    path.write_text(text.format(output=folder / name, store=store))
    return path


def start_sweep(
    path: Path, *options: str, prefix: list[str] | None = None, env: dict | None = None
) -> subprocess.Popen:
    """``edgekit sweep path options`` in its own process (``prefix``: e.g. a namespace's nsenter), with SIGINT at
    its default disposition: a test run started in the background by a non-interactive shell ignores SIGINT, and
    an ignored signal stays ignored across exec, so the sweep would never see the test's interrupt."""
    command = (prefix or []) + [sys.executable, "-m", "edgekit.cli", "sweep", str(path), *options]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | (env or {}),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def finished_cells(store: Path, kind: str) -> dict[str, int]:
    """Done cells of ``kind`` in ``store``: key -> their record's modification time (ns)."""
    folder = store / kind
    if not folder.is_dir():
        return {}
    return {
        cell.name: (cell / "cell.json").stat().st_mtime_ns
        for cell in folder.iterdir()
        if (cell / "cell.json").is_file()
    }


def metrics_by_label(output: Path) -> dict[str, dict[str, float]]:
    document = json.loads((output / "results.json").read_text())
    from edgekit.results import ResultsDocument

    parsed = ResultsDocument.from_dict(document)
    return {label: row.metrics for label, row in zip(parsed.labels(), parsed.rows)}

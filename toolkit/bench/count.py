"""Counted instructions per inference (``edgekit bench --count``): valgrind's callgrind, one thread.

Wall-clock time on a shared CI runner moves by 2x; the instructions one inference executes repeat within
hundredths of a percent whatever else the machine does. Each artifact is loaded in a child process under
``valgrind --tool=callgrind --collect-atstart=no``; the child warms up, then runs ``runs`` inferences, each
between two client requests of a tiny helper library (compiled here from valgrind's own ``callgrind.h``):
collection on, the inference, collection off and a dump. Only those inferences are counted, each in its own
dump, so the spread between them is measured too.

Limits: valgrind emulates no AVX-512, so runtimes take their AVX2 kernels under it: counts compare like with like
(the same artifact kind, runtime and valgrind versions), never INT8 against FP32 speed. Numpy + one runtime in the
child, as on the device path.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EdgekitError
from ..manifest import host_environment

#: counted inferences per artifact (the median is the figure, max - min over it the spread)
COUNTED_RUNS = 3
#: seconds one artifact may take under valgrind (loading a runtime there takes 1-2 min on 2 cores)
COUNT_TIMEOUT_S = 1800
VALGRIND_HINT = "install valgrind (Debian/Ubuntu: apt-get install valgrind; it brings valgrind/callgrind.h)"
_DUMP_NAME = "edgekit-inference"
_HELPER_SOURCE = f"""#include <valgrind/callgrind.h>
void edgekit_count_start(void) {{ CALLGRIND_ZERO_STATS; CALLGRIND_TOGGLE_COLLECT; }}
void edgekit_count_stop(void) {{ CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS_AT("{_DUMP_NAME}"); }}
"""


def valgrind_version() -> str:
    """``valgrind --version`` (e.g. ``valgrind-3.19.0``); one line naming the package when it is missing."""
    binary = shutil.which("valgrind")
    if binary is None:
        raise EdgekitError(f"--count needs valgrind, which is not installed here: {VALGRIND_HINT}")
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60)
    return result.stdout.strip() or "valgrind (unknown version)"


def build_helper(work: Path) -> Path:
    """Compile the client-request helper into ``work``; one line when no C compiler or header is there."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise EdgekitError("--count compiles a 3-line helper against valgrind's callgrind.h: install gcc")
    source, library = work / "edgekit_count.c", work / "edgekit_count.so"
    source.write_text(_HELPER_SOURCE)
    result = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], capture_output=True, text=True
    )
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["no message"])[0][:200]
        raise EdgekitError(f"--count could not build its valgrind helper ({first}): {VALGRIND_HINT}")
    return library


def _dumped_counts(work: Path) -> list[int]:
    """Instructions of each counted inference, in order, from the callgrind dumps our helper triggered."""
    counted = []
    for path in work.glob("callgrind.out.*"):
        text = path.read_text(errors="replace")
        if f"Client Request: {_DUMP_NAME}" not in text:
            continue
        part = re.search(r"^part: (\d+)", text, re.MULTILINE)
        totals = re.search(r"^totals: (\d+)", text, re.MULTILINE)
        if totals:
            counted.append((int(part.group(1)) if part else 0, int(totals.group(1))))
    return [count for _, count in sorted(counted)]


def count_artifact(artifact: Path, batch: np.ndarray, work: Path, helper: Path, runs: int = COUNTED_RUNS) -> list[int]:
    """Instructions of each of ``runs`` inferences of ``artifact`` on ``batch``, one thread, under callgrind."""
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "batch.npy", batch)
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        f"--callgrind-out-file={work}/callgrind.out.%p",
        sys.executable,
        "-m",
        "edgekit.bench.count_child",
        str(artifact),
        str(work / "batch.npy"),
        str(helper),
        str(runs),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=COUNT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise EdgekitError(f"counting {artifact} under valgrind took over {COUNT_TIMEOUT_S} s") from None
    counts = _dumped_counts(work)
    if result.returncode != 0 or len(counts) != runs:
        lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("==")]
        why = lines[-1][:200] if lines else f"exit {result.returncode}, {len(counts)} of {runs} inferences counted"
        raise EdgekitError(f"{artifact} could not be counted under valgrind: {why}")
    return counts


def count_summary(counts: list[int], runtime: str, runtime_version: str | None, valgrind: str) -> dict[str, Any]:
    """A row's ``count`` record: the median per inference, each inference's count, the spread, and what the
    counts may be compared with (valgrind, runtime and its version, CPU, one thread)."""
    median = int(statistics.median(counts))
    return {
        "instructions_per_inference": median,
        "per_inference": counts,
        "spread_pct": round((max(counts) - min(counts)) / median * 100, 5),
        "valgrind": valgrind,
        "runtime": runtime,
        "runtime_version": runtime_version,
        "cpu": host_environment()["cpu"],
        "threads": 1,
    }

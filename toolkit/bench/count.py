"""Counted instructions per inference (``edgekit bench --count``): valgrind's callgrind, one thread.

Wall-clock time on a shared CI runner moves by 2x; the instructions one inference executes repeat within
hundredths of a percent whatever else the machine does. Each artifact is loaded in a child process under
``valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no``: loading Python and the runtime runs
without callgrind's instrumentation (several times faster), a client request of a tiny helper library (compiled
here from valgrind's own ``callgrind.h``) switches it on before the warm-up inferences, then each of ``runs``
inferences runs between two more: collection on, the inference, collection off and a dump. Only those
inferences are counted, each in its own dump, so the spread between them is measured too.

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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EdgekitError
from ..manifest import host_environment

#: counted inferences per artifact (the median is the figure, max - min over it the spread)
COUNTED_RUNS = 3
#: seconds one artifact may take under valgrind (nano-det at 256 px: 8-120 s; valgrind runs some FP32 kernels slowly)
COUNT_TIMEOUT_S = 1800
VALGRIND_HINT = "install valgrind (Debian/Ubuntu: apt-get install valgrind; it brings valgrind/callgrind.h)"
_DUMP_NAME = "edgekit-inference"
_HELPER_SOURCE = f"""#include <valgrind/callgrind.h>
void edgekit_instrument(void) {{ CALLGRIND_START_INSTRUMENTATION; }}
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


#: the simulated caches of ``--count-cache``, fixed (valgrind would copy the host's, so estimates would differ by
#: machine): 32 KiB 8-way L1 instruction and data caches and a 1 MiB 16-way last level, 64-byte lines, a laptop
#: or CI core's private caches
CACHE_GEOMETRY = ("--I1=32768,8,64", "--D1=32768,8,64", "--LL=1048576,16,64")


def estimated_cycles(events: dict[str, int]) -> int:
    """Callgrind's cycle estimate (KCachegrind's "CEst"): an instruction a cycle, an L1 miss 10, a last-level
    miss 100."""
    l1_misses = events["I1mr"] + events["D1mr"] + events["D1mw"]
    ll_misses = events["ILmr"] + events["DLmr"] + events["DLmw"]
    return events["Ir"] + 10 * l1_misses + 100 * ll_misses


def counted_dumps(work: Path) -> list[tuple[Path, str]]:
    """The callgrind dumps our helper triggered in ``work`` (one per counted inference), in order, with their text."""
    counted = []
    for path in work.glob("callgrind.out.*"):
        text = path.read_text(errors="replace")
        if f"Client Request: {_DUMP_NAME}" in text:
            part = re.search(r"^part: (\d+)", text, re.MULTILINE)
            counted.append((int(part.group(1)) if part else 0, path, text))
    return [(path, text) for _, path, text in sorted(counted, key=lambda item: item[0])]


def _dumped_events(work: Path) -> list[dict[str, int]]:
    """The events (``Ir``, and with the cache simulation its misses) of each counted inference, in order."""
    counted = []
    for _, text in counted_dumps(work):
        names = re.search(r"^events: (.+)$", text, re.MULTILINE)
        totals = re.search(r"^totals: ([\d ]+)$", text, re.MULTILINE)
        if totals:
            values = [int(value) for value in totals.group(1).split()]
            counted.append(dict(zip(names.group(1).split() if names else ["Ir"], values, strict=False)))
    return counted


def count_artifact(
    artifact: Path,
    batch: np.ndarray,
    work: Path,
    helper: Path,
    runs: int = COUNTED_RUNS,
    cache: bool = False,
    environment: Mapping[str, str] | None = None,
) -> list[dict[str, int]]:
    """The events of each of ``runs`` inferences of ``artifact`` on ``batch``, one thread, under callgrind:
    ``Ir`` (instructions), and with ``cache`` the simulated caches' misses (``CACHE_GEOMETRY``).

    ``environment`` overrides the child's variables; only experiments use it (``benchmarks/count_spread.py``
    turns ONNX Runtime's telemetry back on for its control), the lane never does."""
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "batch.npy", batch)
    command = [
        "valgrind",
        "--tool=callgrind",
        # loading runs uninstrumented (several times faster); the warm-up inferences fill the simulated caches
        "--instr-atstart=no",
        *(("--cache-sim=yes", *CACHE_GEOMETRY) if cache else ()),
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
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "ORT_DISABLE_TELEMETRY": "1",
        "OMP_NUM_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
        **(environment or {}),
    }
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=COUNT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise EdgekitError(f"counting {artifact} under valgrind took over {COUNT_TIMEOUT_S} s") from None
    counts = _dumped_events(work)
    if result.returncode != 0 or len(counts) != runs:
        lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("==")]
        why = lines[-1][:200] if lines else f"exit {result.returncode}, {len(counts)} of {runs} inferences counted"
        raise EdgekitError(f"{artifact} could not be counted under valgrind: {why}")
    return counts


def spread_pct(values: list[int]) -> float:
    """How far apart counts lie: (max - min) / median, in percent (what a row's ``spread_pct`` reports)."""
    return round((max(values) - min(values)) / statistics.median(values) * 100, 5)


def count_summary(
    events: list[dict[str, int]], runtime: str, runtime_version: str | None, valgrind: str
) -> dict[str, Any]:
    """A row's ``count`` record: the median instructions per inference, each inference's count, the spread, and
    what the counts may be compared with (valgrind, runtime and its version, CPU, one thread); with the cache
    simulation also the estimated cycles (``estimated_cycles``) and the simulated caches."""
    counts = [item["Ir"] for item in events]
    summary: dict[str, Any] = {
        "instructions_per_inference": int(statistics.median(counts)),
        "per_inference": counts,
        "spread_pct": spread_pct(counts),
        "valgrind": valgrind,
        "runtime": runtime,
        "runtime_version": runtime_version,
        "cpu": host_environment()["cpu"],
        "threads": 1,
    }
    if all("DLmw" in item for item in events):
        cycles = [estimated_cycles(item) for item in events]
        summary |= {
            "estimated_cycles_per_inference": int(statistics.median(cycles)),
            "cycles_per_inference": cycles,
            "cycles_spread_pct": spread_pct(cycles),
            "cache_geometry": " ".join(CACHE_GEOMETRY),
        }
    return summary

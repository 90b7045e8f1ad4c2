"""``edgekit bench`` options: one dataclass, its defaults and checks, shared by the CLI, recipes and the library.

Light to import (the CLI reads its defaults at start-up): the checks' own imports happen in ``validate``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import EdgekitError
from ..optionspec import from_values, option
from ..tasks.registry import task_names


def physical_cores() -> int:
    """The physical cores this process may run on, SMT siblings counted once: the default thread count. ORT,
    OpenVINO and LiteRT's XNNPACK run best with one thread per core: 4 on a Raspberry Pi 4/5 (no SMT), half the
    logical CPUs on an x86 laptop with SMT. Read from sysfs (Linux, also under qemu-user); elsewhere every
    allowed CPU counts."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in allowed:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(
                ((topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text().strip())
            )
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(1, len(cores))


@dataclass(frozen=True)
class BenchOptions:
    """How to measure: threads (default: one per physical core), warm-up count, at least ``runs`` timed runs and
    ``min_seconds``.

    With several artifacts the timed runs are split into ``rounds`` slices taken in turn (artifact A, B, C, A,
    B, C, ...), so a machine that slows down part-way slows every artifact alike and ratios between them hold.
    """

    threads: int = option(
        help="inference threads (default: one per physical core; with --on, the device's)", factory=physical_cores
    )
    warmup: int = option(10, "warm-up runs")
    runs: int = option(50, "minimum timed runs")
    min_seconds: float = option(2.0, "minimum timed seconds")
    max_runs: int = option(2000, "at most this many timed runs")
    data: str | None = option(None, "evaluation data (default: the manifest's)")
    rounds: int = option(5, "several artifacts: time them in turn over this many rounds")
    #: detectors: score with these evaluation settings instead of the manifest's (``EVALUATION_PRESETS``)
    preset: str | None = option(None, "detector evaluation settings (edgekit | ultralytics: yolo val's)")
    #: for model files without a manifest: what the model cannot say itself
    task: str | None = option(None, "model files without a manifest: the task", choices=task_names())
    imgsz: int | None = option(None, "model files without a manifest: input size")
    #: also count each artifact's instructions per inference under valgrind (``edgekit.bench.count``)
    count: bool = option(
        False,
        "also count instructions per inference under valgrind (1 thread): what `edgekit gate` compares on a busy "
        "machine",
    )
    #: with ``count``: also simulate fixed caches and estimate cycles per inference (``edgekit.bench.count``)
    count_cache: bool = option(
        False,
        "with --count: also simulate the caches (fixed 32 KiB L1, 1 MiB last level) and estimate cycles per "
        "inference; about doubles the counting time",
    )

    def validate(self) -> None:
        """Reject nonsensical values (wrong types included, e.g. from a recipe) with one line."""
        minimums = {"threads": 1, "warmup": 0, "runs": 1, "max_runs": 1, "rounds": 1}
        for name, least in minimums.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise EdgekitError(f"bench option {name} must be an integer >= {least}, got {value!r}")
        seconds = self.min_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 3600:
            raise EdgekitError(f"bench option min_seconds must be a number in [0, 3600], got {seconds!r}")
        maximums = {
            "threads": 1024,
            "warmup": 100_000,
            "max_runs": 10_000_000,
            "runs": self.max_runs,
            "rounds": min(1000, self.max_runs),
        }  # every round needs at least one timed run
        for name, most in maximums.items():
            if getattr(self, name) > most:
                raise EdgekitError(f"bench option {name} must be at most {most}, got {getattr(self, name)}")
        for flag in ("count", "count_cache"):
            if not isinstance(getattr(self, flag), bool):
                raise EdgekitError(f"bench option {flag} must be true or false, got {getattr(self, flag)!r}")
        if self.count_cache and not self.count:
            raise EdgekitError("bench option count_cache (--count-cache) needs count (--count)")
        if self.data is not None and not isinstance(self.data, str):
            raise EdgekitError(f"bench option data must be a string, got {self.data!r}")
        from ..data.preprocess import check_task_and_size
        from ..tasks.detection import EVALUATION_PRESETS

        check_task_and_size(self.task, self.imgsz)
        if self.preset is not None and self.preset not in EVALUATION_PRESETS:
            raise EdgekitError(
                f"unknown evaluation preset {self.preset!r} (choose from: {', '.join(EVALUATION_PRESETS)})"
            )


#: the options a recipe's ``[bench]`` table may set (data comes from the recipe's top level)
RECIPE_KEYS = tuple(f.name for f in fields(BenchOptions) if f.name not in ("data", "task", "imgsz", "max_runs"))


def bench_options(**values: Any) -> BenchOptions:
    """``BenchOptions`` from keyword values, ``None`` meaning the default; an unknown name or a value of the
    wrong type is one ``EdgekitError`` listing the known ones."""
    return from_values(BenchOptions, values, "bench option")

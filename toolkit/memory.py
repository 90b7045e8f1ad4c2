"""Memory as a resource a step is checked against: what the machine has for this process, the peak a step
reached, and an allocation failure said in one line.

``available_bytes`` is the smallest of MemAvailable, the room left under this process's cgroup memory limit (v2
``memory.max`` or v1 ``memory.limit_in_bytes``) and the room left under its address-space limit
(``RLIMIT_AS``, as ``prlimit --as`` or ``ulimit -v`` set it). ``PeakMemory`` samples the resident set of this
process while a step runs (a background thread, every 20 ms), so each export step reports
its own peak rather than the process's lifetime high-water mark. No heavy imports: psutil and the stdlib.
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psutil

from .errors import EdgekitError

GIB = 1024**3
MIB = 1024**2
#: what the phrases of an allocation failure look like in the messages of numpy, ONNX Runtime, OpenVINO,
#: TensorFlow and torch (lower case)
_OOM_PHRASES = (
    "bad_alloc",
    "bad allocation",
    "failed to allocate",
    "unable to allocate",
    "out of memory",
    "cannot allocate memory",
    "memoryerror",
    "std::length_error",
)
#: ONNX Runtime's kernel failure, which is what an allocation failure inside a node looks like from Python
_ORT_KERNEL_FAILURE = "non-zero status code returned while running"


class OutOfMemoryError(EdgekitError):
    """A step needs (or took) more memory than this process has; the message names what to lower."""


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup_room() -> int | None:
    """Bytes left under this process's cgroup memory limit (v2, else v1), or None without a limit."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, relative = line.split(":", 2)
        relative = relative.lstrip("/")
        if controllers == "":
            base = Path("/sys/fs/cgroup")
            limit, usage = base / relative / "memory.max", base / relative / "memory.current"
        elif "memory" in controllers.split(","):
            base = Path("/sys/fs/cgroup/memory")
            # inside a cgroup namespace the mount's root is the process's own group
            folder = base / relative if (base / relative).is_dir() else base
            limit, usage = folder / "memory.limit_in_bytes", folder / "memory.usage_in_bytes"
        else:
            continue
        cap, used = _read_int(limit), _read_int(usage)
        if cap is not None and used is not None and cap < 2**60:
            return max(cap - used, 0)
    return None


def _address_space_room() -> int | None:
    """Bytes of address space left under ``RLIMIT_AS``, or None when unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    return max(soft - psutil.Process().memory_info().vms, 0)


def available_bytes() -> tuple[int, str]:
    """The memory this process can still take, and which limit set it."""
    rooms = [(psutil.virtual_memory().available, "MemAvailable")]
    cgroup = _cgroup_room()
    if cgroup is not None:
        rooms.append((cgroup, "the cgroup memory limit"))
    address = _address_space_room()
    if address is not None:
        rooms.append((address, "the address-space limit (ulimit -v)"))
    return min(rooms)


def format_bytes(count: float) -> str:
    """``1.23 GB`` (GiB) above one GiB, else ``456 MB`` (MiB)."""
    return f"{count / GIB:.2f} GB" if count >= GIB else f"{count / MIB:.0f} MB"


def check_fits(need: int, step: str, lower: str) -> None:
    """Raise ``OutOfMemoryError`` (one line, exit 2) when ``need`` bytes exceed what is available."""
    room, limit = available_bytes()
    if need > room:
        raise OutOfMemoryError(
            f"{step} needs about {format_bytes(need)} of memory and {format_bytes(room)} is available "
            f"({limit}): lower {lower}"
        )


@dataclass
class PeakMemory:
    """``with PeakMemory() as peak: ...`` then ``peak.bytes`` (highest RSS of this process seen while the block
    ran) and ``peak.seconds`` (the block's wall time). Children are not added: converters run in-process, and
    the short-lived forks some libraries make (to run a command) share their parent's pages copy-on-write, so
    adding their RSS counted the same memory twice."""

    interval_s: float = 0.02
    bytes: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0.0

    def _sample(self) -> None:
        process = psutil.Process(os.getpid())
        while True:
            with contextlib.suppress(psutil.Error):
                self.bytes = max(self.bytes, process.memory_info().rss)
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> PeakMemory:
        self._start = time.perf_counter()
        self.bytes = psutil.Process().memory_info().rss
        self._thread = threading.Thread(target=self._sample, name="edgekit-peak-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.seconds = time.perf_counter() - self._start


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation failure: ``MemoryError``, or a runtime's message that says so. ONNX
    Runtime's bare "Non-zero status code returned while running <op> node" counts when memory was nearly
    exhausted when it was raised (what a failed allocation inside a kernel looks like from Python)."""
    if isinstance(exc, MemoryError):
        return True
    text = f"{type(exc).__name__}: {exc}".lower()
    if any(phrase in text for phrase in _OOM_PHRASES):
        return True
    if _ORT_KERNEL_FAILURE in text:
        room, _ = available_bytes()
        return room < 512 * MIB
    return False


def out_of_memory_message(step: str, peak: int, lower: str) -> str:
    """The one line for a step that ran out of memory."""
    room, limit = available_bytes()
    return (
        f"{step} ran out of memory (peak {format_bytes(peak)}; {format_bytes(room)} left under {limit}): lower {lower}"
    )

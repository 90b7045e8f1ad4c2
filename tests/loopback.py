"""A loopback-only network namespace for tests that start real services (a Ray cluster, an sshd).

Ray binds the machine's network address whatever it is told, so its clusters run where the only network is
127.0.0.1 (see DESIGN.md): ``unshare -n`` starts a holder process in a new network namespace with ``lo`` up,
commands run inside it with ``nsenter``, and ``stop`` kills every process in that namespace by its PID — what
the test started, and nothing else on the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any


def unavailable() -> str | None:
    """Why a loopback namespace cannot be made here (None: it can)."""
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare -n is not permitted here ({probe.stderr.strip() or probe.returncode})"
    return None


class LoopbackNamespace:
    """``with LoopbackNamespace() as ns: ns.run([...])``; every process inside is killed on exit."""

    def __init__(self, mount: bool = False) -> None:
        #: also a mount namespace of its own (mounts made inside stay inside)
        self.mount = mount

    def __enter__(self) -> LoopbackNamespace:
        flags = ["-n", "-m"] if self.mount else ["-n"]
        self.holder = subprocess.Popen(["unshare", *flags, "sh", "-c", "ip link set lo up && exec sleep 100000"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.netns = os.readlink(f"/proc/{self.holder.pid}/ns/net")
            except OSError:
                self.netns = ""
            if self.netns and self.netns != os.readlink("/proc/self/ns/net") and self._lo_up():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the loopback namespace did not come up")

    def _lo_up(self) -> bool:
        out = subprocess.run(self.prefix() + ["ip", "-o", "link", "show", "lo"], capture_output=True, text=True)
        return "UP" in out.stdout or "UNKNOWN" in out.stdout

    def prefix(self) -> list[str]:
        """The command prefix that runs a program inside the namespace."""
        own = [f"--mount=/proc/{self.holder.pid}/ns/mnt"] if self.mount else []
        return ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", *own]

    def run(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        return subprocess.run(self.prefix() + command, **kwargs)

    def popen(self, command: list[str], **kwargs: Any) -> subprocess.Popen:
        return subprocess.Popen(self.prefix() + command, **kwargs)

    def pids(self) -> list[int]:
        """Every process in the namespace (the holder included)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.readlink(entry / "ns" / "net") == self.netns:
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

    def stop(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self.holder.wait(timeout=10)

    def __exit__(self, *exc: Any) -> None:
        self.stop()

"""An emulated aarch64 device on this x86 machine, with no kernel change: Debian bookworm arm64 (debootstrap's
first stage, its packages unpacked), the device-side wheels for aarch64 (``pip install --platform``), and
``qemu-aarch64`` from Debian's bookworm-backports (10.0.2; bookworm's own 7.2 segfaults in onnxruntime), its
.deb unpacked, never installed, so no binfmt handler is registered: every arm64 program is run through it
explicitly. Everything is cached in ``$EDGEKIT_AARCH64_CACHE`` (default ``~/.cache/edgekit-aarch64``).
"""

from __future__ import annotations

import lzma
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

MIRROR = "http://deb.debian.org/debian"
#: the device side's wheels for aarch64 (the pins of edgekit's [ort] and [tflite] extras)
DEVICE_WHEELS = [
    "onnxruntime==1.31.*",
    "ai-edge-litert==2.3.*",
    "numpy>=1.26,<2.5",
    "pillow",
    "pyyaml",
    "typer>=0.12,<0.30",
    "rich",
    "psutil",
    "pycocotools",
]
PLATFORMS = [
    "manylinux_2_36_aarch64",
    "manylinux_2_35_aarch64",
    "manylinux_2_28_aarch64",
    "manylinux_2_27_aarch64",
    "manylinux_2_17_aarch64",
    "manylinux2014_aarch64",
]
#: a Raspberry Pi 5's core (asimd, dotprod; no i8mm, no SVE), not qemu's default "max" CPU
CPU = "cortex-a76"


def cache() -> Path:
    return Path(os.environ.get("EDGEKIT_AARCH64_CACHE") or Path.home() / ".cache" / "edgekit-aarch64")


def unavailable() -> str | None:
    """Why the emulated device cannot be made here (None: it can)."""
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        return "not an x86_64 Linux machine"
    if os.geteuid() != 0:
        return "debootstrap needs root"
    for tool in ("debootstrap", "dpkg-deb"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: apt-get install debootstrap)"
    try:
        urllib.request.urlopen(f"{MIRROR}/dists/bookworm-backports/Release", timeout=15).close()
    except OSError as exc:
        return f"Debian's mirror cannot be reached ({exc})"
    return None


def _package_file(suite: str, arch: str, package: str) -> str:
    """The pool path of ``package`` in ``suite`` (from the suite's Packages index)."""
    url = f"{MIRROR}/dists/{suite}/main/binary-{arch}/Packages.xz"
    with urllib.request.urlopen(url, timeout=120) as response:
        index = lzma.decompress(response.read()).decode()
    for stanza in index.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " ")
        if fields.get("Package") == package:
            return fields["Filename"]
    raise RuntimeError(f"{package} is not in {suite}/{arch}")


def qemu() -> Path:
    """``qemu-aarch64`` (static) from bookworm-backports' qemu-user package, unpacked into the cache."""
    binary = cache() / "qemu" / "usr" / "bin" / "qemu-aarch64"
    if not binary.exists():
        deb = cache() / "qemu-user.deb"
        deb.parent.mkdir(parents=True, exist_ok=True)
        urllib.request.urlretrieve(f"{MIRROR}/{_package_file('bookworm-backports', 'amd64', 'qemu-user')}", deb)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(cache() / "qemu")], check=True)
    return binary


def arm_root() -> Path:
    """Debian bookworm arm64 with Python 3.11 (debootstrap --foreign, then every downloaded package unpacked)."""
    root = cache() / "root"
    done = root / ".edgekit-unpacked"
    if done.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run(
        [
            "debootstrap",
            "--foreign",
            "--arch=arm64",
            "--variant=minbase",
            "--include=python3.11,libstdc++6,libgomp1",
            "bookworm",
            str(root),
            MIRROR,
        ],
        check=True,
        capture_output=True,
    )
    for deb in sorted((root / "var" / "cache" / "apt" / "archives").glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    done.write_text("")
    return root


def device_site() -> Path:
    """The device-side dependencies as aarch64 wheels, installed into one folder (PYTHONPATH on the device)."""
    site = cache() / "site"
    if not (site / ".edgekit-installed").exists():
        shutil.rmtree(site, ignore_errors=True)
        platforms = [flag for platform in PLATFORMS for flag in ("--platform", platform)]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--target",
                str(site),
                *platforms,
                "--python-version",
                "3.11",
                "--implementation",
                "cp",
                "--abi",
                "cp311",
                "--only-binary=:all:",
                *DEVICE_WHEELS,
            ],
            check=True,
            capture_output=True,
        )
        (site / ".edgekit-installed").write_text("\n".join(DEVICE_WHEELS))
    return site


def edgekit_site(wheel: Path, folder: Path) -> Path:
    """``wheel`` (this checkout built as a wheel: what ``bench --on`` ships) installed into ``folder``."""
    site = folder / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    return site


def run_arm_python(
    args: list[str], sites: list[Path], timeout: float = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``python3.11 args`` on the emulated Cortex-A76, with ``sites`` on its PYTHONPATH."""
    root = arm_root()
    settings = {"PYTHONPATH": ":".join(map(str, sites)), "HOME": str(Path.home())} | (env or {})
    command = [str(qemu()), "-cpu", CPU, "-L", str(root)]
    for key, value in settings.items():
        command += ["-E", f"{key}={value}"]
    return subprocess.run(
        command + [str(root / "usr" / "bin" / "python3.11"), *args], capture_output=True, text=True, timeout=timeout
    )

"""``edgekit bench --on user@host[:port]``: bench artifacts on a device over SSH (the OpenSSH client, key-based).

The artifacts (and the evaluation data, when it is a folder or file rather than a built-in name, which the
device generates identically) are copied into a fresh temporary folder on the device as one tar stream; the
device's own ``edgekit bench`` measures them there (``--remote-python`` picks its interpreter; its edgekit
must be this version, or ``--install-wheel`` installs the wheel this machine built there first, by its path);
its results JSON comes back, the rows are renamed to the local artifact paths, and the
device is named in the environment (``device``) with what the round trip cost (``remote_seconds``). The
remote folder is removed in every case. Nothing is written locally until the results are back and checked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EdgekitError
from ..results import ResultsDocument
from ..version import __version__
from .options import BenchOptions
from .shipping import dataset_files, stream_into, total_bytes

#: user and host start with a letter or digit: nothing ssh could read as an option (``-oProxyCommand``)
_DEVICE = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9][A-Za-z0-9._-]*)@)?(?P<host>[A-Za-z0-9][A-Za-z0-9._-]*)"
    r"(?::(?P<port>\d{1,5}))?$"
)
CONNECT_TIMEOUT_S = 10
ALIVE_INTERVAL_S, ALIVE_COUNT = 15, 4
#: the device bench's process id, in its work folder
PID_FILE = "bench.pid"


@dataclass(frozen=True)
class DeviceSettings:
    """How every ``--on`` device is used: its interpreter, an ssh config file, where to work, a wheel to install
    first, and the thread count (``None``: the device's own default, one thread per physical core there)."""

    python: str = "python3"
    ssh_config: Path | None = None
    #: where the work folder is made on the device (default: its $TMPDIR, else /tmp)
    tmp: str | None = None
    #: an edgekit-deploy wheel of this version to install on the device before benching
    wheel: Path | None = None
    threads: int | None = None
    #: seconds one remote step (copy, install, bench) may take before it is one error line
    timeout_s: float = 3600.0


@dataclass(frozen=True)
class Device:
    """Where ``--on`` benches: ``user@host:port``, and how (``DeviceSettings``)."""

    user: str | None
    host: str
    port: int | None
    settings: DeviceSettings = DeviceSettings()

    @property
    def name(self) -> str:
        return f"{self.user + '@' if self.user else ''}{self.host}{':' + str(self.port) if self.port else ''}"

    @property
    def python(self) -> str:
        return self.settings.python

    def ssh(self, command: str) -> list[str]:
        """The ssh command line that runs ``command`` (a shell string) on the device, never asking anything."""
        line = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}"]
        # a device that dies mid-bench is noticed within a minute instead of at the TCP timeout
        line += ["-o", f"ServerAliveInterval={ALIVE_INTERVAL_S}", "-o", f"ServerAliveCountMax={ALIVE_COUNT}"]
        if self.settings.ssh_config is not None:
            line += ["-F", str(self.settings.ssh_config)]
        if self.port:
            line += ["-p", str(self.port)]
        # "--": ssh parses options after the destination too; nothing after it may be taken for one
        return line + ["--", f"{self.user}@{self.host}" if self.user else self.host, command]


def parse_device(spec: str, settings: DeviceSettings = DeviceSettings()) -> Device:
    """``user@host[:port]`` as a ``Device``; anything else (or a bad setting) is one error line."""
    match = _DEVICE.match(spec)
    if not match or (match["port"] and not 0 < int(match["port"]) < 65536):
        raise EdgekitError(f"--on takes user@host[:port], got {spec!r}")
    for flag, value in (("--remote-python", settings.python), ("--remote-tmp", settings.tmp)):
        if value is not None and (not value.strip() or value.lstrip().startswith("-")):
            raise EdgekitError(f"{flag} must be a path on the device, got {value!r}")
    if not settings.timeout_s > 0:
        raise EdgekitError(f"--remote-timeout must be a positive number of seconds, got {settings.timeout_s:g}")
    if settings.ssh_config is not None and not settings.ssh_config.is_file():
        raise EdgekitError(f"--ssh-config {settings.ssh_config} is not a file")
    if settings.wheel is not None:
        check_wheel(settings.wheel)
    return Device(match["user"], match["host"], int(match["port"]) if match["port"] else None, settings)


def check_wheel(wheel: Path) -> None:
    """Refuse anything but an edgekit-deploy wheel of this very version (``pip wheel --no-deps . -w dist``)."""
    if not wheel.is_file():
        raise EdgekitError(f"--install-wheel {wheel} is not a file")
    found = re.match(r"^edgekit_deploy-([^-]+)-.+\.whl$", wheel.name)
    if not found:
        raise EdgekitError(f"--install-wheel {wheel.name} is not an edgekit-deploy wheel (edgekit_deploy-*.whl)")
    if found[1] != __version__:
        raise EdgekitError(
            f"--install-wheel {wheel.name} is edgekit {found[1]}, this machine {__version__}: the "
            "same version must measure both sides"
        )
    name, version = _wheel_metadata(wheel)
    if (name, version) != ("edgekit-deploy", __version__):
        raise EdgekitError(
            f"--install-wheel {wheel.name} holds {name or '?'} {version or '?'} (its METADATA), not "
            f"edgekit-deploy {__version__}: a renamed file is not installed"
        )


def _wheel_metadata(wheel: Path) -> tuple[str | None, str | None]:
    """(Name, Version) from the wheel's ``*.dist-info/METADATA`` (normalised name), or Nones if unreadable."""
    import zipfile

    try:
        with zipfile.ZipFile(wheel) as archive:
            names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            text = archive.read(names[0]).decode(errors="replace") if len(names) == 1 else ""
    except (zipfile.BadZipFile, OSError, KeyError):
        return None, None
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line and not line.startswith(" "))
    name = fields.get("Name")
    return (name.lower().replace("_", "-") if name else None), fields.get("Version")


def _install(device: Device, wheel: str) -> None:
    """Install the copied ``wheel`` for the device's Python by its path, never by name: pip cannot take
    edgekit-deploy from an index. First the wheel alone (replacing what is there), then its dependencies, which
    pip only fetches (from the device's own index) if one is missing."""
    python = shell_path(device.python)
    quiet = "-m pip install --quiet --no-input --disable-pip-version-check"
    _run(
        device,
        f"{python} {quiet} --no-index --force-reinstall --no-deps {shlex.quote(wheel)} >&2 && "
        f"{python} {quiet} {shlex.quote(wheel)} >&2",
        "installing the wheel",
    )


def _run(device: Device, command: str, what: str, stdin: bytes | None = None) -> str:
    """Run ``command`` on the device; a failure is one line saying what failed and why (ssh's last line)."""
    try:
        result = subprocess.run(
            device.ssh(command), input=stdin, capture_output=True, timeout=device.settings.timeout_s
        )
    except subprocess.TimeoutExpired:
        raise EdgekitError(
            f"{what} on {device.name} did not finish within {device.settings.timeout_s:g} s (--remote-timeout)"
        ) from None
    except FileNotFoundError:
        raise EdgekitError("--on needs the OpenSSH client (ssh) on this machine: install openssh-client") from None
    if result.returncode == 0:
        return result.stdout.decode(errors="replace")
    lines = [line.strip() for line in result.stderr.decode(errors="replace").splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit {result.returncode}"
    if result.returncode == 255:  # ssh itself: unreachable, refused, authentication
        raise EdgekitError(f"cannot reach {device.name} over SSH: {last}")
    raise EdgekitError(f"{what} on {device.name} failed: {_cause(lines) or last}")


def _cause(lines: list[str]) -> str | None:
    """The line of a remote command's stderr that says why (edgekit's ``error:`` line, a full disk, ...), not
    the summary a tool prints after it."""
    telling = ("error:", "no space left", "denied", "cannot", "not found", "read-only", "wrote only")
    for line in lines:
        if any(word in line.lower() for word in telling) and "exiting with failure status" not in line.lower():
            return line
    return None


def shell_path(path: str) -> str:
    """``path`` quoted for the device's shell, a leading ``~/`` still meaning its home (``--remote-python
    '~/.venv/bin/python'``)."""
    return f'"$HOME"/{shlex.quote(path[2:])}' if path.startswith("~/") else shlex.quote(path)


def _check_version(device: Device) -> None:
    code = "import edgekit; print(edgekit.__version__)"
    try:
        found = _run(device, f"{shell_path(device.python)} -c {shlex.quote(code)}", "edgekit").strip()
    except EdgekitError as exc:
        if "cannot reach" in str(exc):
            raise
        raise EdgekitError(
            f"edgekit is not installed for {device.python} on {device.name} "
            f"(install the wheel this machine built, or pick another with --remote-python)"
        ) from None
    if found != __version__:
        raise EdgekitError(
            f"{device.name} has edgekit {found or '?'}, this machine {__version__}: the same version "
            "must measure both sides"
        )


def _copy(device: Device, folder: str, paths: dict[str, Path]) -> int:
    """Stream ``paths`` into ``folder`` on the device; returns the bytes sent. A full disk is said as such (tar
    only says it wrote less)."""
    size = total_bytes(paths)
    command = device.ssh(f"tar -C {shlex.quote(folder)} -xf -")
    try:
        result = stream_into(command, paths, device.settings.timeout_s)
    except subprocess.TimeoutExpired:
        raise EdgekitError(
            f"copying the artifacts to {device.name} did not finish within {device.settings.timeout_s:g} s "
            "(--remote-timeout)"
        ) from None
    if result.returncode == 0:
        return size
    free = subprocess.run(
        device.ssh(f"df -Pk {shlex.quote(folder)} | tail -1"), capture_output=True, text=True, timeout=60
    ).stdout.split()
    if len(free) >= 4 and free[3].isdigit() and int(free[3]) * 1024 < size:
        raise EdgekitError(
            f"no space left on {device.name} at {folder}: {int(free[3])} KiB free, "
            f"{size // 1024} KiB to copy (choose another folder with --remote-tmp)"
        )
    lines = [line.strip() for line in result.stderr.decode(errors="replace").splitlines() if line.strip()]
    if result.returncode == 255:
        raise EdgekitError(f"cannot reach {device.name} over SSH: {lines[-1] if lines else 'exit 255'}")
    raise EdgekitError(f"copying the artifacts on {device.name} failed: {_cause(lines) or (lines or ['?'])[-1]}")


def _bench_command(device: Device, folder: str, names: list[str], options: BenchOptions, data: str | None) -> str:
    args = [
        "-m",
        "edgekit.cli",
        "bench",
        *names,
        "--json",
        "results.json",
        "--runs",
        str(options.runs),
        "--warmup",
        str(options.warmup),
        "--min-seconds",
        str(options.min_seconds),
        "--rounds",
        str(options.rounds),
    ]
    for flag, value in (
        ("--threads", device.settings.threads),
        ("--data", data),
        ("--preset", options.preset),
        ("--task", options.task),
        ("--imgsz", options.imgsz),
    ):
        if value is not None:
            args += [flag, str(value)]
    # counted on the device, under its own valgrind (a device without one says so in its one error line)
    args += [flag for flag, on in (("--count", options.count), ("--count-cache", options.count_cache)) if on]
    # exit 1 means "a row failed": the results JSON is still there and says which
    command = f"{shell_path(device.python)} {shlex.join(args)}"
    # in the background with its pid in the work folder, so that the clean-up (also after Ctrl-C here) stops it
    started = f"{command} >&2 & echo $! > {PID_FILE}"
    return f"cd {shlex.quote(folder)} && {{ {started}; wait $!; code=$?; rm -f {PID_FILE}; [ $code -le 1 ]; }}"


def _cleanup(folder: str) -> str:
    """The device command that stops a bench still running in ``folder`` and removes the folder."""
    quoted = shlex.quote(folder)
    return f"[ -f {quoted}/{PID_FILE} ] && kill $(cat {quoted}/{PID_FILE}) 2>/dev/null; rm -rf {quoted}"


def remote_bench(paths: list[Path], options: BenchOptions, device: Device) -> ResultsDocument:
    """Bench ``paths`` on ``device`` (see the module docstring); returns its results with local artifact paths."""
    from ..calibration_data.build import BUILTIN_DATASETS

    start = time.perf_counter()
    if device.settings.wheel is None:
        _check_version(device)
    names = {f"a{index}-{path.name}": path for index, path in enumerate(paths)}
    shipped: dict[str, Path] = dict(names)
    if device.settings.wheel is not None:
        shipped[f"wheel/{device.settings.wheel.name}"] = device.settings.wheel
    data = options.data
    if data is not None and data not in BUILTIN_DATASETS:
        if not Path(data).exists():
            raise EdgekitError(f"--data {data} does not exist")
        files, data = dataset_files(data)  # the dataset's own files, never the folder around them
        shipped |= files
    base = shell_path(device.settings.tmp) if device.settings.tmp else '"${TMPDIR:-/tmp}"'
    folder = _run(device, f"mktemp -d {base}/edgekit-remote.XXXXXX", "making a work folder").strip()
    if not folder.startswith("/"):
        raise EdgekitError(f"{device.name} did not make a work folder (got {folder[:80]!r})")
    try:
        sent = _copy(device, folder, shipped)
        copied = installed = time.perf_counter()
        if device.settings.wheel is not None:
            _install(device, f"{folder}/wheel/{device.settings.wheel.name}")
            _check_version(device)
            installed = time.perf_counter()
        _run(device, _bench_command(device, folder, list(names), options, data), "edgekit bench")
        benched = time.perf_counter()
        raw = _run(device, f"cat {shlex.quote(folder)}/results.json", "reading the results")
    finally:
        # a device that stopped answering keeps its folder; the error says why
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(device.ssh(_cleanup(folder)), capture_output=True, timeout=120)
    cost = {
        "copy_s": round(copied - start, 2),
        "bench_s": round(benched - installed, 2),
        "total_s": round(time.perf_counter() - start, 2),
        "bytes_copied": sent,
    }
    if device.settings.wheel is not None:
        cost["install_s"] = round(installed - copied, 2)
    return _localised(raw, names, device, cost)


def _localised(raw: str, names: dict[str, Path], device: Device, cost: dict[str, Any]) -> ResultsDocument:
    """The device's document, checked, its rows pointing at the local artifacts, the device named."""
    from ..schema import parse_json

    where = f"results from {device.name}"
    document = ResultsDocument.from_dict(parse_json(raw.encode(), where), where)  # nesting bounded first
    rows = []
    for row in document.rows:
        local = names.get(Path(row.artifact).name)
        rows.append(dataclasses.replace(row, artifact=str(local)) if local else row)
    environment = document.environment | {"device": device.name, "remote_seconds": cost}
    return ResultsDocument(environment=environment, rows=tuple(rows))


def bench_on_devices(
    paths: list[Path], options: BenchOptions, devices: list[str], settings: DeviceSettings, json_path: Path | None
) -> dict[str, ResultsDocument]:
    """``remote_bench`` on each device in turn; each device's results JSON is written (atomically, after all
    devices answered) to ``json_path``, or ``json_path`` with ``-<host>`` added when there are several."""
    import json
    import shutil

    from ..fsutil import check_replaceable, write_text_atomic

    if shutil.which("ssh") is None:
        raise EdgekitError("--on needs the OpenSSH client (ssh) on this machine: install openssh-client")
    parsed = [parse_device(spec, settings) for spec in devices]
    if len({device.name for device in parsed}) != len(parsed):
        raise EdgekitError("--on names a device twice")
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise EdgekitError(f"not found: {missing[0]}")
    targets = {}
    for device in parsed:
        if json_path is not None:
            safe = re.sub(r"[^A-Za-z0-9._-]", "_", device.name)
            several = json_path.with_name(f"{json_path.stem}-{safe}{json_path.suffix}")
            target = json_path if len(parsed) == 1 else several
            check_replaceable(target, force=True)
            targets[device.name] = target
    options.validate()
    documents = {device.name: remote_bench(paths, options, device) for device in parsed}
    for name, target in targets.items():
        write_text_atomic(target, json.dumps(documents[name].to_dict(), indent=2, allow_nan=False) + "\n")
    return documents

"""`bench --on` arguments without a device: the device spec, the remote shell quoting, the command refused."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from edgekit import __version__
from edgekit.bench.options import BenchOptions, physical_cores
from edgekit.bench.remote import DeviceSettings, _bench_command, parse_device, shell_path
from edgekit.cli import app
from edgekit.errors import EdgekitError
from typer.testing import CliRunner


def test_device_specs_parse_and_bad_ones_are_one_line():
    device = parse_device("pi@raspberrypi.local:2200", DeviceSettings(python="~/.venv/bin/python"))
    assert (device.user, device.host, device.port, device.name) == (
        "pi",
        "raspberrypi.local",
        2200,
        "pi@raspberrypi.local:2200",
    )
    assert device.ssh("true")[-2:] == ["pi@raspberrypi.local", "true"] and "BatchMode=yes" in device.ssh("true")
    assert parse_device("jetson").name == "jetson"
    for bad in ("pi@", "pi@host:0", "pi@host:70000", "pi@host;rm -rf /", "-oProxyCommand=x", "-oBatchMode", "-l@host"):
        with pytest.raises(EdgekitError, match="user@host"):
            parse_device(bad)


def test_remote_paths_are_quoted_and_a_home_prefix_still_expands():
    assert shell_path("~/.venv/bin/python") == '"$HOME"/.venv/bin/python'
    assert shell_path("/opt/my venv/python") == "'/opt/my venv/python'"
    assert shell_path("$(reboot)") == "'$(reboot)'"


def test_count_is_asked_of_the_device_with_on():
    device = parse_device("pi@host")
    assert "--count" not in _bench_command(device, "/tmp/x", ["a0-m"], BenchOptions(), None)
    command = _bench_command(device, "/tmp/x", ["a0-m"], BenchOptions(count=True, count_cache=True), None)
    assert "--count --count-cache" in command


def test_on_with_predictions_or_profile_is_refused_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["bench", str(tmp_path), "--on", "pi@host", "--profile", str(tmp_path / "p.json")])
    assert result.exit_code == 2 and "run locally only" in result.output


def test_only_a_wheel_of_this_version_is_shipped(tmp_path):
    for name, words in (
        (f"edgekit-{__version__}-py3-none-any.whl", "not an edgekit-deploy wheel"),
        ("edgekit_deploy-0.0.1-py3-none-any.whl", "this machine"),
        (f"edgekit_deploy-{__version__}.tar.gz", "not an edgekit-deploy wheel"),
    ):
        (tmp_path / name).write_bytes(b"PK")
        with pytest.raises(EdgekitError, match=words):
            parse_device("pi@host", DeviceSettings(wheel=tmp_path / name))
    with pytest.raises(EdgekitError, match="not a file"):
        parse_device("pi@host", DeviceSettings(wheel=tmp_path / "gone.whl"))
    right = tmp_path / f"edgekit_deploy-{__version__}-py3-none-any.whl"
    _wheel(right, "edgekit-deploy", __version__)
    assert parse_device("pi@host", DeviceSettings(wheel=right)).settings.wheel == right


def _wheel(path, name: str, version: str) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            f"{name.replace('-', '_')}-{version}.dist-info/METADATA", f"Name: {name}\nVersion: {version}\n"
        )


def test_a_renamed_wheel_is_refused_by_its_metadata(tmp_path):
    """Before, the file name alone was checked: any wheel renamed edgekit_deploy-VERSION-... was installed."""
    renamed = tmp_path / f"edgekit_deploy-{__version__}-py3-none-any.whl"
    _wheel(renamed, "requests", "2.31.0")
    with pytest.raises(EdgekitError, match="holds requests 2.31.0"):
        parse_device("pi@host", DeviceSettings(wheel=renamed))
    renamed.write_bytes(b"PK")
    with pytest.raises(EdgekitError, match="holds \\? \\?"):
        parse_device("pi@host", DeviceSettings(wheel=renamed))


def test_threads_default_to_physical_cores_here_and_to_the_devices_own_with_on():
    cores = physical_cores()
    assert 1 <= cores <= len(__import__("os").sched_getaffinity(0)) and BenchOptions().threads == cores
    device = parse_device("pi@host")
    assert "--threads" not in _bench_command(device, "/tmp/x", ["a0-m"], BenchOptions(), None)  # the device decides
    told = parse_device("pi@host", DeviceSettings(threads=3))
    assert "--threads 3" in _bench_command(told, "/tmp/x", ["a0-m"], BenchOptions(threads=3), None)


@pytest.mark.parametrize("flag", ["python", "tmp"])
def test_a_remote_value_that_ssh_could_read_as_an_option_is_refused(flag):
    settings = DeviceSettings(**{flag: "-oProxyCommand=/tmp/x.sh"})
    with pytest.raises(EdgekitError, match="must be a path on the device"):
        parse_device("pi@device", settings)


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client")
def test_nothing_after_the_destination_reaches_ssh_as_an_option(tmp_path):
    """The real ssh client, given the command line edgekit builds with a command that looks like an option: it
    must try to reach the host (port 9 on loopback refuses), never run the ProxyCommand on this machine."""
    marker = tmp_path / "ran"
    device = parse_device("127.0.0.1:9")
    line = device.ssh(f"-oProxyCommand=touch {marker}")
    assert line[-3] == "--"
    done = subprocess.run(line, capture_output=True, text=True, timeout=60)
    assert done.returncode == 255 and not marker.exists()


def test_a_bad_remote_timeout_is_one_line():
    with pytest.raises(EdgekitError, match="--remote-timeout must be a positive"):
        parse_device("pi@device", DeviceSettings(timeout_s=0))


def test_every_ssh_line_asks_the_device_to_answer_keepalives():
    line = parse_device("pi@device").ssh("true")
    assert "ServerAliveInterval=15" in line and "ServerAliveCountMax=4" in line


def test_device_results_are_parsed_with_the_nesting_bound():
    from edgekit.bench.remote import Device, _localised

    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(EdgekitError, match="results from pi@device"):
        _localised(deep, {}, Device("pi", "device", None), {})
    with pytest.raises(EdgekitError, match="not valid JSON"):
        _localised("{not json", {}, Device("pi", "device", None), {})


def test_the_clean_up_stops_a_bench_still_running_on_the_device(tmp_path):
    """Ctrl-C here ends ssh, but a command without a terminal runs on: the clean-up (run in a finally, so after
    Ctrl-C too) kills the bench by the pid it left in its work folder. Run by a real shell, as sshd would."""
    import time

    from edgekit.bench.remote import PID_FILE, Device, _cleanup

    slow = tmp_path / "python"
    slow.write_text("#!/bin/sh\nexec sleep 120\n")
    slow.chmod(0o755)
    folder = tmp_path / "work"
    folder.mkdir()
    device = Device("pi", "device", None, DeviceSettings(python=str(slow)))
    bench = subprocess.Popen(["sh", "-c", _bench_command(device, str(folder), ["a0-m"], BenchOptions(), None)])
    deadline = time.monotonic() + 30
    while not (folder / PID_FILE).is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    subprocess.run(["sh", "-c", _cleanup(str(folder))], check=False, timeout=30)
    assert bench.wait(timeout=30) != 0  # killed, not finished
    assert not folder.exists()


def test_without_an_ssh_client_on_is_one_line(tmp_path):
    """Before: FileNotFoundError, exit 3."""
    import os
    import sys

    (tmp_path / "art").mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = dict(os.environ, PATH=str(bin_dir))  # no ssh on it
    done = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "bench", str(tmp_path / "art"), "--on", "pi@127.0.0.1:9"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr[-1000:]
    assert "needs the OpenSSH client" in done.stderr + done.stdout

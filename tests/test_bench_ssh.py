"""``edgekit bench --on``: a real OpenSSH server (Debian's openssh-server) started by the test on 127.0.0.1 in a
loopback-only network namespace, with host and user keys made in the test; results equal to a local bench of
the same artifacts, and every bad case one ``error:`` line, exit 2, nothing written locally."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from edgekit import __version__
from loopback import LoopbackNamespace, unavailable

pytestmark = pytest.mark.slow
SSHD = "/usr/sbin/sshd"
PORT = 2222


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()


def _python_wrapper(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    """(ssh config, namespace, remote python) of an sshd on 127.0.0.1:2222 that this test started."""
    why = unavailable() or (None if Path(SSHD).exists() and shutil.which("ssh") else "openssh-server is not installed")
    if why:
        pytest.skip(f"no sshd for the --on tests: {why}")
    home = tmp_path_factory.mktemp("ssh")
    host_key, user_key = home / "host_key", home / "user_key"
    host_public = _keygen(host_key)
    (home / "authorized_keys").write_text(_keygen(user_key) + "\n")
    (home / "sshd_config").write_text(
        f"Port {PORT}\nListenAddress 127.0.0.1\nHostKey {host_key}\nAuthorizedKeysFile {home}/authorized_keys\n"
        f"PidFile {home}/sshd.pid\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
    )
    (home / "known_hosts").write_text(f"[127.0.0.1]:{PORT} {host_public}\n")
    config = home / "ssh_config"
    config.write_text(
        f"Host 127.0.0.1\n  IdentityFile {user_key}\n  UserKnownHostsFile {home}/known_hosts\n"
        "  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder
    # the device's Python: this venv, with the test's data cache (sshd hands over no environment)
    python = _python_wrapper(
        home, "device-python", f'export EDGEKIT_CACHE={os.environ["EDGEKIT_CACHE"]}\nexec {sys.executable} "$@"'
    )
    with LoopbackNamespace(mount=True) as ns:
        ns.popen([SSHD, "-D", "-e", "-f", str(home / "sshd_config")], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while (
            ns.run(
                ["ssh", "-F", str(config), "-p", str(PORT), "-o", "BatchMode=yes", "127.0.0.1", "true"],
                capture_output=True,
            ).returncode
            != 0
        ):
            assert time.monotonic() < deadline, "sshd did not come up"
            time.sleep(0.2)
        yield config, ns, python, home


def _edgekit(ns: LoopbackNamespace, *args: str) -> subprocess.CompletedProcess:
    return ns.run([sys.executable, "-m", "edgekit.cli", *args], capture_output=True, text=True, timeout=900)


def _on(device, *more: str) -> list[str]:
    config, _, python, _ = device
    return ["--on", f"root@127.0.0.1:{PORT}", "--ssh-config", str(config), "--remote-python", str(python), *more]


def test_ssh_bench_on_a_device_equals_the_local_bench(device, artifacts, tmp_path):
    _, ns, _, _ = device
    fast = ["--runs", "10", "--min-seconds", "0", "--warmup", "2", "--rounds", "2"]
    local = _edgekit(ns, "bench", str(artifacts["nano-det"]), "--json", str(tmp_path / "local.json"), *fast)
    assert local.returncode == 0, local.stderr
    remote = _edgekit(
        ns, "bench", str(artifacts["nano-det"]), "--json", str(tmp_path / "remote.json"), *fast, *_on(device)
    )
    assert remote.returncode == 0, remote.stderr
    mine, theirs = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("local", "remote"))
    assert theirs["results"][0]["metrics"] == mine["results"][0]["metrics"]  # accuracy exact
    assert theirs["results"][0]["artifact"] == str(artifacts["nano-det"])  # named where it is here
    assert theirs["environment"]["device"] == f"root@127.0.0.1:{PORT}"
    cost = theirs["environment"]["remote_seconds"]
    assert cost["bytes_copied"] > 0 and 0 < cost["copy_s"] <= cost["total_s"]
    print(f"remote round trip: {cost}")  # the overhead, reported (-s shows it)
    gate = _edgekit(
        ns,
        "gate",
        "--baseline",
        str(tmp_path / "local.json"),
        "--current",
        str(tmp_path / "remote.json"),
        "--no-confirm",
        "--max-latency-growth",
        "1000",
        "--max-reference-latency-growth",
        "-1",
        "--max-machine-shift",
        "-1",
        "--max-busy-share",
        "100",
    )  # rows and reading, not timing
    assert gate.returncode == 0, gate.stdout + gate.stderr


def _one_error(result: subprocess.CompletedProcess, *words: str) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert all(word in lines[0] for word in words), lines[0]
    return lines[0]


def test_ssh_bad_cases_are_one_line_and_write_nothing(device, artifacts, tmp_path):
    config, ns, python, home = device
    out = tmp_path / "r.json"
    art = str(artifacts["nano-det"])
    unreachable = _edgekit(
        ns, "bench", art, "--json", str(out), "--on", "root@127.0.0.1:2299", "--ssh-config", str(config)
    )
    _one_error(unreachable, "cannot reach root@127.0.0.1:2299")
    stranger = home / "stranger_key"
    _keygen(stranger)
    strange_config = home / "strange_config"
    strange_config.write_text(config.read_text().replace(str(home / "user_key"), str(stranger)))
    refused = _edgekit(
        ns, "bench", art, "--json", str(out), "--on", f"root@127.0.0.1:{PORT}", "--ssh-config", str(strange_config)
    )
    _one_error(refused, "cannot reach", "Permission denied")
    no_edgekit = _python_wrapper(home, "bare-python", 'exec /usr/bin/python3 "$@"')
    missing = _edgekit(ns, "bench", art, "--json", str(out), *_on(device)[:-2], "--remote-python", str(no_edgekit))
    _one_error(missing, "edgekit is not installed")
    older = _python_wrapper(home, "old-python", "echo 0.0.1")
    other = _edgekit(ns, "bench", art, "--json", str(out), *_on(device)[:-2], "--remote-python", str(older))
    _one_error(other, "edgekit 0.0.1", __version__)
    assert not out.exists()


def _nano_det_at_128(tmp_path: Path) -> Path:
    """nano-det's onnx-fp32 at 128 px: valgrind runs ORT's FP32 kernels slowly (about 28 s an inference at 256)."""
    from edgekit.convert.run import export_model

    rows = export_model("nano-det", ["onnx-fp32"], tmp_path / "out", imgsz=128)
    assert [row.status for row in rows] == ["ok"]
    return tmp_path / "out" / "onnx-fp32"


def test_ssh_count_runs_under_the_devices_valgrind_or_says_it_has_none(device, tmp_path):
    config, ns, python, home = device
    fast = ["--runs", "3", "--min-seconds", "0", "--warmup", "1", "--rounds", "1", "--count"]
    art, out = str(_nano_det_at_128(tmp_path)), tmp_path / "r.json"
    # a device whose PATH has no valgrind: its edgekit's one line comes back as ours
    bare = _python_wrapper(home, "no-valgrind-python", f'PATH=/nonexistent exec {python} "$@"')
    lacking = _edgekit(ns, "bench", art, "--json", str(out), *fast, *_on(device)[:-2], "--remote-python", str(bare))
    _one_error(lacking, "valgrind")
    assert not out.exists()
    if shutil.which("valgrind") is None or not Path("/usr/include/valgrind/callgrind.h").is_file():
        pytest.skip("no valgrind on this machine, so none on its loopback device")
    counted = _edgekit(ns, "bench", art, "--json", str(out), *fast, *_on(device))
    assert counted.returncode == 0, counted.stderr
    row = json.loads(out.read_text())["results"][0]
    # spreads: under 0.03 % idle, 0.20 % at most under load in the study (docs/gate.md)
    assert row["instructions_per_inference"] > 10_000_000 and row["count"]["spread_pct"] < 0.5


def test_ssh_a_full_disk_on_the_device_is_one_line(device, artifacts, tmp_path):
    _, ns, python, home = device
    tiny = home / "tiny"
    tiny.mkdir(exist_ok=True)
    mounted = ns.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(tiny)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"no tmpfs in the device's mount namespace: {mounted.stderr.strip()}")
    out = tmp_path / "r.json"
    result = _edgekit(
        ns, "bench", str(artifacts["nano-det"]), "--json", str(out), *_on(device), "--remote-tmp", str(tiny)
    )
    _one_error(result, "no space left on", "KiB free")
    assert not out.exists()


def test_ssh_several_devices_make_one_table_with_a_device_column_and_a_json_each(device, artifacts, tmp_path):
    config, ns, python, _ = device
    fast = ["--runs", "5", "--min-seconds", "0", "--warmup", "1", "--rounds", "1"]
    # one sshd, reached under two device names (with and without the user): two devices to edgekit
    result = _edgekit(
        ns,
        "bench",
        str(artifacts["nano-det"]),
        "--json",
        str(tmp_path / "r.json"),
        *fast,
        "--on",
        f"root@127.0.0.1:{PORT}",
        "--on",
        f"127.0.0.1:{PORT}",
        "--ssh-config",
        str(config),
        "--remote-python",
        str(python),
    )
    assert result.returncode == 0, result.stderr
    assert "edgekit bench on several devices" in result.stdout and "device" in result.stdout
    written = sorted(path.name for path in tmp_path.glob("r-*.json"))
    assert written == ["r-127.0.0.1_2222.json", "r-root_127.0.0.1_2222.json"] and not (tmp_path / "r.json").exists()
    first, second = (json.loads((tmp_path / name).read_text()) for name in written)
    assert first["results"][0]["metrics"] == second["results"][0]["metrics"]
    assert {first["environment"]["device"], second["environment"]["device"]} == {
        f"root@127.0.0.1:{PORT}",
        f"127.0.0.1:{PORT}",
    }


def test_ssh_install_wheel_puts_this_machines_wheel_on_a_device_without_edgekit(
    device, artifacts, edgekit_wheel, tmp_path
):
    """A device venv with the runtimes but no edgekit: ``--install-wheel`` ships the wheel built here and
    installs it by its path (``--no-index`` for edgekit-deploy itself), then benches; accuracy equals the run
    on the device python that had edgekit already."""
    _, ns, python, home = device
    venv = tmp_path / "device-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    host_site = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    device_site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the runtimes (numpy, onnxruntime, ...) from this venv, as a plain path: its editable edgekit stays unseen
    (Path(device_site) / "host-runtimes.pth").write_text(host_site + "\n")
    fresh = _python_wrapper(
        home, "fresh-python", f'export EDGEKIT_CACHE={os.environ["EDGEKIT_CACHE"]}\nexec {venv / "bin" / "python"} "$@"'
    )
    art, fast = str(artifacts["nano-det"]), ["--runs", "5", "--min-seconds", "0", "--warmup", "1", "--rounds", "1"]
    on = [*_on(device)[:-2], "--remote-python", str(fresh)]
    _one_error(_edgekit(ns, "bench", art, *fast, *on), "edgekit is not installed")
    result = _edgekit(
        ns, "bench", art, *fast, "--json", str(tmp_path / "w.json"), *on, "--install-wheel", str(edgekit_wheel)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "w.json").read_text())["environment"]["remote_seconds"]["install_s"] > 0
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import edgekit; print(edgekit.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(device_site), where  # the wheel's copy, in the device's own venv
    local = _edgekit(ns, "bench", art, *fast, "--json", str(tmp_path / "l.json"))
    assert local.returncode == 0, local.stderr
    installed, here = (json.loads((tmp_path / f"{n}.json").read_text())["results"][0] for n in ("w", "l"))
    assert installed["metrics"] == here["metrics"]

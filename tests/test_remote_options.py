"""`bench --on` arguments without a device: the device spec, the remote shell quoting, the command refused."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from edgekit.bench.remote import parse_device, shell_path
from edgekit.cli import app
from edgekit.errors import EdgekitError


def test_device_specs_parse_and_bad_ones_are_one_line():
    device = parse_device("pi@raspberrypi.local:2200", python="~/.venv/bin/python")
    assert (device.user, device.host, device.port, device.name) == ("pi", "raspberrypi.local", 2200,
                                                                    "pi@raspberrypi.local:2200")
    assert device.ssh("true")[-2:] == ["pi@raspberrypi.local", "true"] and "BatchMode=yes" in device.ssh("true")
    assert parse_device("jetson").name == "jetson"
    for bad in ("pi@", "pi@host:0", "pi@host:70000", "pi@host;rm -rf /", "-oProxyCommand=x", "-oBatchMode",
                "-l@host"):
        with pytest.raises(EdgekitError, match="user@host"):
            parse_device(bad)


def test_remote_paths_are_quoted_and_a_home_prefix_still_expands():
    assert shell_path("~/.venv/bin/python") == '"$HOME"/.venv/bin/python'
    assert shell_path("/opt/my venv/python") == "'/opt/my venv/python'"
    assert shell_path("$(reboot)") == "'$(reboot)'"


def test_on_with_predictions_or_profile_is_refused_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["bench", str(tmp_path), "--on", "pi@host", "--profile", str(tmp_path / "p.json")])
    assert result.exit_code == 2 and "run locally only" in result.output

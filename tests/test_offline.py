"""Nothing phones home: ONNX Runtime's telemetry (on by default in its PyPI builds since 1.29, Linux included)
stays off when edgekit loads ORT, on the real ORT, with the user's explicit choice still honoured.

With telemetry on, importing ORT starts an uploader thread (it resolves Microsoft's event host every few
seconds) and writes a device id under ``~/.cache/Microsoft``; with it off, importing ORT and opening a one-thread
session start no thread and write nothing. Each case runs in a fresh interpreter with its own ``HOME``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
from loopback import unavailable
from onnx import TensorProto, helper

#: opens a one-thread session the way bench does (edgekit's ORT runtime), runs it, reports the threads that
#: importing ORT and opening it started, and the setting
_PROBE = """
import json, os, sys
import numpy as np
before = len(os.listdir("/proc/self/task"))
from edgekit.runtimes.onnxruntime import OrtSession
session = OrtSession(sys.argv[1], 1)
session.run(np.ones((1, 4), np.float32))
started = len(os.listdir("/proc/self/task")) - before
print(json.dumps({"threads_started": started, "setting": os.environ.get("ORT_DISABLE_TELEMETRY")}))
"""


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    path = tmp_path_factory.mktemp("offline") / "relu.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what every ORT of the last years reads
    onnx.save(model, str(path))
    return path


def _probe(model: Path, home: Path, setting: str | None, isolated: bool = False) -> tuple[dict[str, object], list[str]]:
    env = {key: value for key, value in os.environ.items() if key != "ORT_DISABLE_TELEMETRY"}
    env |= {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    if setting is not None:
        env["ORT_DISABLE_TELEMETRY"] = setting
    home.mkdir()
    command = [*(["unshare", "-n"] if isolated else []), sys.executable, "-c", _PROBE, str(model)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=True)
    written = sorted(str(path.relative_to(home)) for path in home.rglob("*") if path.is_file())
    return json.loads(result.stdout.strip().splitlines()[-1]), written


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc (Linux)")
def test_ort_sessions_opened_through_edgekit_start_no_telemetry(tiny_onnx: Path, tmp_path: Path):
    # isolated where it can be: were the switch broken, this run would not send anything either
    report, written = _probe(tiny_onnx, tmp_path / "default", None, isolated=unavailable() is None)
    assert report == {"threads_started": 0, "setting": "1"}
    assert written == []


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc (Linux)")
def test_a_user_who_sets_the_variable_keeps_their_choice(tiny_onnx: Path, tmp_path: Path):
    """The control: the same probe with telemetry allowed shows what the default prevents (so the first test
    would see it), and edgekit does not override a value the user set. It runs in a network namespace of its own
    (no interface up), so the telemetry it allows has nowhere to go."""
    why = unavailable()
    if why:
        pytest.skip(f"the control would send ORT's telemetry without a network namespace: {why}")
    report, written = _probe(tiny_onnx, tmp_path / "allowed", "0", isolated=True)
    import onnxruntime

    if report["threads_started"] == 0 and not written:
        pytest.skip(f"this onnxruntime ({onnxruntime.__version__}) has no telemetry to turn off")
    assert report["setting"] == "0"
    assert report["threads_started"] > 0
    assert any("Microsoft" in path for path in written), written

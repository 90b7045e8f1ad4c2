"""Errors that used to escape the one-line boundary (issue 22, item 4): a converter's ``sys.exit`` and a runtime's
exception while scoring one artifact fail that target's or artifact's row, with a reason, and the run goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from edgekit.cli import app
from edgekit.errors import ExportError, describe, first_line
from onnx import TensorProto, helper
from typer.testing import CliRunner

runner = CliRunner()
FAST = ["--runs", "2", "--warmup", "1", "--min-seconds", "0", "--rounds", "1"]


def _group_norm_onnx(path: Path) -> None:
    """A graph with GroupNorm, which onnx2tf refuses with ``sys.exit(1)`` when CUDA is absent."""
    import onnx

    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node(
            "GroupNorm", ["r", "g", "b"], ["y"], domain="com.microsoft", groups=1, epsilon=1e-5, activation=0
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 32, 32])],
        [
            helper.make_tensor("g", TensorProto.FLOAT, [3], [1.0] * 3),
            helper.make_tensor("b", TensorProto.FLOAT, [3], [0.0] * 3),
        ],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.save(model, str(path))


def test_onnx2tf_exiting_is_an_export_error_with_its_log_tail(tmp_path):
    pytest.importorskip("onnx2tf")
    from edgekit.data.calibration import CalibrationSet, noise_images
    from edgekit.data.preprocess import Preprocessing
    from edgekit.exporters.tflite_common import _translate

    _group_norm_onnx(tmp_path / "gn.onnx")
    preprocessing = Preprocessing(32)
    calib = CalibrationSet.from_images(noise_images(preprocessing, 2, tmp_path / "noise"), preprocessing)
    with pytest.raises(ExportError, match=r"onnx2tf gave up \(exit 1\): .*(GroupNorm|CUDA)") as raised:
        _translate(tmp_path / "gn.onnx", calib)
    assert "\n" not in str(raised.value)


def test_a_runtime_error_while_scoring_fails_that_row_and_the_bench_goes_on(artifacts, tmp_path):
    """nano-det's ONNX has a static 256 px input; benched bare with --imgsz 320 ONNX Runtime raises on the first
    image. Beside it, the same model as an edgekit artifact is benched as usual, and the JSON is written."""
    bare = tmp_path / "static256.onnx"
    bare.write_bytes((artifacts["nano-det"] / "model.onnx").read_bytes())
    out = tmp_path / "r.json"
    result = runner.invoke(
        app,
        [
            "bench",
            str(bare),
            str(artifacts["nano-det"]),
            "--data",
            "shapes-det",
            "--imgsz",
            "320",
            "--json",
            str(out),
            *FAST,
        ],
    )
    rows = {row["target"]: row for row in json.loads(out.read_text())["results"]}
    assert result.exit_code == 1, result.output
    assert rows["static256.onnx"]["status"].startswith("bench failed:"), rows
    assert rows["onnx-fp32"]["status"] == "ok"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("", "RuntimeError"),
        ("   \n\n  ", "RuntimeError"),
        ("\n\nFail: [ONNXRuntimeError] node Conv\nstack frame 1", "Fail: [ONNXRuntimeError] node Conv"),
        ("x" * 500, "x" * 300),
    ],
)
def test_first_line_quotes_the_first_non_blank_line_or_names_the_type(message, expected):
    assert first_line(RuntimeError(message)) == expected


def test_describe_never_indexes_an_empty_message():
    assert describe(MemoryError()) == "MemoryError"
    assert describe(ValueError("bad\nmore"), 2) == "ValueError: ba"


def test_no_module_slices_an_exception_message_itself():
    """Every error line quotes a library's message through first_line/describe (19 hand-made copies before, 9 of
    which raised IndexError on an empty message)."""
    roots = [Path(__file__).resolve().parents[1] / name for name in ("toolkit", "exporters", "runtimes")]
    offenders = [
        f"{path.name}:{number}"
        for root in roots
        for path in root.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "str(exc)" in line and "splitlines()" in line and path.name != "errors.py"
    ]
    assert offenders == []

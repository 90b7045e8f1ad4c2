"""``edgekit compress --pad same`` and the lossless SAME-padding fold the TFLite exporter applies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from edgekit.cli import app
from edgekit.compress.rewrite import SameUpperConv2d, same_padding
from edgekit.compress.stats import model_stats
from edgekit.convert.padding import fold_same_padding, same_upper_pads
from edgekit.convert.sources import load_source
from edgekit.convert.torch_to_onnx import export_onnx
from edgekit.errors import EdgekitError
from torch import nn
from typer.testing import CliRunner

runner = CliRunner()


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, 2, 1),
        nn.SiLU(),
        nn.Conv2d(8, 8, 3, 1, 1),
        nn.Conv2d(8, 16, 3, 2, 1),
        nn.Conv2d(16, 16, 5, 2, 2),
    ).eval()


def test_same_upper_pads_match_tensorflow_same() -> None:
    assert same_upper_pads([64, 64], [3, 3], [2, 2], [1, 1]) == [0, 0, 1, 1]  # even size: all at the end
    assert same_upper_pads([65, 65], [3, 3], [2, 2], [1, 1]) == [1, 1, 1, 1]
    assert same_upper_pads([32], [3], [1], [1]) == [1, 1]


def test_strided_convs_become_same_padded_and_compute_what_an_explicit_end_pad_does() -> None:
    model = _net()
    plain = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    weights = [conv.weight.detach().clone() for conv in plain]
    before = model_stats(model, torch.zeros(1, 3, 64, 64))
    assert same_padding(model) == 3  # the stride-1 conv keeps its symmetric padding
    assert model_stats(model, torch.zeros(1, 3, 64, 64)) == before  # same outputs sizes: same MACs, counted
    assert [type(m) is SameUpperConv2d for m in plain] == [True, False, True, True]
    x = torch.randn(1, 3, 64, 64)
    expected = F.conv2d(F.pad(x, [0, 1, 0, 1]), weights[0], plain[0].bias, stride=2)
    assert torch.allclose(plain[0](x), expected, atol=1e-6)
    assert model(x).shape == (1, 16, 8, 8)  # SAME: ceil(size / stride) at every level
    with pytest.raises(EdgekitError, match="no strided Conv2d"):
        same_padding(nn.Sequential(nn.Conv2d(3, 3, 3, 1, 1)))


def test_the_fold_marks_same_padded_convs_and_changes_no_output(tmp_path: Path) -> None:
    model = _net()
    same_padding(model)
    export_onnx(model, 64, tmp_path / "m.onnx")
    folded = fold_same_padding(tmp_path / "m.onnx", tmp_path / "f.onnx")
    graph = onnx.load(str(tmp_path / "f.onnx")).graph
    assert folded == 3 and not [n for n in graph.node if n.op_type == "Pad"]
    marked = [
        n
        for n in graph.node
        if n.op_type == "Conv" and any(a.name == "auto_pad" and a.s == b"SAME_UPPER" for a in n.attribute)
    ]
    assert len(marked) == 3
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    outputs = [
        ort.InferenceSession(str(tmp_path / name), providers=["CPUExecutionProvider"]).run(
            None, {graph.input[0].name: x}
        )[0]
        for name in ("m.onnx", "f.onnx")
    ]
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-5)


def test_symmetric_strided_padding_is_left_alone(tmp_path: Path) -> None:
    export_onnx(_net(), 64, tmp_path / "m.onnx")
    assert fold_same_padding(tmp_path / "m.onnx", tmp_path / "f.onnx") == 0


@pytest.mark.slow
def test_compress_pad_same_records_the_rewrite_and_its_tflite_int8_has_no_pad_ops(tmp_path: Path) -> None:
    pytest.importorskip("onnx2tf")
    from ai_edge_litert.interpreter import Interpreter

    report, out = tmp_path / "r.json", tmp_path / "s.pt"
    result = runner.invoke(
        app,
        [
            "compress",
            "nano-det",
            "--pad",
            "same",
            "--recover",
            "labels",
            "--epochs",
            "1",
            "--kd-images",
            "64",
            "-o",
            str(out),
            "--json",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    rewrite = json.loads(report.read_text())["steps"][0]
    strided = sum(1 for m in load_source("nano-det").module.modules() if isinstance(m, nn.Conv2d) and max(m.stride) > 1)
    assert rewrite == {**rewrite, "step": "rewrite", "pad": "same", "replaced": strided}
    result = runner.invoke(
        app, ["export", str(out), "--trust", "-t", "tflite-int8", "-o", str(tmp_path / "x"), "--calib-images", "16"]
    )  # what is checked is the graph, not its accuracy
    assert result.exit_code == 0, result.output
    interpreter = Interpreter(model_path=str(tmp_path / "x" / "tflite-int8" / "model.tflite"))
    assert "PAD" not in {op["op_name"] for op in interpreter._get_ops_details()}


def test_pad_needs_recovery_and_a_known_value(tmp_path: Path) -> None:
    for args, message in (
        (["--pad", "same"], "needs recovery"),
        (["--pad", "valid", "--recover", "labels"], "--pad must be one of same"),
    ):
        result = runner.invoke(app, ["compress", "nano-cls", *args, "-o", str(tmp_path / "o.pt")])
        assert result.exit_code == 2 and result.output.count("\n") == 1 and message in result.output, result.output
    assert not (tmp_path / "o.pt").exists()

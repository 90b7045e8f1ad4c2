"""ort-int8: QDQ model with int8 weights, decode tail of YOLOv8-convention detectors kept in float."""

from __future__ import annotations

from pathlib import Path

import onnx
from edgekit.cli import app
from edgekit.convert.graph_remedies import decode_tail_nodes, head_output_convs
from edgekit.manifest import Artifact
from typer.testing import CliRunner

runner = CliRunner()


def _export_with_option(model: Path, option: str, out: Path) -> Artifact:
    """``model`` exported to ort-int8 with ``--option ort-int8.OPTION`` on 8 shapes-det images."""
    result = runner.invoke(
        app,
        ["export", str(model), "-t", "ort-int8", "-o", str(out), "--calib-images", "8"]
        + ["--option", f"ort-int8.{option}", "--data", "shapes-det"],
    )
    assert result.exit_code == 0, result.output
    return Artifact.load(out / "ort-int8")


def test_decode_tail_is_found_on_the_detector_only(artifacts):
    tail = decode_tail_nodes(artifacts["nano-det"] / "model.onnx")
    graph = onnx.load(str(artifacts["nano-det"] / "model.onnx")).graph
    kinds = {node.op_type for node in graph.node if node.name in tail}
    assert {"Softmax", "Sigmoid", "Concat"} <= kinds  # DFL softmax, class sigmoid, boxes+scores concat
    assert sum(node.op_type == "Conv" for node in graph.node if node.name in tail) == 1  # only the DFL conv
    assert decode_tail_nodes(artifacts["nano-cls"] / "model.onnx") == []


def test_head_output_convs_are_the_convs_the_decode_tail_flattens(artifacts):
    path = artifacts["nano-det"] / "model.onnx"
    graph = onnx.load(str(path)).graph
    consumers = {name: [n for n in graph.node if name in n.input] for node in graph.node for name in node.output}
    convs = head_output_convs(path)
    assert convs and all(node.op_type == "Conv" for node in graph.node if node.name in convs)
    tail = set(decode_tail_nodes(path))
    for node in graph.node:
        if node.name in convs:  # each feeds the decode tail (its flattening or the per-level merge before it)
            assert {c.name for c in consumers[node.output[0]]} <= tail
    assert head_output_convs(artifacts["nano-cls"] / "model.onnx") == []


def test_ort_int8_keeps_the_head_output_convs_float_by_default(tmp_path, artifacts):
    path = artifacts["nano-det"] / "model.onnx"
    kept = {}
    for flag in ("true", "false"):
        artifact = _export_with_option(path, f"float_head_convs={flag}", tmp_path / flag)
        kept[flag] = artifact.manifest.notes["nodes_kept_float"]
    assert kept["true"] == kept["false"] + len(set(head_output_convs(path)) - set(decode_tail_nodes(path)))
    assert kept["true"] > kept["false"]


def test_options_reach_the_manifest_and_weights_are_int8(tmp_path):
    result = runner.invoke(
        app,
        [
            "export",
            "nano-cls",
            "-t",
            "ort-int8",
            "-o",
            str(tmp_path),
            "--option",
            "ort-int8.calibration_method=Entropy",
            "--calib-images",
            "16",
        ],
    )
    assert result.exit_code == 0, result.output
    artifact = Artifact.load(tmp_path / "ort-int8")
    assert artifact.manifest.config["calibration_method"] == "Entropy"
    assert artifact.manifest.parity_vs_parent["cosine_output"] > 0.99
    model = onnx.load(str(artifact.model_path))
    assert any(node.op_type == "DequantizeLinear" for node in model.graph.node)
    assert {init.data_type for init in model.graph.initializer} & {onnx.TensorProto.INT8}


def test_bad_option_fails_the_row_with_a_clear_reason(tmp_path):
    result = runner.invoke(
        app,
        ["export", "nano-cls", "-t", "ort-int8", "-o", str(tmp_path), "--option", "ort-int8.activation_type=QInt4x"],
    )
    assert result.exit_code == 1
    assert "unknown QuantType 'QInt4x'" in result.output
    assert not (tmp_path / "ort-int8").exists()


def _quantized_outputs(model: onnx.ModelProto, op_type: str) -> int:
    """How many ``op_type`` nodes have their output quantized (read by a QuantizeLinear)."""
    quantized = {node.input[0] for node in model.graph.node if node.op_type == "QuantizeLinear"}
    return sum(node.output[0] in quantized for node in model.graph.node if node.op_type == op_type)


def test_quantize_ops_conv_leaves_the_activations_float_between_int8_convs(tmp_path, artifacts):
    path = artifacts["nano-det"] / "model.onnx"
    models = {}
    for ops in ("all", "conv"):
        models[ops] = onnx.load(str(_export_with_option(path, f"quantize_ops={ops}", tmp_path / ops).model_path))
    # every quantized conv still reads int8 weights; SiLU's Sigmoid no longer writes a quantized tensor
    for model in models.values():
        weights = {init.name for init in model.graph.initializer if init.data_type == onnx.TensorProto.INT8}
        assert sum(node.op_type == "DequantizeLinear" and node.input[0] in weights for node in model.graph.node) > 5
    assert _quantized_outputs(models["all"], "Sigmoid") > 0 and _quantized_outputs(models["conv"], "Sigmoid") == 0
    wrong = runner.invoke(
        app,
        ["export", "nano-det", "-t", "ort-int8", "-o", str(tmp_path / "bad"), "--option", "ort-int8.quantize_ops=x"],
    )
    assert wrong.exit_code == 1 and "quantize_ops 'x': not all or conv" in wrong.output
    assert not (tmp_path / "bad" / "ort-int8").exists()

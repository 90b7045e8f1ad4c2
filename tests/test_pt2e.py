"""The PT2E pieces the PyTorch-direct INT8 targets share, without a converter: constant ``item()`` calls folded
(litert-torch's JAX lowering cannot trace them), ``--max-drop``'s ONNX layer names found on the FX graph, and
a named layer left out of the quantizer's annotation so it keeps float weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from edgekit.convert.pt2e import (
    export_program,
    fold_constant_items,
    head_output_convs,
    layers_by_onnx_name,
    quantize_static,
)
from edgekit.convert.sources import load_source
from edgekit.convert.torch_to_onnx import export_onnx
from edgekit.data.calibration import CalibrationSet, noise_images
from edgekit.errors import ExportError
from torch import nn


class _StridedAnchors(nn.Module):
    """Ultralytics' anchors: ``torch.full(..., stride)`` with ``stride`` read from a buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.register_buffer("stride", torch.tensor([8.0, 16.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.conv(x).flatten(2)
        return feature * torch.full((1, 1, feature.shape[2]), self.stride[1].item())


def test_constant_items_become_numbers_and_the_graph_computes_the_same() -> None:
    module, image = _StridedAnchors().eval(), torch.rand(1, 3, 8, 8)
    graph_module = export_program(module, image).module()
    assert any("item" in str(node.target) for node in graph_module.graph.nodes)
    assert fold_constant_items(graph_module) == 1
    assert not any("item" in str(node.target) for node in graph_module.graph.nodes)
    assert torch.allclose(graph_module(image), module(image))


class _TwoBranchHead(nn.Module):
    """Ultralytics 8.4's head: box and class branches flattened each on its own, then concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.box, self.cls = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 1), nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.stem(x).relu()
        return torch.cat([self.box(feature).view(1, 4, -1), self.cls(feature).view(1, 2, -1).sigmoid()], dim=1)


def test_the_heads_last_convolutions_are_found_merged_or_flattened_each(nano_det: tuple) -> None:
    """litert-torch's converter moves a float tail's dequantize past layout ops and concatenations, so box
    bins and class logits would share one int8 scale again: litert-int8 keeps these convolutions float."""
    two_branch = export_program(_TwoBranchHead().eval(), torch.rand(1, 3, 8, 8)).module()
    assert sorted(node.name for node in head_output_convs(two_branch)) == ["conv2d_1", "conv2d_2"]
    module, _, calib = nano_det
    merged = export_program(module, torch.from_numpy(calib.as_array()[:1].copy())).module()
    assert len(head_output_convs(merged)) == 6  # box and class convolutions of three levels


@pytest.fixture(scope="module")
def nano_det(tmp_path_factory: pytest.TempPathFactory) -> tuple[nn.Module, Path, CalibrationSet]:
    source = load_source("nano-det")
    work, preprocessing = tmp_path_factory.mktemp("pt2e"), source.card.preprocessing
    export_onnx(source.module, preprocessing.size, work / "parent.onnx")
    calib = CalibrationSet.from_images(noise_images(preprocessing, 4, work / "noise"), preprocessing, 4)
    return source.module, work / "parent.onnx", calib


def test_onnx_layer_names_are_found_on_the_fx_graph_by_position(nano_det: tuple) -> None:
    module, parent, calib = nano_det
    graph_module = export_program(module, torch.from_numpy(calib.as_array()[:1].copy())).module()
    first, last = (
        layers_by_onnx_name(graph_module, parent, ["/backbone/stem/stem.0/conv/Conv"]),
        layers_by_onnx_name(graph_module, parent, ["/dfl/conv/Conv"]),
    )
    assert [node.name for node in first] == ["conv2d"] and [node.args[1].meta["val"].shape[1] for node in last] == [16]
    with pytest.raises(ExportError, match="no compute layer named '/nope'"):
        layers_by_onnx_name(graph_module, parent, ["/nope"])
    other = export_program(nn.Conv2d(3, 5, 1), torch.rand(1, 3, 8, 8)).module()
    with pytest.raises(ExportError, match="do not line up"):
        layers_by_onnx_name(other, parent, ["/dfl/conv/Conv"])


def test_a_named_layer_keeps_float_weights_and_the_others_are_quantized(nano_det: tuple) -> None:
    pytest.importorskip("executorch", reason="the [executorch] extra is not installed")
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )

    module, parent, calib = nano_det
    name = "/backbone/stem/stem.1/conv/Conv"
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    model, _ = quantize_static(
        module, torch.from_numpy(calib.as_array()[:1].copy()), calib, quantizer, True, [name], parent
    )
    convs = [node for node in model.graph.nodes if "aten.conv2d" in str(node.target)]
    dequantized = ["dequantize" in str(conv.args[1].target) for conv in convs]
    assert dequantized[1] is False and dequantized.count(False) == 2  # stem.1 and the DFL conv of the tail
    assert dequantized[0] and sum(dequantized) == len(convs) - 2

"""``executorch-int8``: PT2E static quantization with ExecuTorch's XNNPACK quantizer (int8 activations,
per-channel symmetric int8 weights), calibrated on the same CalibrationSet as the other INT8 targets, lowered
to XNNPACK and run by the ExecuTorch runtime.

The detector remedy of the ONNX INT8 targets applies here the ExecuTorch way: the decode tail (everything
between the head's ``[B, C, H, W] -> [B, C, H*W]`` flattening and the outputs, plus the per-level concat of box
and class branches) is left out of the quantizer's annotation, so XNNPACK runs it in float and pixel-scale
boxes never share an int8 range with [0, 1] scores. The same walk as ``decode_tail_nodes`` on the ONNX graph,
done on the exported FX graph.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.config import TargetConfig
from edgekit.data.calibration import CalibrationSet

from . import executorch_common as common
from .base import Conversion


@dataclass(frozen=True)
class ExecutorchInt8Config(TargetConfig):
    """``per_channel``: per-output-channel weight scales (XNNPACK's accurate choice); ``keep_decode_float``:
    leave a detector's decode tail in float."""

    per_channel: bool = True
    keep_decode_float: bool = True


def _shape(node: Any) -> tuple[int, ...]:
    value = node.meta.get("val")
    return tuple(int(d) for d in value.shape) if value is not None and hasattr(value, "shape") else ()


def _is_spatial_flatten(node: Any) -> bool:
    """``[B, C, H, W] -> [B, C, H*W]``: a head map becoming a list of anchors."""
    if node.op != "call_function" or "view" not in str(node.target) and "reshape" not in str(node.target):
        return False
    source, result = _shape(node.args[0]), _shape(node)
    return len(source) == 4 and len(result) == 3 and source[1] == result[1] and source[2] * source[3] == result[2]


def _is_channel_merge(node: Any) -> bool:
    """A per-level concat of 4D head branches along channels (box bins + class logits)."""
    if node.op != "call_function" or "cat" not in str(node.target):
        return False
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    return dim in (1, -3) and all(len(_shape(part)) == 4 for part in node.args[0])


def decode_tail(graph_module: Any) -> set[Any]:
    """The FX nodes of a detector's decode tail (empty when the model has no head flattening)."""
    output = next(node for node in graph_module.graph.nodes if node.op == "output")
    tail: set[Any] = set()
    stack, found = list(output.all_input_nodes), False
    while stack:
        node = stack.pop()
        if node in tail or node.op != "call_function":
            continue
        tail.add(node)
        if _is_spatial_flatten(node):
            found = True
            merge = node.args[0]
            if _is_channel_merge(merge):
                tail.add(merge)  # box and class branches get their own ranges
            continue  # the head's flattening: everything before it is the network proper
        stack.extend(_data_inputs(node))
    return tail if found else set()


#: ops that read only the shape or dtype of (some of) their inputs: anchors made with ``arange(...).type_as(x)``
#: or strides with ``x.new_full(...)`` must not lead the walk from the outputs back into the network through ``x``
_SHAPE_ONLY = ("zeros_like", "ones_like", "empty_like", "full_like", "new_full", "new_zeros", "new_ones", "new_empty",
               "sym_size", "sym_numel")


def _data_inputs(node: Any) -> list[Any]:
    """The inputs whose values (not only shape or dtype) ``node`` computes with."""
    target = str(node.target)
    if any(name in target for name in _SHAPE_ONLY):
        return []
    if "type_as" in target:
        return node.args[0].all_input_nodes + [node.args[0]] if hasattr(node.args[0], "op") else []
    return list(node.all_input_nodes)


def _quantizer(per_channel: bool, keep_float: bool) -> Any:
    """The XNNPACK quantizer, with the decode tail's annotations removed after it annotated."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (XNNPACKQuantizer,
                                                                         get_symmetric_quantization_config)

    class FloatTailQuantizer(XNNPACKQuantizer):  # type: ignore[misc]
        def annotate(self, model: Any) -> Any:
            model = super().annotate(model)
            if keep_float:
                for node in decode_tail(model):
                    node.meta.pop("quantization_annotation", None)
            return model

    quantizer = FloatTailQuantizer()
    quantizer.set_global(get_symmetric_quantization_config(is_per_channel=per_channel))
    return quantizer


def quantize(module: Any, example: Any, calib: CalibrationSet, cfg: ExecutorchInt8Config) -> tuple[Any, int]:
    """The PT2E-quantized program of ``module`` calibrated on every image of ``calib``, and how many nodes
    stayed in float as the decode tail."""
    import torch
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    graph_module = common.capture(module, example).module()
    tail = len(decode_tail(graph_module)) if cfg.keep_decode_float else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_pt2e(graph_module, _quantizer(cfg.per_channel, cfg.keep_decode_float))
        images = calib.as_array()
        with torch.no_grad():
            for index in range(len(images)):
                prepared(torch.from_numpy(images[index:index + 1].copy()))
        converted = convert_pt2e(prepared)
    return common.capture(converted, example), tail


class ExecutorchInt8Target:
    name = "executorch-int8"
    runtime = "executorch"
    config_cls = ExecutorchInt8Config
    from_module = True

    def convert_module(self, module: Any, onnx_path: Path, calib: CalibrationSet, cfg: ExecutorchInt8Config,
                       out_dir: Path) -> Conversion:
        example = common.example_input(calib)
        program, tail = quantize(module, example, calib, cfg)
        notes: dict[str, Any] = {"nodes_kept_float": tail, "calibration_images": len(calib),
                                 "per_channel": cfg.per_channel}
        return common.conversion(onnx_path, out_dir, notes | common.lower(program, out_dir))


TARGET = ExecutorchInt8Target()

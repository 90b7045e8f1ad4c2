"""PyTorch 2 export (PT2E) for the targets that convert from the PyTorch model itself: capture with
``torch.export``, and static INT8 quantization with any PT2E quantizer (ExecuTorch's XNNPACK quantizer,
litert-torch's), calibrated on a CalibrationSet, with a detector's decode tail left in float.

The decode tail is the one ``graph_remedies.decode_tail_nodes`` finds on the ONNX graph, found here on the FX
graph: everything between the head's ``[B, C, H, W] -> [B, C, H*W]`` flattening and the outputs, plus the
per-level concat of box and class branches. Its nodes lose their quantization annotation after the quantizer
annotated, so pixel-scale boxes never share an int8 range with [0, 1] scores. The walk follows only edges
that carry values: anchors built with ``arange(...).type_as(x)`` or strides with ``x.new_full(...)`` read
only ``x``'s dtype, and following them would pull the whole network into float.

``--max-drop`` names layers by the parent ONNX's node names (``edgekit.convert.sensitivity``); here they are
found on the FX graph by position: the parent ONNX is exported from the same module, so its compute layers
(Conv, Gemm, MatMul) come in the same order as the FX graph's (conv, linear, matmul), which is checked by their
weights' sizes before any is named.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data.calibration import CalibrationSet
from ..errors import EdgekitError, ExportError, first_line
from ..quiet import silenced


def example_input(calib: CalibrationSet) -> Any:
    """One calibration image as the example batch ``torch.export`` traces with (static shape, batch 1)."""
    import torch

    return torch.from_numpy(next(iter(calib)).copy())


def export_program(module: Any, example: Any) -> Any:
    """``torch.export`` of ``module`` on ``example`` (a TorchScript module, as ``edgekit compress`` writes,
    through PyTorch's TorchScript converter); a graph break (data-dependent control flow, an untraceable call)
    is one error line naming it."""
    import torch

    try:
        with silenced():
            if isinstance(module, torch.jit.ScriptModule):
                from torch._export.converter import TS2EPConverter

                return TS2EPConverter(module, (example,)).convert()
            return torch.export.export(module, (example,), strict=False)
    except Exception as exc:  # noqa: BLE001 - torch.export raises many types, each with a telling first line
        raise EdgekitError(f"torch.export cannot capture the model: {first_line(exc)}") from None


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


#: ops that read only the shape or dtype of (some of) their inputs
_SHAPE_ONLY = (
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "new_full",
    "new_zeros",
    "new_ones",
    "new_empty",
    "sym_size",
    "sym_numel",
)


def _data_inputs(node: Any) -> list[Any]:
    """The inputs whose values (not only shape or dtype) ``node`` computes with."""
    target = str(node.target)
    if any(name in target for name in _SHAPE_ONLY):
        return []
    if "type_as" in target:  # the first input's values, the second's dtype
        return [node.args[0]] if hasattr(node.args[0], "op") else []
    return list(node.all_input_nodes)


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


#: (ONNX op types, FX call names) of the layers ``--max-drop`` can keep in float
_ONNX_LAYERS, _FX_LAYERS = ("Conv", "Gemm", "MatMul"), ("conv", "linear", "matmul")


def _weight_size(value: Any) -> int:
    size = 1
    for dim in value:
        size *= int(dim)
    return size


def layers_by_onnx_name(graph_module: Any, parent_onnx: Path, names: Sequence[str]) -> set[Any]:
    """The FX nodes of the parent ONNX's compute layers ``names``, matched by position (and weight size)."""
    import onnx

    if not names:
        return set()
    model = onnx.load(str(parent_onnx), load_external_data=False)
    weights = {init.name: _weight_size(init.dims) for init in model.graph.initializer}
    onnx_layers = [
        (node.name, weights[node.input[1]])
        for node in model.graph.node  # layers with weights only:
        if node.op_type in _ONNX_LAYERS and len(node.input) > 1 and node.input[1] in weights
    ]  # no q @ k
    fx_layers = [
        (node, _weight_size(_shape(node.args[1])))
        for node in graph_module.graph.nodes
        if node.op == "call_function"
        and any(f"aten.{op}" in str(node.target) for op in _FX_LAYERS)
        and getattr(node.args[1], "op", None) == "get_attr"
    ]
    if [size for _, size in onnx_layers] != [size for _, size in fx_layers]:
        raise ExportError(
            f"cannot keep layers in float: the parent ONNX's {len(onnx_layers)} compute layers do "
            f"not line up with the PyTorch graph's {len(fx_layers)}"
        )
    position = {name: index for index, (name, _) in enumerate(onnx_layers)}
    unknown = [name for name in names if name not in position]
    if unknown:
        raise ExportError(f"cannot keep layers in float: no compute layer named {unknown[0]!r} in the parent ONNX")
    return {fx_layers[position[name]][0] for name in names}


def head_output_convs(graph_module: Any) -> set[Any]:
    """The head's last convolutions: those whose outputs the head flattens, directly or through its per-level
    merge of box bins and class logits."""
    sources = [node.args[0] for node in decode_tail(graph_module) if _is_spatial_flatten(node)]
    parts = [part for source in sources for part in (source.args[0] if _is_channel_merge(source) else [source])]
    return {part for part in parts if "aten.conv" in str(part.target)}


def _leave_float(quantizer: Any, chosen: Any) -> Any:
    """``quantizer`` whose ``annotate`` then drops the annotations of the nodes ``chosen(graph_module)`` returns
    (this instance only)."""
    annotate = quantizer.annotate

    def annotate_all_but_chosen(model: Any) -> Any:
        model = annotate(model)
        for node in chosen(model):
            node.meta.pop("quantization_annotation", None)
        return model

    quantizer.annotate = annotate_all_but_chosen
    return quantizer


def _get_attribute(graph_module: Any, dotted: str) -> Any:
    value = graph_module
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _constant_value(graph_module: Any, node: Any) -> tuple[bool, Any]:
    """(True, value) when ``node`` depends on constants only (no graph input), evaluated; else (False, None)."""
    order: list[Any] = []
    stack, seen = [node], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        if current.op not in ("get_attr", "call_function"):
            return False, None
        seen.add(current)
        order.append(current)
        stack.extend(current.all_input_nodes)
    from torch.fx.node import map_arg

    position = {n: index for index, n in enumerate(graph_module.graph.nodes)}
    values: dict[Any, Any] = {}
    for current in sorted(order, key=position.__getitem__):
        if current.op == "get_attr":
            values[current] = _get_attribute(graph_module, str(current.target))
        else:
            values[current] = current.target(
                *map_arg(current.args, values.__getitem__), **map_arg(current.kwargs, values.__getitem__)
            )
    return True, values[node]


def _replace_uses(node: Any, number: Any) -> None:
    """Every use of ``node`` becomes the Python ``number``."""
    from torch.fx.node import map_arg

    for user in list(node.users):
        user.args = map_arg(user.args, lambda arg: number if arg is node else arg)
        user.kwargs = map_arg(user.kwargs, lambda arg: number if arg is node else arg)


def fold_constant_items(graph_module: Any) -> int:
    """Replace every ``tensor.item()`` of a constant (Ultralytics' ``torch.full(..., stride)`` reads a stride
    buffer so) by its Python number; litert-torch's JAX lowering cannot trace one. Returns how many."""
    folded = 0
    for node in list(graph_module.graph.nodes):
        if node.op != "call_function" or not any(
            name in str(node.target) for name in ("aten.item", "_local_scalar_dense")
        ):
            continue
        constant, value = _constant_value(graph_module, node)
        if not constant:
            continue
        _replace_uses(node, value.item() if hasattr(value, "item") else value)
        folded += 1
    if folded:
        graph_module.graph.eliminate_dead_code()
        graph_module.recompile()
    return folded


def quantize_static(
    module: Any,
    example: Any,
    calib: CalibrationSet,
    quantizer: Any,
    keep_decode_float: bool,
    float_layers: Sequence[str] = (),
    parent_onnx: Path | None = None,
    float_head_convs: bool = False,
    **convert_options: Any,
) -> tuple[Any, int]:
    """``module`` prepared with ``quantizer``, calibrated on every image of ``calib`` and converted (PT2E), as
    a GraphModule; and how many nodes stayed in float as the decode tail (with ``float_head_convs``, the
    convolutions feeding its per-level merge too). ``float_layers``: the parent ONNX's (``parent_onnx``)
    compute layers to leave unquantized as well (``--max-drop``)."""
    import torch
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    graph_module = export_program(module, example).module()
    fold_constant_items(graph_module)

    def tail_nodes(model: Any) -> set[Any]:
        if not keep_decode_float:
            return set()
        return decode_tail(model) | (head_output_convs(model) if float_head_convs else set())

    tail = len(tail_nodes(graph_module))
    layers = (
        {node.name for node in layers_by_onnx_name(graph_module, parent_onnx, float_layers)} if parent_onnx else set()
    )

    def left_float(model: Any) -> set[Any]:
        return tail_nodes(model) | {node for node in model.graph.nodes if node.name in layers}

    if tail or layers:
        quantizer = _leave_float(quantizer, left_float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_pt2e(graph_module, quantizer)
        with torch.no_grad():
            for sample in calib:  # one image at a time: observers keep ranges, never the activations
                prepared(torch.from_numpy(sample))
        return convert_pt2e(prepared, **convert_options), tail

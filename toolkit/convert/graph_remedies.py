"""ONNX graph analysis behind the INT8 accuracy remedies, applied to any model in the YOLOv8 convention.

A detector whose head flattens per-level maps ``[B, C, H, W] -> [B, C, H*W]`` and then decodes boxes (DFL
softmax, anchor arithmetic) and concatenates pixel-scale boxes with [0, 1] scores loses its scores when that
tail shares one INT8 range. ``decode_tail_nodes`` finds that tail by walking back from the graph outputs and
stopping at the flattening Reshapes, so converters can keep it in float (ORT ``nodes_to_exclude``, NNCF
``ignored_scope``). The per-level Concat that merges the box and class branches just before each flattening
joins the tail too, so box-bin and class logits are not forced into one range (measured on nano-det ort-int8:
mAP50-95 0.7746 -> 0.7776 with MinMax, 0.7791 -> 0.7808 with Percentile calibration). It works on our models and
on Ultralytics YOLOv8/11
exports alike.
"""

from __future__ import annotations

from pathlib import Path


def _shapes(model) -> dict[str, list[int]]:
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    values = list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
    return {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in values
        if v.type.tensor_type.HasField("shape")
    }


def _is_spatial_flatten(node, shapes: dict[str, list[int]]) -> bool:
    """``[B, C, H, W] -> [B, C, H*W]``: a head map becoming a list of anchors."""
    if node.op_type != "Reshape":
        return False
    src, dst = shapes.get(node.input[0], []), shapes.get(node.output[0], [])
    return len(src) == 4 and len(dst) == 3 and src[1] == dst[1] and src[2] * src[3] == dst[2] > 0


def _is_channel_merge(node, shapes: dict[str, list[int]]) -> bool:
    """A per-level ``Concat`` of 4D head branches along channels (box bins + class logits)."""
    axis = next((a.i for a in node.attribute if a.name == "axis"), None)
    return node.op_type == "Concat" and axis in (1, -3) and all(len(shapes.get(i, [])) == 4 for i in node.input)


def _direct_box_conv(box: str, producer: dict, shapes: dict[str, list[int]], seen: set[str]) -> list[str]:
    """The Conv that emits a level's boxes (``box``) when they are regressed directly (4 channels: ltrb
    distances, as YOLO26's head does with ``reg_max=1``), not as DFL bins: one INT8 step of those distances is
    pixels of box at the coarse levels. On YOLO26n-shapes ort-int8 keeping it float took the drop from 9.94 to
    9.33 pt mAP50-95 (the rest of that loss lies elsewhere in the network: ``--max-drop`` finds it)."""
    conv = producer.get(box)
    if conv is None or conv.op_type != "Conv" or shapes.get(box, [0, 0])[1] != 4 or conv.name in seen:
        return []
    seen.add(conv.name)
    return [conv.name]


def _head_graph(onnx_path: Path) -> tuple:
    """The ONNX model at ``onnx_path``, its inferred shapes and each tensor's producing node."""
    import onnx

    model = onnx.load(str(onnx_path))
    return model, _shapes(model), {out: node for node in model.graph.node for out in node.output}


def _decode_tail(model, shapes: dict[str, list[int]], producer: dict) -> list[str]:
    tail, stack, seen = [], [o.name for o in model.graph.output], set()
    found_flatten = False
    while stack:
        node = producer.get(stack.pop())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        tail.append(node.name)
        if _is_spatial_flatten(node, shapes):
            found_flatten = True
            merge, box = producer.get(node.input[0]), node.input[0]
            if merge is not None and _is_channel_merge(merge, shapes) and merge.name not in seen:
                seen.add(merge.name)
                tail.append(merge.name)  # box and class branches get their own ranges
                box = merge.input[0]
            tail += _direct_box_conv(box, producer, shapes, seen)
            continue  # the head's flattening: everything before it is the network proper
        stack.extend(i for i in node.input if i in producer)
    return tail if found_flatten and len(tail) < len(model.graph.node) else []


def _head_convs(model, shapes: dict[str, list[int]], producer: dict, tail: list[str]) -> list[str]:
    in_tail = set(tail)
    flattens = [n for n in model.graph.node if n.name in in_tail and _is_spatial_flatten(n, shapes)]
    sources = [producer[n.input[0]] for n in flattens if n.input[0] in producer]
    parts = [
        producer[name]
        for source in sources
        for name in (source.input if _is_channel_merge(source, shapes) else source.output[:1])
        if name in producer
    ]
    return list(dict.fromkeys(part.name for part in parts if part.op_type == "Conv"))


def decode_tail_nodes(onnx_path: Path) -> list[str]:
    """Names of the nodes between the head's 4D->3D flattening Reshapes and the outputs (empty if none)."""
    return _decode_tail(*_head_graph(onnx_path))


def head_output_convs(onnx_path: Path) -> list[str]:
    """Names of the head's last convolutions: the Convs whose outputs the decode tail flattens, directly or
    through its per-level merge of box and class branches (empty if the graph has no decode tail).

    Kept float beside the tail (``float_head_convs`` on ``ort-int8`` and ``tflite-int8``): a 1x1 conv to a few
    channels per level, so nearly free, and on the 640 px YOLO26n their INT8 class logits made most of ORT's
    INT8 loss (``benchmarks/yolo26/int8-640-float-parts.json``, docs/yolo.md).
    """
    graph = _head_graph(onnx_path)
    return _head_convs(*graph, _decode_tail(*graph))


def float_tail_nodes(onnx_path: Path, head_convs: bool = True) -> list[str]:
    """The decode tail and, with ``head_convs``, the head's last convolutions not already in it: the nodes
    ``ort-int8`` keeps float by default (and the accuracy budget leaves unranked), from one read of the graph."""
    graph = _head_graph(onnx_path)
    tail = _decode_tail(*graph)
    return tail + [name for name in _head_convs(*graph, tail) if name not in tail] if head_convs else tail


def _rename_tensor(model, old: str, new: str) -> None:
    for node in model.graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in model.graph.value_info:
        if value.name == old:
            value.name = new


def split_concat_output(src: Path, dst: Path) -> dict | None:
    """Write ``src`` to ``dst`` with its single Concat-produced 3D output split into that Concat's inputs.

    A ``[B, 4+nc, N]`` detector output becomes ``[B, 4, N]`` boxes and ``[B, nc, N]`` scores, so each gets
    its own INT8 range. Returns the assembly (``concat_axis`` and the new output names, in order) that puts
    the parent's output back together, or ``None`` (nothing written) when the graph does not end that way.
    """
    import onnx

    model = onnx.load(str(src))
    if len(model.graph.output) != 1:
        return None
    output = model.graph.output[0]
    producer = next((n for n in model.graph.node if output.name in n.output), None)
    shapes = _shapes(model)
    if producer is None or producer.op_type != "Concat" or len(shapes.get(output.name, [])) != 3:
        return None
    axis = next(a.i for a in producer.attribute if a.name == "axis")
    parts = list(producer.input)
    if len(parts) < 2 or any(len(shapes.get(p, [])) != 3 for p in parts):
        return None
    names = [f"{output.name}_part{i}" for i in range(len(parts))]
    new_outputs = []
    for old, new in zip(parts, names):
        _rename_tensor(model, old, new)
        new_outputs.append(onnx.helper.make_tensor_value_info(new, output.type.tensor_type.elem_type, shapes[old]))
    model.graph.node.remove(producer)
    del model.graph.output[:]
    model.graph.output.extend(new_outputs)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return {"concat_axis": axis % 3, "outputs": names}


def constants_to_initializers(src: Path, dst: Path) -> int:
    """Write ``src`` to ``dst`` with every ``Constant`` node turned into an initializer; returns how many.

    Same maths, but TensorFlow's TFLite converter mis-folds some onnx2tf translations of ``Sub(Constant, x)``
    (the reference detector's boxes came out up to 459 px off) and gets them right from initializers.
    """
    import onnx

    model = onnx.load(str(src))
    kept, moved = [], 0
    for node in model.graph.node:
        if node.op_type == "Constant" and [a.name for a in node.attribute] == ["value"]:
            tensor = node.attribute[0].t
            tensor.name = node.output[0]
            model.graph.initializer.append(tensor)
            moved += 1
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    onnx.save(model, str(dst))
    return moved


def _descendants(model, starts: list[str]) -> set[str]:
    """Names of the nodes in ``starts`` and of every node fed by them, directly or not."""
    consumers: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    by_name = {node.name: node for node in model.graph.node}
    missing = [name for name in starts if name not in by_name]
    if missing:
        from ..errors import ExportError

        raise ExportError(f"float_tail_from: no node named {missing[0]!r} in the model")
    seen, stack = set(), [by_name[name] for name in starts]
    while stack:
        node = stack.pop()
        if node.name in seen:
            continue
        seen.add(node.name)
        stack.extend(c for out in node.output for c in consumers.get(out, []))
    return seen


def split_decode_tail(
    src: Path, body_dst: Path, tail_dst: Path, tail_from: list[str] | tuple[str, ...] = (), decode_tail: bool = True
) -> list[str] | None:
    """Cut ``src`` into a body and a float tail model; returns the cut tensors' names.

    The tail is the decode tail (with ``decode_tail``) plus the nodes in ``tail_from`` and everything after
    them. For runtimes that cannot mix integer and float in one graph (TFLite full integer): the body is
    quantized and the tail (DFL softmax, anchor arithmetic, layers kept float) runs as a float model fed the
    body's outputs. ``None`` (nothing written) when there is no tail.
    """
    import onnx
    import onnx.utils

    from ..errors import ExportError

    model = onnx.load(str(src))
    tail = set(decode_tail_nodes(src)) if decode_tail else set()
    if tail_from:
        tail |= _descendants(model, list(tail_from))
    if not tail:
        return None
    producer = {out: node for node in model.graph.node for out in node.output}
    cut = sorted(
        {
            i
            for node in model.graph.node
            if node.name in tail
            for i in node.input
            if i in producer and producer[i].name not in tail
        }
    )
    graph_inputs = {value.name for value in model.graph.input}
    body_computes = [n for n in model.graph.node if n.name not in tail and n.op_type in ("Conv", "Gemm", "MatMul")]
    if (
        not cut
        or not body_computes
        or any(i in graph_inputs for n in model.graph.node if n.name in tail for i in n.input)
    ):
        raise ExportError("float_tail_from would leave no integer body: every layer would run in float")
    if any(producer[o.name].name not in tail for o in model.graph.output if o.name in producer):
        raise ExportError("float_tail_from: a model output would come from the integer body, not the float tail")
    names = [f"edgekit_body_out{i}" for i in range(len(cut))]
    for old, new in zip(cut, names):
        _rename_tensor(model, old, new)
    staged = body_dst.with_suffix(".full.onnx")
    onnx.save(model, str(staged))
    outputs = [o.name for o in model.graph.output]
    onnx.utils.extract_model(str(staged), str(body_dst), [model.graph.input[0].name], names)
    onnx.utils.extract_model(str(staged), str(tail_dst), names, outputs)
    staged.unlink()
    return names


def compact_names(path: Path) -> int:
    """Rename internal tensors and nodes of the ONNX model at ``path`` to short ids, in place; bytes saved.

    Quantizers name each QuantizeLinear/DequantizeLinear after the tensor it wraps, so on a small model the
    names outweigh a good share of the int8 weights. Graph inputs and outputs keep their names.
    """
    import onnx

    before = path.stat().st_size
    model = onnx.load(str(path))
    graph = model.graph
    keep = {v.name for v in graph.input} | {v.name for v in graph.output} | {""}
    short: dict[str, str] = {}

    def rename(name: str) -> str:
        if name in keep:
            return name
        return short.setdefault(name, f"t{len(short)}")

    for index, node in enumerate(graph.node):
        node.name = f"n{index}"
        node.input[:] = [rename(name) for name in node.input]
        node.output[:] = [rename(name) for name in node.output]
    for tensor in graph.initializer:
        tensor.name = rename(tensor.name)
    for value in graph.value_info:  # kept: ONNX Runtime's QDQ fusions were slower without them
        value.name = rename(value.name)
    onnx.save(model, str(path))
    return before - path.stat().st_size

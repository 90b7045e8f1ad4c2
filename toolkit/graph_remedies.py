"""ONNX graph analysis behind the INT8 accuracy remedies, applied to any model in the YOLOv8 convention.

A detector whose head flattens per-level maps ``[B, C, H, W] -> [B, C, H*W]`` and then decodes boxes (DFL
softmax, anchor arithmetic) and concatenates pixel-scale boxes with [0, 1] scores loses its scores when that
tail shares one INT8 range. ``decode_tail_nodes`` finds that tail by walking back from the graph outputs and
stopping at the flattening Reshapes, so converters can keep it in float (ORT ``nodes_to_exclude``, NNCF
``ignored_scope``). It works on our models and on Ultralytics YOLOv8/11 exports alike.
"""

from __future__ import annotations

from pathlib import Path


def _shapes(model) -> dict[str, list[int]]:
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    values = list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
    return {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in values if v.type.tensor_type.HasField("shape")}


def _is_spatial_flatten(node, shapes: dict[str, list[int]]) -> bool:
    """``[B, C, H, W] -> [B, C, H*W]``: a head map becoming a list of anchors."""
    if node.op_type != "Reshape":
        return False
    src, dst = shapes.get(node.input[0], []), shapes.get(node.output[0], [])
    return (len(src) == 4 and len(dst) == 3 and src[1] == dst[1]
            and src[2] * src[3] == dst[2] > 0)


def decode_tail_nodes(onnx_path: Path) -> list[str]:
    """Names of the nodes between the head's 4D->3D flattening Reshapes and the outputs (empty if none)."""
    import onnx

    model = onnx.load(str(onnx_path))
    shapes = _shapes(model)
    producer = {out: node for node in model.graph.node for out in node.output}
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
            continue  # the head's flattening: everything before it is the network proper
        stack.extend(i for i in node.input if i in producer)
    return tail if found_flatten and len(tail) < len(model.graph.node) else []

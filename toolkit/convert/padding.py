"""Lossless padding remedies for converters whose convolutions know only SAME and VALID (TFLite).

onnx2tf gives a convolution TensorFlow's ``SAME`` padding only when its output keeps the input's spatial size;
every other padded convolution becomes a separate ``PAD`` op in front of a ``VALID`` one (YOLOv8n: seven,
one per stride-2 convolution). Where a convolution's explicit pads already equal what ``SAME_UPPER`` computes
for its static input shape (a model trained with TensorFlow-style padding, e.g. after ``edgekit compress
--pad same``), marking it ``auto_pad = SAME_UPPER`` is the same maths and needs no ``PAD``. A zero
``Pad`` on the spatial axes that feeds only a convolution is first merged into that convolution's pads.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def same_upper_pads(size: list[int], kernel: list[int], strides: list[int], dilations: list[int]) -> list[int]:
    """ONNX ``pads`` (begins then ends) that ``auto_pad = SAME_UPPER`` gives for this spatial ``size``."""
    begins, ends = [], []
    for extent, k, s, d in zip(size, kernel, strides, dilations):
        total = max((math.ceil(extent / s) - 1) * s + (k - 1) * d + 1 - extent, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _set_attr(node, name: str, value) -> None:
    import onnx

    kept = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(kept)
    if value is not None:
        node.attribute.append(onnx.helper.make_attribute(name, value))


def _zero_spatial_pad(node, initializers: dict, rank: int = 4) -> list[int] | None:
    """The spatial pads of a constant-zero NCHW ``Pad`` (begins then ends), or None if it is anything else."""
    from onnx import numpy_helper

    if node.op_type != "Pad" or _attrs(node).get("mode", b"constant") not in (b"constant", "constant"):
        return None
    if len(node.input) < 2 or node.input[1] not in initializers:
        return None
    if (
        len(node.input) > 2
        and node.input[2]
        and (node.input[2] not in initializers or np.any(numpy_helper.to_array(initializers[node.input[2]])))
    ):
        return None
    if len(node.input) > 3 and node.input[3]:
        return None  # an axes input: rare, not worth guessing
    pads = [int(p) for p in numpy_helper.to_array(initializers[node.input[1]])]
    if len(pads) != 2 * rank or any(pads[i] for i in (0, 1, rank, rank + 1)) or min(pads) < 0:
        return None
    return pads[2:rank] + pads[rank + 2 :]


def _merge_pads_into_convs(model, consumers: dict[str, list]) -> int:
    initializers = {t.name: t for t in model.graph.initializer}
    graph_outputs = {o.name for o in model.graph.output}
    merged, dropped = 0, set()
    for node in model.graph.node:
        pads = _zero_spatial_pad(node, initializers)
        users = consumers.get(node.output[0], []) if pads is not None else []
        if pads is None or node.output[0] in graph_outputs or not users or any(u.op_type != "Conv" for u in users):
            continue
        if any(_attrs(u).get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET") for u in users):
            continue
        for conv in users:
            own = _attrs(conv).get("pads", [0] * len(pads))
            _set_attr(conv, "pads", [a + b for a, b in zip(own, pads)])
            conv.input[0] = node.input[0]
        dropped.add(id(node))
        merged += 1
    kept = [n for n in model.graph.node if id(n) not in dropped]
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return merged


def fold_same_padding(src: Path, dst: Path) -> int:
    """Write ``src`` to ``dst`` with every asymmetric conv padding that equals ``SAME_UPPER`` marked as such.

    Returns how many convolutions changed; the graph computes the same values (static input shapes only).
    """
    import onnx

    model = onnx.load(str(src))
    consumers: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    _merge_pads_into_convs(model, consumers)
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in list(inferred.graph.value_info) + list(inferred.graph.input)
    }
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    folded = 0
    for node in model.graph.node:
        attrs = _attrs(node)
        size = shapes.get(node.input[0], [])[2:]
        kernel = weights.get(node.input[1], [])[2:] if len(node.input) > 1 else []
        pads = attrs.get("pads")
        if node.op_type != "Conv" or not pads or not kernel or len(size) != len(kernel) or not all(size):
            continue
        if pads[: len(kernel)] == pads[len(kernel) :]:
            continue  # symmetric: onnx2tf already gives SAME where it is SAME, and SAME_UPPER cannot say more
        strides, dilations = attrs.get("strides", [1] * len(kernel)), attrs.get("dilations", [1] * len(kernel))
        if list(pads) == same_upper_pads(size, kernel, strides, dilations):
            _set_attr(node, "pads", None)
            _set_attr(node, "auto_pad", "SAME_UPPER")
            folded += 1
    onnx.save(model, str(dst))
    return folded

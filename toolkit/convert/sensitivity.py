"""Which layers of a model lose the most when quantized to INT8: a ranking for the accuracy budget.

One fake-quantized copy of the parent ONNX is made with ONNX Runtime's QDQ quantizer (per-channel int8
weights, uint8 activations: the same arithmetic every INT8 target approximates). Then, for each compute layer
(Conv, Gemm, MatMul), a variant of that copy feeds the layer its float inputs and weights again, as
``nodes_to_exclude`` would, and the model's outputs on a few held-out images are compared with the FP32
parent's. A layer's sensitivity is how much of the output error goes away when it alone stays in float.
The ranking is target-independent; each target then keeps the chosen layers in float its own way.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.calibration import CalibrationSet
from .qdq import quantize_qdq

COMPUTE_OPS = ("Conv", "Gemm", "MatMul")


@dataclass(frozen=True)
class LayerSensitivity:
    """One layer: its ONNX node name and the output error removed by keeping it alone in float."""

    node: str
    op_type: str
    error_removed: float


def output_error(want: list[np.ndarray], got: list[np.ndarray]) -> float:
    """Mean over output channels (axis 1) of the squared error normalised by that channel's FP32 variance, so
    boxes in pixels and scores in [0, 1] count alike."""
    errors = []
    for reference, value in zip(want, got):
        ref = np.moveaxis(reference, 1, 0).reshape(reference.shape[1], -1)
        val = np.moveaxis(value, 1, 0).reshape(ref.shape)
        errors.append(np.mean((val - ref) ** 2, axis=1) / (np.var(ref, axis=1) + 1e-12))
    return float(np.mean(np.concatenate(errors)))


def _outputs(model_bytes: bytes, samples: list[np.ndarray]) -> list[list[np.ndarray]]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return [session.run(None, {name: sample}) for sample in samples]


def _variant(quantized, parent_nodes: dict, parent_weights: dict, node_name: str) -> bytes:
    """The fake-quantized model with ``node_name`` fed its float inputs and float weights again."""
    import copy

    model = copy.deepcopy(quantized)
    node = next(n for n in model.graph.node if n.name == node_name)
    inputs = []
    for name in parent_nodes[node_name].input:
        if name in parent_weights:  # a float weight, under a name of its own (the quantized graph may reuse it)
            weight = copy.deepcopy(parent_weights[name])
            weight.name = f"{name}_edgekit_float"
            model.graph.initializer.append(weight)
            name = weight.name
        inputs.append(name)
    node.input[:] = inputs
    return model.SerializeToString()


def rank_layers(
    parent: Path, calib: CalibrationSet, images: CalibrationSet, float_nodes: list[str]
) -> list[LayerSensitivity]:
    """Compute layers of ``parent`` by sensitivity, most sensitive first, measured on ``images`` (never the
    calibration images); ``float_nodes`` (e.g. a decode tail) stay float throughout and are not ranked."""
    import onnx

    parent_model = onnx.load(str(parent))
    parent_nodes = {n.name: n for n in parent_model.graph.node}
    parent_weights = {init.name: init for init in parent_model.graph.initializer}
    samples = list(images)
    reference = _outputs(parent_model.SerializeToString(), samples)
    with tempfile.TemporaryDirectory(prefix="edgekit-sensitivity-") as work:
        quantize_qdq(parent, Path(work) / "qdq.onnx", calib, nodes_to_exclude=float_nodes)  # MinMax: ranks only
        quantized = onnx.load(str(Path(work) / "qdq.onnx"))
    baseline = np.mean(
        [output_error(w, g) for w, g in zip(reference, _outputs(quantized.SerializeToString(), samples))]
    )
    skip = set(float_nodes)
    ranked = []
    for node in quantized.graph.node:
        if node.op_type not in COMPUTE_OPS or node.name in skip or node.name not in parent_nodes:
            continue
        outputs = _outputs(_variant(quantized, parent_nodes, parent_weights, node.name), samples)
        error = np.mean([output_error(w, g) for w, g in zip(reference, outputs)])
        ranked.append(LayerSensitivity(node.name, node.op_type, float(baseline - error)))
    return sorted(ranked, key=lambda layer: -layer.error_removed)

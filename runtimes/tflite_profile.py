"""Per-operator time of a ``.tflite`` model: each operator cut out into a one-operator model and timed alone.

The Python interpreters (ai-edge-litert, tflite-runtime, tensorflow.lite) expose no op profiler, so each
operator of the model (and of its chained stages) is written as a model of its own: the same tensors,
quantization and constant buffers, the operator's non-constant inputs as model inputs. It runs on the same
interpreter with the same thread count and its default XNNPACK delegate. What this cannot see is fusion across
operators inside the delegate, so the sum of the parts is reported beside the whole model's own time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from edgekit.errors import MissingDependencyError
from edgekit.quiet import native_output_to
from edgekit.runtimes.base import OpTime

_QUANTIZE_OPS = {"QUANTIZE", "DEQUANTIZE"}
_INTEGER_TYPES = {"INT8", "UINT8", "INT16"}


def _schema() -> Any:
    try:
        import flatbuffers  # noqa: F401 - needed by the generated schema's Pack
        from ai_edge_litert import schema_py_generated
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(exc.name or "ai_edge_litert", "tflite") from None
    return schema_py_generated


def _pack(model: Any) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _random_inputs(interpreter: Any, rng: np.random.Generator) -> None:
    for detail in interpreter.get_input_details():
        shape, dtype = detail["shape"], detail["dtype"]
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            value = rng.integers(max(info.min, -128), min(info.max, 127), size=shape, endpoint=True)
        else:
            value = rng.standard_normal(shape)
        interpreter.set_tensor(detail["index"], value.astype(dtype))


def _median_ms(interpreter: Any, runs: int) -> float:
    interpreter.invoke()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000.0


def _names(enum_class: Any) -> dict[int, str]:
    return {value: key for key, value in vars(enum_class).items() if not key.startswith("_")}


def profile_model(path: Path, make_interpreter: Callable[[bytes], Any], runs: int, stage: str) -> list[OpTime]:
    """Each operator of subgraph 0 of the model at ``path`` timed alone (median of ``runs``), in model order."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    graph, op_names, type_names = model.subgraphs[0], _names(schema.BuiltinOperator), _names(schema.TensorType)
    operators, rng = list(graph.operators), np.random.default_rng(0)
    model.signatureDefs = []

    def constant(tensor: int) -> bool:
        data = model.buffers[graph.tensors[tensor].buffer].data
        return data is not None and len(data) > 0

    ops = []
    for index, operator in enumerate(operators):
        code = model.operatorCodes[operator.opcodeIndex]
        op_type = op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
        graph.operators = [operator]
        graph.inputs = [t for t in operator.inputs if t >= 0 and not constant(t)]
        graph.outputs = list(operator.outputs)
        with native_output_to():
            interpreter = make_interpreter(_pack(model))
            interpreter.allocate_tensors()
        _random_inputs(interpreter, rng)
        dtype = type_names.get(graph.tensors[operator.inputs[0]].type, "?") if len(operator.inputs) else "?"
        kind = "quantize" if op_type in _QUANTIZE_OPS else ("int8" if dtype in _INTEGER_TYPES else "float")
        name = graph.tensors[operator.outputs[0]].name
        ops.append(
            OpTime(
                f"{stage}#{index} {name.decode() if isinstance(name, bytes) else name}",
                op_type,
                kind,
                _median_ms(interpreter, runs),
                dtype,
            )
        )
    return ops

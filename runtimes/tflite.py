"""TFLite / LiteRT interpreter: ``ai-edge-litert``, else ``tflite-runtime``, else ``tensorflow.lite``.

The session takes the harness's NCHW float32 batch and returns float32 outputs in the ONNX parent's layout:
it transposes image inputs to the interpreter's NHWC, quantizes int8/uint8 inputs and dequantizes int8/uint8
outputs with the interpreter's own scale and zero point, and puts transposed outputs back (matched by the
ONNX output names kept in the model's signature).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from edgekit.errors import EdgekitError, MissingDependencyError, first_line
from edgekit.manifest import Artifact, TensorSpec
from edgekit.quiet import native_output_to
from edgekit.runtimes.base import ModelDescription, OpTime

#: (module holding ``Interpreter``, distribution name), in order of preference
INTERPRETERS = (
    ("ai_edge_litert.interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "tflite-runtime"),
    ("tensorflow.lite", "tensorflow"),
)


def _quantize(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    scale, zero_point = detail["quantization"]
    info = np.iinfo(detail["dtype"])
    quantized: np.ndarray = np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(detail["dtype"])
    return quantized


def _dequantize(q: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    scale, zero_point = detail["quantization"]
    if np.issubdtype(detail["dtype"], np.integer) and scale:
        restored: np.ndarray = (q.astype(np.float32) - zero_point) * np.float32(scale)
        return restored
    return q.astype(np.float32)


def _to_parent_layout(array: np.ndarray, shape: list[int]) -> np.ndarray:
    """Undo the channels-last move of a converter (``[B, ..., C] -> [B, C, ...]``) when shapes say so."""
    if list(array.shape) == list(shape) or any(d <= 0 for d in shape):
        return array
    channels_first = np.moveaxis(array, -1, 1)
    if list(channels_first.shape) == list(shape):
        return channels_first
    raise EdgekitError(f"TFLite output shape {list(array.shape)} does not match the parent's {shape}")


def _fit(array: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """Transpose channels-first data to a channels-last input when the shapes say so, then quantize."""
    shape = [int(d) for d in detail["shape"]]
    if list(array.shape) != shape and array.ndim >= 3 and list(np.moveaxis(array, 1, -1).shape) == shape:
        array = np.moveaxis(array, 1, -1)
    if np.issubdtype(detail["dtype"], np.integer):
        return _quantize(array, detail)
    return np.ascontiguousarray(array, dtype=detail["dtype"])


class _Stage:
    """One interpreter of the chain; tensors addressed by index for low per-call overhead."""

    def __init__(self, interpreter: Any) -> None:
        self.interpreter = interpreter
        runner = interpreter.get_signature_runner()
        self.inputs = runner.get_input_details()
        self.outputs = runner.get_output_details()

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for name, detail in self.inputs.items():
            self.interpreter.set_tensor(detail["index"], _fit(feeds[name], detail))
        self.interpreter.invoke()
        return {name: _dequantize(self.interpreter.get_tensor(d["index"]), d) for name, d in self.outputs.items()}


class TfliteSession:
    """A chain of interpreters (usually one); the last one's outputs map to the manifest's outputs."""

    def __init__(self, interpreters: list[Any], outputs: list[TensorSpec], threads: int) -> None:
        self._stages = [_Stage(i) for i in interpreters]
        self._input = next(iter(self._stages[0].inputs))
        last = list(self._stages[-1].outputs)
        names = [spec.name for spec in outputs]
        self._outputs = list(zip(names if set(names) <= set(last) else last, outputs))
        self.threads = threads

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        values = {self._input: batch}
        for stage in self._stages:
            values = stage.run(values)
        return [_to_parent_layout(values[name], spec.shape) for name, spec in self._outputs]


class TfliteRuntime:
    """Runtime adapter for ``.tflite`` artifacts; ``version()`` names the interpreter package that ran.

    An interpreter that imports but cannot create a model (tflite-runtime 2.14 beside numpy 2) falls
    through to the next one; the first that loads a model is kept for the rest of the process. When the
    interpreter said it applied its default XNNPACK delegate (its native log, on x86 and on ARM alike), the
    version says so too: "ai-edge-litert 2.3.0 + XNNPACK".
    """

    name = "tflite"

    def __init__(self) -> None:
        self._chosen: tuple[Any, str] | None = None
        self._xnnpack = False

    @staticmethod
    def _importable() -> Iterator[tuple[Any, str]]:
        """Interpreter classes in order of preference, each imported only when the previous one failed."""
        found = False
        for module_name, dist in INTERPRETERS:
            try:
                interpreter_cls = importlib.import_module(module_name).Interpreter
            except Exception:  # noqa: BLE001 - a broken install raises more than ImportError
                continue
            found = True
            yield interpreter_cls, dist
        if not found:
            raise MissingDependencyError("ai-edge-litert", "tflite")

    def version(self) -> str:
        dist = (self._chosen or next(self._importable()))[1]
        return f"{dist} {importlib.metadata.version(dist)}{' + XNNPACK' if self._xnnpack else ''}"

    def _first_that_loads(self, make: Callable[[Any], Any], model_path: Path) -> Any:
        """``make(Interpreter class)`` with the first interpreter package that can build it (then kept for the
        rest of the process); every package's failure named in one error otherwise."""
        errors = []
        for cls, dist in [self._chosen] if self._chosen else self._importable():
            with tempfile.TemporaryDirectory() as folder:
                log = Path(folder) / "native.log"
                try:
                    with native_output_to(log):  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
                        made = make(cls)
                except Exception as exc:  # noqa: BLE001 - the interpreters raise ValueError/RuntimeError alike
                    errors.append(f"{dist}: {first_line(exc)}")
                    continue
                self._xnnpack = self._xnnpack or "XNNPACK delegate" in log.read_text(errors="replace")
            self._chosen = (cls, dist)
            return made
        raise EdgekitError(f"cannot load {model_path}: {'; '.join(errors)}")

    def load(self, artifact: Artifact, threads: int) -> TfliteSession:
        files = [artifact.model_path] + [artifact.path / name for name in artifact.manifest.stages]

        def interpreters(cls: Any) -> list[Any]:
            made = [cls(model_path=str(path), num_threads=threads) for path in files]
            for interpreter in made:
                interpreter.allocate_tensors()
            return made

        return TfliteSession(
            self._first_that_loads(interpreters, artifact.model_path), artifact.manifest.outputs, threads
        )

    def profile(self, artifact: Artifact, threads: int, batch: np.ndarray, runs: int) -> tuple[list[OpTime], str]:
        """Every operator of every stage timed alone (see ``tflite_profile``): no Python op profiler exists."""
        from edgekit.runtimes.tflite_profile import profile_model

        files = [artifact.model_path] + [artifact.path / name for name in artifact.manifest.stages]
        cls = self._first_that_loads(lambda cls: cls, artifact.model_path)
        ops = [
            op
            for path in files
            for op in profile_model(
                path, lambda content: cls(model_content=content, num_threads=threads), runs, path.name
            )
        ]
        return ops, f"each operator timed alone on {self.version()}, median of {runs} runs"

    def describe(self, model_path: Path) -> ModelDescription:
        """Inputs and outputs of a ``.tflite`` file (outputs kept in the file's own layout)."""
        interpreter = self._first_that_loads(lambda cls: cls(model_path=str(model_path)), model_path)
        runner = interpreter.get_signature_runner()  # the order and names TfliteSession runs by
        inputs, outputs = runner.get_input_details(), runner.get_output_details()
        return ModelDescription(
            _specs([d | {"name": n} for n, d in inputs.items()], True),
            _specs([d | {"name": n} for n, d in outputs.items()], False),
        )


def _specs(details: list[dict[str, Any]], image_input: bool) -> list[TensorSpec]:
    specs = []
    for detail in details:
        shape = [int(d) for d in detail.get("shape_signature", detail["shape"])]
        layout = ("NHWC" if shape[-1] == 3 else "NCHW") if image_input and len(shape) == 4 else ""
        scale, zero_point = detail["quantization"]
        quantized = np.issubdtype(detail["dtype"], np.integer) and scale
        specs.append(
            TensorSpec(
                detail["name"],
                shape,
                np.dtype(detail["dtype"]).name,
                layout,
                float(scale) if quantized else None,
                int(zero_point) if quantized else None,
            )
        )
    return specs


RUNTIME = TfliteRuntime()

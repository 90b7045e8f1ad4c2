"""ONNX Runtime (CPU execution provider)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.manifest import Artifact, TensorSpec
from edgekit.runtimes.base import ModelDescription


_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(uint8)": "uint8",
           "tensor(int8)": "int8"}


class OrtSession:
    """An ``InferenceSession`` with explicit intra-op threads and one inter-op thread."""

    def __init__(self, model_path: str, threads: int) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types for bad models
            raise EdgekitError(f"onnxruntime cannot load {model_path}: {str(exc).splitlines()[0]}") from None
        self._input = self._session.get_inputs()[0].name
        self.threads = threads

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(o, dtype=np.float32) for o in self._session.run(None, {self._input: batch})]


class OnnxRuntime:
    """Runtime adapter for ``.onnx`` artifacts."""

    name = "onnxruntime"

    def version(self) -> str:
        return ort.__version__

    def load(self, artifact: Artifact, threads: int) -> OrtSession:
        return OrtSession(str(artifact.model_path), threads)

    def describe(self, model_path: Path) -> ModelDescription:
        session = OrtSession(str(model_path), 1)._session

        def specs(values: list, layout: str) -> list[TensorSpec]:
            return [TensorSpec(v.name, [d if isinstance(d, int) else -1 for d in v.shape],
                               _DTYPES.get(v.type, v.type), layout) for v in values]

        return ModelDescription(specs(session.get_inputs(), "NCHW"), specs(session.get_outputs(), ""),
                                dict(session.get_modelmeta().custom_metadata_map))


RUNTIME = OnnxRuntime()

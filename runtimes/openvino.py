"""OpenVINO runtime (CPU plugin), latency hint, explicit inference threads."""

from __future__ import annotations

import numpy as np
import openvino as ov

from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.manifest import Artifact, TensorSpec
from edgekit.runtimes.base import ModelDescription


class OpenVinoSession:
    """A compiled model and one infer request."""

    def __init__(self, core: ov.Core, model_path: str, threads: int) -> None:
        config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
        try:
            self._compiled = core.compile_model(model_path, "CPU", config)
        except RuntimeError as exc:
            raise EdgekitError(f"OpenVINO cannot load {model_path}: {str(exc).splitlines()[0]}") from None
        self._request = self._compiled.create_infer_request()
        self._outputs = len(self._compiled.outputs)
        self.threads = threads

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        self._request.infer({0: batch})
        return [np.array(self._request.get_output_tensor(i).data, dtype=np.float32) for i in range(self._outputs)]


class OpenVinoRuntime:
    """Runtime adapter for OpenVINO IR (``.xml`` + ``.bin``) artifacts."""

    name = "openvino"

    def version(self) -> str:
        return ov.get_version()

    def load(self, artifact: Artifact, threads: int) -> OpenVinoSession:
        return OpenVinoSession(ov.Core(), str(artifact.model_path), threads)

    def describe(self, model_path: Path) -> ModelDescription:
        try:
            model = ov.Core().read_model(str(model_path))
        except RuntimeError as exc:
            raise EdgekitError(f"OpenVINO cannot read {model_path}: {str(exc).splitlines()[0]}") from None

        def specs(ports: list, layout: str) -> list[TensorSpec]:
            return [TensorSpec(port.get_any_name() if port.get_names() else f"port{i}",
                               [d.get_length() if d.is_static else -1 for d in port.get_partial_shape()],
                               str(port.get_element_type().to_dtype()), layout) for i, port in enumerate(ports)]

        return ModelDescription(specs(model.inputs, "NCHW"), specs(model.outputs, ""))


RUNTIME = OpenVinoRuntime()

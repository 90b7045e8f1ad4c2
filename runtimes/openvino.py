"""OpenVINO runtime (CPU plugin), latency hint, explicit inference threads."""

from __future__ import annotations

import numpy as np
import openvino as ov

from edgekit.errors import EdgekitError
from edgekit.manifest import Artifact


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


RUNTIME = OpenVinoRuntime()

"""Open an artifact on its runtime and hand back outputs in the FP32 parent's convention.

Runtimes already hide layout and int8 I/O; this adds the graph-level reassembly recorded in the manifest
(``output_assembly``): a detector exported with boxes and scores as separate outputs gets them concatenated
back into the parent's single ``[B, 4+nc, N]`` tensor, so the harness decodes every artifact the same way.
"""

from __future__ import annotations

import numpy as np
from edgekit.runtimes.base import Session

from ..manifest import Artifact
from ..registry import get_runtime


class AssembledSession:
    """Wraps a runtime session; concatenates split outputs along the recorded axis."""

    def __init__(self, session: Session, concat_axis: int) -> None:
        self._session = session
        self._axis = concat_axis
        self.threads = session.threads

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        return [np.concatenate(self._session.run(batch), axis=self._axis)]


def open_session(artifact: Artifact, threads: int) -> Session:
    """Load ``artifact`` on its registered runtime with ``threads`` threads."""
    session = get_runtime(artifact.manifest.runtime).load(artifact, threads)
    assembly = artifact.manifest.output_assembly
    return AssembledSession(session, assembly["concat_axis"]) if assembly else session

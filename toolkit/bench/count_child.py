"""The process ``edgekit bench --count`` runs under callgrind: load one artifact (one thread), warm up, then run
each counted inference between the helper's start and stop client requests.

    python -m edgekit.bench.count_child ARTIFACT BATCH.npy HELPER.so RUNS

Numpy + the artifact's runtime only; no output but the callgrind dumps.
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import numpy as np

#: uncounted inferences first: lazy initialisation (kernel selection, arena growth) happens on the first ones
WARMUP = 2


def main(argv: list[str]) -> None:
    """Load, warm up, count ``RUNS`` inferences."""
    from ..manifest import Artifact
    from .sessions import open_session

    artifact_path, batch_path, helper_path, runs = argv
    session = open_session(Artifact.load(Path(artifact_path)), 1)
    batch = np.load(batch_path)
    helper = ctypes.CDLL(helper_path)
    helper.edgekit_instrument()
    for _ in range(WARMUP):
        session.run(batch)
    for _ in range(int(runs)):
        helper.edgekit_count_start()
        session.run(batch)
        helper.edgekit_count_stop()


if __name__ == "__main__":
    main(sys.argv[1:])

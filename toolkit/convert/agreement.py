"""How closely two streams of outputs agree: running cosine similarity and max absolute difference."""

from __future__ import annotations

import numpy as np


class Agreement:
    """Accumulates ``reference`` vs ``candidate`` arrays over many samples."""

    def __init__(self) -> None:
        self.dot = self.ref_sq = self.cand_sq = 0.0
        self.max_abs = self.max_ref = 0.0
        self.nonfinite = 0  # NaN / inf values seen on either side: any makes the agreement meaningless

    def update(self, reference: np.ndarray, candidate: np.ndarray) -> None:
        a = np.asarray(reference, np.float64).ravel()
        b = np.asarray(candidate, np.float64).ravel()
        bad = ~(np.isfinite(a) & np.isfinite(b))
        if bad.any():
            self.nonfinite += int(bad.sum())
            a, b = a[~bad], b[~bad]
        self.dot += float(a @ b)
        self.ref_sq += float(a @ a)
        self.cand_sq += float(b @ b)
        self.max_abs = max(self.max_abs, float(np.abs(a - b).max(initial=0.0)))
        self.max_ref = max(self.max_ref, float(np.abs(a).max(initial=0.0)))

    @property
    def finite(self) -> bool:
        """True when neither side ever produced NaN or inf."""
        return self.nonfinite == 0

    @property
    def cosine(self) -> float:
        return self.dot / max(float(np.sqrt(self.ref_sq * self.cand_sq)), 1e-30)

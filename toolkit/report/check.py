"""One gated metric of one artifact (a leaf of ``edgekit.report``: the gate and its count lane build them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One metric of one artifact, baseline vs current."""

    artifact: str
    metric: str
    baseline: float
    current: float
    change: float
    limit: float
    unit: str

    @property
    def passed(self) -> bool:
        return self.change <= self.limit

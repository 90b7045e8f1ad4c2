"""``edgekit sweep``: a grid of compress options x targets x calibration variants as one table and two plots,
resumable from a content-addressed store, on a local process pool or a Ray cluster (see ``run``)."""

from .config import SweepConfig, load_sweep
from .run import run_sweep

__all__ = ["SweepConfig", "load_sweep", "run_sweep"]

"""``edgekit export --max-drop POINTS``: an accuracy budget for every INT8 target.

The calibration split is divided once, seeded: *decide* images (never used to calibrate, never the val split
that ``edgekit bench`` scores) and calibration images. An INT8 target is converted, its accuracy drop against
the FP32 parent measured on the decide images, and while the drop exceeds the budget the most sensitive layers
(``sensitivity.rank_layers``, also measured on decide images) are handed back to float in growing steps
(1, 2, 4, 8, 16 layers) through the target's own option (``Target.float_nodes_option``). Before any layer goes
back to float, a target's other calibrations (``Target.budget_alternatives``, e.g. ORT's Percentile beside its
default MeanMinMax) are tried, and the float steps start from the one that dropped least: which calibration
keeps a model's accuracy depends on the model (``docs/targets.md``), and the decide images can tell. The first
attempt within budget is kept; when none is, the export of that target fails and names the best drop reached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.calibration import CalibrationSet
from ..data.datasets import Dataset
from ..errors import DataError, ExportError
from ..manifest import Artifact
from ..tasks.evaluation import evaluate
from ..tasks.registry import TASKS
from .sensitivity import rank_layers

#: layers handed back to float at each attempt after the first (cumulative, most sensitive first)
FLOAT_STEPS = (1, 2, 4, 8, 16)
MIN_DECIDE_IMAGES = 48
MIN_CALIBRATION_IMAGES = 16
MAX_DECIDE_IMAGES = 500
RANKING_IMAGES = 32
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class BudgetSplit:
    """The calibration split divided: images to calibrate on and held-out images to decide on."""

    calibration: list[Path]
    decide: Dataset


@dataclass
class BudgetOutcome:
    """What the loop tried and kept, recorded in the manifest's ``notes.accuracy_budget``."""

    max_drop: float
    metric: str
    decide_images: int
    fp32: float
    attempts: list[dict[str, Any]] = field(default_factory=list)
    float_layers: list[str] = field(default_factory=list)
    drop: float | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_drop_points": self.max_drop,
            "metric": self.metric,
            "decide_images": self.decide_images,
            "fp32_on_decide": self.fp32,
            "drop_points": self.drop,
            "float_layers": self.float_layers,
            "options": self.options,
            "attempts": self.attempts,
        }


def split_for_budget(calib_split: Dataset, val_split: Dataset, work: Path, seed: int = 1) -> BudgetSplit:
    """Hold out ``max(48, 1/3)`` (at most 500) of the calibration split as decide images; refuse data whose
    calibration and
    val splits share images (a COCO file or unsplit folder serves both: nothing would be held out)."""
    pool = list(calib_split.image_paths)
    overlap = {p.resolve() for p in pool} & {p.resolve() for p in val_split.image_paths}
    if overlap:
        raise DataError(
            f"--max-drop needs a calibration split apart from the val split; {len(overlap)} image(s) "
            "are in both (use a data.yaml with train and val, or an ImageFolder with calib/ and val/)"
        )
    count = min(max(MIN_DECIDE_IMAGES, len(pool) // 3), MAX_DECIDE_IMAGES)
    if len(pool) - count < MIN_CALIBRATION_IMAGES:
        raise DataError(
            f"--max-drop needs at least {MIN_DECIDE_IMAGES + MIN_CALIBRATION_IMAGES} images in the "
            f"calibration split; {calib_split.name} has {len(pool)}"
        )
    picked = set(np.random.default_rng(seed).choice(len(pool), size=count, replace=False).tolist())
    decide = {pool[i] for i in picked}
    return BudgetSplit([p for i, p in enumerate(pool) if i not in picked], calib_split.subset(decide, work, "decide"))


@dataclass
class ExportBudget:
    """One export's budget: the split, the runnable FP32 parent, and (computed once, when first needed) the
    parent's score on the decide images and the layer ranking shared by every INT8 target."""

    max_drop: float
    split: BudgetSplit
    parent: Artifact
    calib: CalibrationSet
    work: Path
    _fp32: float | None = None
    _ranked: list[str] | None = None

    @property
    def metric(self) -> str:
        return TASKS[self.parent.manifest.task].headline

    def fp32(self) -> float:
        if self._fp32 is None:
            self._fp32 = score(self.parent, self.split.decide)
        return self._fp32

    def ranking(self) -> list[str]:
        if self._ranked is None:
            from .graph_remedies import float_tail_nodes

            images = CalibrationSet(tuple(self.split.decide.image_paths[:RANKING_IMAGES]), self.calib.preprocessing)
            # the head's last convs are float by default on ORT and TFLite: not ranked
            layers = rank_layers(self.parent.model_path, self.calib, images, float_tail_nodes(self.parent.model_path))
            self._ranked = [layer.node for layer in layers]
        return self._ranked


def check_max_drop(value: Any) -> float:
    """``--max-drop`` as a number of points in [0, 100]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise ExportError(f"--max-drop must be a number of points in [0, 100], got {value!r}")
    return float(value)


def score(artifact: Artifact, dataset: Dataset) -> float:
    """The task's headline metric of ``artifact`` on ``dataset``, in points (x100)."""
    from ..bench.sessions import open_session

    metrics, _ = evaluate(open_session(artifact, threads=2), artifact.manifest.card, dataset)
    return 100.0 * metrics[TASKS[artifact.manifest.task].headline]


def run_budget(
    max_drop: float,
    fp32: float,
    metric: str,
    decide: Dataset,
    ranking: Callable[[], list[str]],
    attempt: Callable[[list[str], int, dict[str, Any]], Artifact],
    alternatives: Sequence[dict[str, Any]] = (),
) -> tuple[Artifact, BudgetOutcome]:
    """Convert as configured, then with each of ``alternatives`` (config overrides, e.g. another calibration),
    then, from the one that dropped least, with the top 1, 2, 4... ranked layers in float, until the drop on
    ``decide`` is within ``max_drop``; ``attempt(float_layers, index, overrides)`` converts, ``ranking()`` is
    called only if needed.

    Layers a target cannot keep in float (its conversion fails with them) are dropped from the ranking and
    the step is retried with the next ones; at most ``MAX_ATTEMPTS`` conversions in all.
    """
    outcome = BudgetOutcome(max_drop, metric, len(decide.image_paths), fp32)
    best: tuple[float, list[str], dict[str, Any]] | None = None

    def tried(layers: list[str], options: dict[str, Any]) -> Artifact | None:
        """One attempt scored and recorded; the artifact when it is within budget."""
        nonlocal best
        artifact = attempt(layers, len(outcome.attempts), options)
        drop = fp32 - score(artifact, decide)
        outcome.attempts.append({"float_layers": len(layers), "drop_points": drop} | _options_entry(options))
        best = (drop, layers, options) if best is None or drop < best[0] else best
        if drop > max_drop:
            return None
        outcome.drop, outcome.float_layers, outcome.options = drop, layers, options
        return artifact

    for index, options in enumerate(({}, *alternatives)):
        try:
            if (artifact := tried([], options)) is not None:
                return artifact, outcome
        except ExportError as exc:
            if not index:
                raise  # the plain conversion failed: that is the target's error, not the budget's
            outcome.attempts.append({"float_layers": 0, "error": str(exc)} | _options_entry(options))
    assert best is not None
    options = best[2]
    ranked: list[str] | None = None
    step = 0
    while step < len(FLOAT_STEPS) and len(outcome.attempts) < MAX_ATTEMPTS:
        ranked = list(ranking()) if ranked is None else ranked
        previous = FLOAT_STEPS[step - 1] if step else 0
        if previous >= len(ranked):
            break  # every ranked layer is float already
        layers = ranked[: FLOAT_STEPS[step]]
        try:
            if (artifact := tried(layers, options)) is not None:
                return artifact, outcome
        except ExportError as exc:
            outcome.attempts.append({"float_layers": len(layers), "error": str(exc)} | _options_entry(options))
            del ranked[previous : FLOAT_STEPS[step]]  # not keepable in float by this target: try the next ones
            continue
        step += 1
    raise ExportError(_not_met(max_drop, outcome, best))


def _options_entry(options: dict[str, Any]) -> dict[str, Any]:
    return {"options": options} if options else {}


def _not_met(max_drop: float, outcome: BudgetOutcome, best: tuple[float, list[str], dict[str, Any]]) -> str:
    """The one line of a budget no attempt met: the best drop and every attempt."""

    def label(a: dict[str, Any]) -> str:
        options = "".join(f"{key}={value}, " for key, value in a.get("options", {}).items())
        result = f"{a['drop_points']:.2f} pt" if "drop_points" in a else "did not convert"
        return f"{options}{a['float_layers']} float: {result}"

    chosen = "".join(f" ({key}={value})" for key, value in best[2].items())
    return (
        f"accuracy budget {max_drop} pt not met on {outcome.decide_images} held-out images after "
        f"{len(outcome.attempts)} attempt(s): best {best[0]:.2f} pt with {len(best[1])} layer(s) in float{chosen} "
        f"(tried {', '.join(label(a) for a in outcome.attempts)})"
    )

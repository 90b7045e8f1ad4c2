"""The options of ``edgekit compress``, in one torch-free module: the library, the CLI and recipes share these
dataclasses and their defaults (``plan_from_options`` turns a recipe's or the CLI's flat option names into a
``CompressPlan``, refusing unknown keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EdgekitError, refuse_unknown

KD_IMAGES = 2048
IMPORTANCE = ("l1", "l2", "bn", "taylor", "hessian")
#: criteria that read gradients of the task loss (they need labelled images)
GRADIENT_IMPORTANCE = ("taylor", "hessian")
RECOVER = ("auto", "labels", "kd")
ACTIVATIONS = ("relu",)  # --act: what smooth activations become (edgekit.compress.rewrite)
PADDINGS = ("same",)  # --pad: what strided convolutions' padding becomes (edgekit.compress.rewrite)


def check_ratio(kind: str, ratio: float) -> None:
    """A pruning ratio must lie strictly between 0 and 1."""
    if not 0.0 < ratio < 1.0:
        raise EdgekitError(f"{kind} ratio must be in (0, 1), got {ratio}")


@dataclass(frozen=True)
class PruneOptions:
    """``ratio`` of channels (``by="channels"``) or of MACs (``by="macs"``) to remove.

    ``steps`` > 1 with distillation: prune in that many rounds, distilling after each (gradual pruning keeps
    the network working throughout instead of retraining it from a collapsed state).
    """

    ratio: float
    by: str = "channels"
    importance: str = "l2"
    round_to: int = 8
    steps: int = 1
    keep: tuple[str, ...] = ()
    thin_idle: bool = True  # detectors: thin output branches that never score on the images to round_to channels

    def validate(self) -> None:
        check_ratio("pruning", self.ratio)
        if self.steps < 1:
            raise EdgekitError(f"pruning steps must be at least 1, got {self.steps}")
        if self.by not in ("channels", "macs"):
            raise EdgekitError(f"--prune-by must be channels or macs, got {self.by!r}")
        if self.importance not in IMPORTANCE:
            raise EdgekitError(f"importance must be one of {', '.join(IMPORTANCE)}, got {self.importance!r}")


@dataclass(frozen=True)
class DistillOptions:
    """CPU-friendly defaults; ``seed`` fixes shuffling and flips; ``device`` is a torch device ("cpu", "cuda")."""

    epochs: int = 10
    lr: float = 2e-3  # what the CLI and recipes have always used
    temperature: float = 2.0
    batch_size: int = 16
    seed: int = 0
    device: str = "cpu"
    ema_decay: float = 0.0  # > 0: keep an exponential moving average of the student's weights and end on it
    feature_weight: float = 1.0  # detectors: weight of matching the head's input features (0 turns it off)
    recover: str = "auto"  # labels: task loss + distillation; kd: distillation alone; auto: labels when present
    kd_weight: float = 1.0  # with labels: weight of the distillation loss beside the task loss
    warmup: float = 0.3  # share of the steps over which the learning rate warms up (one-cycle schedule)

    def validate(self) -> None:
        if self.recover not in RECOVER:
            raise EdgekitError(f"--recover must be one of {', '.join(RECOVER)}, got {self.recover!r}")
        if self.epochs < 1:
            raise EdgekitError(f"--epochs must be at least 1, got {self.epochs}")


@dataclass(frozen=True)
class CompressPlan:
    """What to do, in order: structured pruning, unstructured pruning, distillation."""

    prune: PruneOptions | None = None
    unstructured: float | None = None
    distill: DistillOptions | None = None
    dynamic_quant: bool = False
    kd_images: int = KD_IMAGES
    images: Path | None = None
    act: str | None = None  # rewrite activations (before pruning), e.g. "relu"; needs recovery
    pad: str | None = None  # rewrite strided convolutions' padding (before pruning): "same"; needs recovery

    def validate(self) -> None:
        """Reject bad options before anything is loaded or written."""
        if self.prune:
            self.prune.validate()
        if self.unstructured is not None:
            check_ratio("unstructured", self.unstructured)
        if self.distill:
            self.distill.validate()
        if not (self.prune or self.unstructured or self.distill or self.dynamic_quant or self.act or self.pad):
            raise EdgekitError(
                "nothing to do: pass --prune, --act, --pad, --unstructured, --distill and/or --dynamic-quant"
            )
        for flag, value, choices in (("--act", self.act, ACTIVATIONS), ("--pad", self.pad, PADDINGS)):
            if value is not None and value not in choices:
                raise EdgekitError(f"{flag} must be one of {', '.join(choices)}, got {value!r}")
            if value and not self.distill:
                raise EdgekitError(
                    f"{flag} {value} changes what the network computes: it needs recovery "
                    "(--recover or --distill with --epochs)"
                )
        if self.distill and self.prune and self.distill.epochs < self.prune.steps:
            raise EdgekitError(f"--epochs ({self.distill.epochs}) must be at least --steps ({self.prune.steps})")
        if self.distill and self.kd_images < self.distill.batch_size:
            raise EdgekitError(f"--kd-images must be at least the batch size ({self.distill.batch_size})")


#: the flat option names of ``edgekit compress`` and a recipe's ``[compress]`` table
PLAN_KEYS = (
    "prune",
    "prune_by",
    "importance",
    "round_to",
    "steps",
    "keep",
    "keep_idle",
    "unstructured",
    "distill",
    "recover",
    "dynamic_quant",
    "images",
    "kd_images",
    "epochs",
    "lr",
    "device",
    "ema",
    "act",
    "pad",
)


def plan_from_options(options: dict[str, Any]) -> CompressPlan:
    """A ``CompressPlan`` from flat option names (``PLAN_KEYS``; absent keys take the dataclasses' defaults)."""
    refuse_unknown(options, PLAN_KEYS, "compress option")
    prune_defaults, distill_defaults = PruneOptions(0.5), DistillOptions()
    prune = None
    if options.get("prune") is not None:
        prune = PruneOptions(
            float(options["prune"]),
            options.get("prune_by", prune_defaults.by),
            options.get("importance", prune_defaults.importance),
            int(options.get("round_to", prune_defaults.round_to)),
            int(options.get("steps", prune_defaults.steps)),
            tuple(options.get("keep", ())),
            not options.get("keep_idle", not prune_defaults.thin_idle),
        )
    distill = None
    if options.get("distill") or options.get("recover") is not None:
        distill = DistillOptions(
            epochs=int(options.get("epochs", distill_defaults.epochs)),
            lr=float(options.get("lr", distill_defaults.lr)),
            device=str(options.get("device", distill_defaults.device)),
            recover=str(options.get("recover") or distill_defaults.recover),
            ema_decay=float(options.get("ema") or distill_defaults.ema_decay),
        )
    images = options.get("images")
    return CompressPlan(
        prune=prune,
        unstructured=options.get("unstructured"),
        distill=distill,
        dynamic_quant=bool(options.get("dynamic_quant", False)),
        kd_images=int(options.get("kd_images", KD_IMAGES)),
        images=Path(images) if images else None,
        act=options.get("act"),
        pad=options.get("pad"),
    )

"""The options of ``edgekit compress``, in one torch-free module: ``CompressOptions`` declares each option once
(flag, default, help, choices), and the CLI, the library's keywords, recipes and sweeps derive theirs from it;
``PruneOptions`` / ``DistillOptions`` / ``CompressPlan`` are what the compress pipeline runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EdgekitError
from ..optionspec import from_values, option, option_names

KD_IMAGES = 2048
IMPORTANCE = ("l1", "l2", "bn", "taylor", "hessian")
#: criteria that read gradients of the task loss (they need labelled images)
GRADIENT_IMPORTANCE = ("taylor", "hessian")
RECOVER = ("auto", "labels", "kd")
PRUNE_BY = ("channels", "macs")
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
    sparsity_epochs: int = 0  # of the recovery epochs, this many train with group sparsity regularization first
    sparsity_reg: float = 5e-4  # its strength (Torch-Pruning GroupNormPruner's ``reg``)

    def validate(self) -> None:
        check_ratio("pruning", self.ratio)
        if self.sparsity_epochs < 0 or self.sparsity_reg <= 0:
            raise EdgekitError(
                "--sparsity-epochs must be >= 0 and --sparsity-reg > 0, "
                f"got {self.sparsity_epochs} / {self.sparsity_reg}"
            )
        if self.steps < 1:
            raise EdgekitError(f"pruning steps must be at least 1, got {self.steps}")
        if self.by not in PRUNE_BY:
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
        if self.prune and self.prune.sparsity_epochs and not self.distill:
            raise EdgekitError("--sparsity-epochs trains before pruning: it needs recovery (--recover, --epochs)")
        if self.distill and self.prune:
            recovery = self.distill.epochs - self.prune.sparsity_epochs
            if recovery < self.prune.steps:
                raise EdgekitError(
                    f"--epochs ({self.distill.epochs}) must leave at least --steps ({self.prune.steps}) "
                    f"epoch(s) of recovery after --sparsity-epochs ({self.prune.sparsity_epochs})"
                )
        if self.distill and self.kd_images < self.distill.batch_size:
            raise EdgekitError(f"--kd-images must be at least the batch size ({self.distill.batch_size})")


_PRUNE, _DISTILL = PruneOptions(0.5), DistillOptions()


@dataclass(frozen=True)
class CompressOptions:
    """The options of ``edgekit compress``, declared once: the command line's flags, ``edgekit.compress_model``'s
    keywords and a recipe's or sweep's ``[compress]`` keys are all derived from these fields
    (``edgekit.optionspec``); ``plan()`` turns them into a ``CompressPlan``. Defaults are the library's
    (``PruneOptions``, ``DistillOptions``)."""

    prune: float | None = option(None, "structured pruning ratio in (0, 1)")
    prune_by: str = option(_PRUNE.by, "what --prune counts", choices=PRUNE_BY)
    importance: str = option(
        _PRUNE.importance,
        "channel importance: group magnitude (l1, l2), BatchNorm scale (bn), task-loss gradients (taylor, "
        "hessian: need labels)",
        choices=IMPORTANCE,
    )
    round_to: int = option(_PRUNE.round_to, "keep channel counts multiples of this")
    keep: tuple[str, ...] = option((), "module name to leave unpruned (repeatable)")
    steps: int = option(_PRUNE.steps, "prune in N prune-recover cycles (gradual pruning): --epochs are shared out")
    keep_idle: bool = option(
        not _PRUNE.thin_idle,
        "detectors: prune output branches that never score on the images like any other (default: thin them to "
        "--round-to channels)",
    )
    sparsity_epochs: int = option(
        _PRUNE.sparsity_epochs,
        "before pruning, spend N of --epochs training with group sparsity regularization (Torch-Pruning's "
        "GroupNormPruner: weak channel groups pushed towards zero), the rest recovering after it",
    )
    sparsity_reg: float = option(_PRUNE.sparsity_reg, "strength of --sparsity-epochs' regularization")
    act: str | None = option(
        None,
        "replace SiLU/Hardswish/GELU/Mish with this (relu fuses into INT8 convs), then recover; needs --recover",
        choices=ACTIVATIONS,
    )
    pad: str | None = option(
        None,
        "TensorFlow-style SAME padding on strided convs (no PAD ops in TFLite), then recover; needs --recover",
        choices=PADDINGS,
    )
    unstructured: float | None = option(None, "unstructured L1 ratio in (0, 1)")
    distill: bool = option(
        False,
        "recover after pruning: distillation from the original, plus the task loss when the data has labels",
    )
    recover: str | None = option(
        None,
        "implies --distill: labels = task loss + distillation, kd = distillation alone, auto = labels when the "
        "data has a labelled train split (default)",
        choices=RECOVER,
    )
    ema: float | None = option(None, "recovery: end on an exponential moving average of the weights, this decay")
    dynamic_quant: bool = option(False, "PyTorch dynamic int8 quantization of Linear layers")
    images: Path | None = option(None, "folder of unlabelled images to distill on instead of the data's")
    kd_images: int = option(KD_IMAGES, "at most this many distillation images")
    epochs: int = option(_DISTILL.epochs, "recovery epochs")
    lr: float = option(_DISTILL.lr, "recovery learning rate")
    device: str = option(_DISTILL.device, "torch device for recovery, e.g. cuda")

    def plan(self) -> CompressPlan:
        """The ``CompressPlan`` these options describe (checked by its ``validate``)."""
        prune = None
        if self.prune is not None:
            prune = PruneOptions(
                self.prune,
                self.prune_by,
                self.importance,
                self.round_to,
                self.steps,
                self.keep,
                not self.keep_idle,
                self.sparsity_epochs,
                self.sparsity_reg,
            )
        distill = None
        if self.distill or self.recover is not None:
            distill = DistillOptions(
                epochs=self.epochs,
                lr=self.lr,
                device=self.device,
                recover=self.recover or _DISTILL.recover,
                ema_decay=self.ema or _DISTILL.ema_decay,
            )
        return CompressPlan(
            prune=prune,
            unstructured=self.unstructured,
            distill=distill,
            dynamic_quant=self.dynamic_quant,
            kd_images=self.kd_images,
            images=self.images,
            act=self.act,
            pad=self.pad,
        )


#: the flat option names of ``edgekit compress`` and a recipe's ``[compress]`` table
PLAN_KEYS = option_names(CompressOptions)


def plan_from_options(options: Mapping[str, Any]) -> CompressPlan:
    """A ``CompressPlan`` from flat option names (``PLAN_KEYS``; absent or ``None`` keys take the defaults); an
    unknown name or a value of the wrong type is one ``EdgekitError``."""
    return from_values(CompressOptions, options, "compress option").plan()

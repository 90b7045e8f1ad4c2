"""Train the built-in reference models on freshly generated shapes data (seeded, CPU only).

    python benchmarks/train_reference.py --model det    # nano-det; 35 min on 2 cores (val mAP50-95 0.785)
    python benchmarks/train_reference.py --model cls    # nano-cls; 3 min on 2 cores (val top-1 0.978)

Every training image is new (image ``i`` of the train seed), so there is no over-fitting to a fixed set.
Weights are written as a float16 state_dict (small enough to commit) into ``toolkit/models/weights/``, and
the final metrics are measured on the val split with those very weights.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).parent))
from detection_loss import DetectionLoss  # noqa: E402
from edgekit.calibration_data.build import (
    TRAIN_SEED_CLS,
    TRAIN_SEED_DET,
    classification_sample,  # noqa: E402
    detection_sample,
)
from edgekit.data.preprocess import read_image  # noqa: E402
from edgekit.data.resolve import resolve_dataset  # noqa: E402
from edgekit.models.builtins import BUILTIN_MODELS  # noqa: E402
from edgekit.models.nano_cls import NanoClassifier  # noqa: E402
from edgekit.models.nano_det import NanoDetector  # noqa: E402
from edgekit.tasks.detection import DetectionDecoding, coco_map, predict_image  # noqa: E402

WEIGHTS = Path(__file__).resolve().parent.parent / "toolkit" / "models" / "weights"


class GeneratedDetection(Dataset):
    def __init__(self, count: int) -> None:
        self.count, self.pre = count, BUILTIN_MODELS["nano-det"].card.preprocessing

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        pixels, objects = detection_sample(TRAIN_SEED_DET, index)
        chw, box = self.pre.apply(pixels)
        boxes = np.array([o.box for o in objects], dtype=np.float64).reshape(-1, 4)
        target = np.concatenate(
            [np.array([[o.class_id] for o in objects]).reshape(-1, 1), box.boxes_to_letterbox(boxes)], 1
        )
        return torch.from_numpy(chw), torch.from_numpy(target.astype(np.float32))


def collate_det(batch):
    return torch.stack([x for x, _ in batch]), [t for _, t in batch]


class GeneratedClassification(Dataset):
    def __init__(self, count: int) -> None:
        self.count, self.pre = count, BUILTIN_MODELS["nano-cls"].card.preprocessing

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        pixels, label = classification_sample(TRAIN_SEED_CLS, index)
        return torch.from_numpy(self.pre.apply(pixels)[0]), label


class EMA:
    """Exponential moving average of weights with a warm-up ramp (as in YOLOv5/v8 training)."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.9995, tau: float = 500.0) -> None:
        self.model, self.decay, self.tau, self.updates = copy.deepcopy(model).eval(), decay, tau, 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        for ema_v, v in zip(self.model.state_dict().values(), model.state_dict().values()):
            if ema_v.dtype.is_floating_point:
                ema_v.mul_(d).add_(v.detach(), alpha=1 - d)


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup))))


@torch.no_grad()
def evaluate_detector(model: torch.nn.Module) -> dict[str, float]:
    spec, pre = BUILTIN_MODELS["nano-det"], BUILTIN_MODELS["nano-det"].card.preprocessing
    data = resolve_dataset(spec.card.dataset, "val")
    results = []
    for rec in data.images:
        chw, box = pre.apply(read_image(rec.path))
        out = model.eval()(torch.from_numpy(chw)[None])[0].numpy()
        results += predict_image(out, DetectionDecoding(), box, rec.image_id, rec.height, rec.width, data.category_ids)
    return coco_map(data.annotations_path, results)


@torch.no_grad()
def evaluate_classifier(model: torch.nn.Module) -> dict[str, float]:
    spec = BUILTIN_MODELS["nano-cls"]
    data = resolve_dataset(spec.card.dataset, "val")
    batch = torch.stack([torch.from_numpy(spec.card.preprocessing.apply(read_image(p))[0]) for p, _ in data.samples])
    to_model = [spec.card.class_names.index(name) for name in data.class_names]  # ImageFolder sorts names
    labels = torch.tensor([to_model[label] for _, label in data.samples])
    top5 = model.eval()(batch).topk(5, 1).indices
    return {
        "top1": float((top5[:, 0] == labels).float().mean()),
        "top5": float((top5 == labels[:, None]).any(1).float().mean()),
    }


def save_half(model: torch.nn.Module, path: Path) -> torch.nn.Module:
    """Save a float16 state_dict and return the model carrying exactly those (rounded) weights."""
    state = {k: (v.half() if v.dtype.is_floating_point else v) for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    model.load_state_dict({k: v.float() if v.dtype == torch.float16 else v for k, v in state.items()})
    return model


def train(model, loader, loss_fn, epochs: int, peak_lr: float, evaluate, label: str) -> torch.nn.Module:
    opt = torch.optim.AdamW(model.parameters(), lr=peak_lr, weight_decay=5e-4)
    ema, total, step, start = EMA(model), epochs * len(loader), 0, time.time()
    for epoch in range(epochs):
        model.train()
        for batch in loader:
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, min(300, total // 10), peak_lr)
            loss, parts = loss_fn(model, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            ema.update(model)
            step += 1
            if step % 50 == 0:
                print(
                    f"[{label}] epoch {epoch} step {step}/{total} loss {np.round(parts.numpy(), 4)} "
                    f"{time.time() - start:.0f}s",
                    flush=True,
                )
        print(f"[{label}] epoch {epoch} done {time.time() - start:.0f}s: {evaluate(ema.model)}", flush=True)
    return ema.model


def train_detector(epochs: int, per_epoch: int, out: Path = WEIGHTS) -> None:
    torch.manual_seed(0)
    model = NanoDetector()
    for conv, stride in zip(model.head.cls, model.strides):  # class prior as in YOLOv8
        torch.nn.init.constant_(conv[-1].bias, math.log(5 / model.num_classes / (256 / stride) ** 2))
    for conv in model.head.box:
        torch.nn.init.constant_(conv[-1].bias, 1.0)
    criterion = DetectionLoss(model)
    ema = train(
        model,
        EpochBlocks(GeneratedDetection(epochs * per_epoch), per_epoch, epochs, collate_det),
        lambda m, b: criterion(m(b[0]), b[1]),
        epochs,
        2e-3,
        evaluate_detector,
        "nano-det",
    )
    final = evaluate_detector(save_half(ema, out / "nano_det.pt"))
    print(f"[nano-det] final (float16 weights) {final}", flush=True)


class EpochBlocks:
    """Iterable over epochs: each pass takes the next block of never-seen images, in batches of 32."""

    def __init__(self, dataset, per_epoch: int, epochs: int, collate) -> None:
        self.dataset, self.per_epoch, self.epoch, self.collate = dataset, per_epoch, 0, collate

    def __len__(self) -> int:
        return math.ceil(self.per_epoch / 32)

    def __iter__(self):
        indices = list(range(self.epoch * self.per_epoch, (self.epoch + 1) * self.per_epoch))
        self.epoch += 1
        batches = [indices[i : i + 32] for i in range(0, len(indices), 32)]
        return iter(DataLoader(self.dataset, batch_sampler=batches, num_workers=1, collate_fn=self.collate))


def train_classifier(epochs: int, per_epoch: int, out: Path = WEIGHTS) -> None:
    torch.manual_seed(0)
    model = NanoClassifier()
    ce = torch.nn.CrossEntropyLoss(label_smoothing=0.05)

    def loss_fn(m, b):
        loss = ce(m(b[0]), b[1])
        return loss, loss.detach().view(1)

    ema = train(
        model,
        EpochBlocks(GeneratedClassification(epochs * per_epoch), per_epoch, epochs, None),
        loss_fn,
        epochs,
        3e-3,
        evaluate_classifier,
        "nano-cls",
    )
    final = evaluate_classifier(save_half(ema, out / "nano_cls.pt"))
    print(f"[nano-cls] final (float16 weights) {final}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["det", "cls", "all"], default="all")
    parser.add_argument("--det-epochs", type=int, default=16)
    parser.add_argument("--det-images", type=int, default=2048, help="new images per detector epoch")
    parser.add_argument("--cls-epochs", type=int, default=8)
    parser.add_argument("--cls-images", type=int, default=4096)
    parser.add_argument("--out-dir", type=Path, default=WEIGHTS, help="where the weights go (the built-in ones)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    start = time.time()
    if args.model in ("cls", "all"):
        train_classifier(args.cls_epochs, args.cls_images, args.out_dir)
    if args.model in ("det", "all"):
        train_detector(args.det_epochs, args.det_images, args.out_dir)
    print(f"wall time {time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()

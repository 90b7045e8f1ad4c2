"""Parameter and MAC counts (Torch-Pruning's op counter) and a torch model evaluated like any artifact."""

from __future__ import annotations

import numpy as np
import torch


def model_stats(model: torch.nn.Module, example: torch.Tensor) -> dict[str, int]:
    """``params`` and ``macs`` of one forward pass on ``example`` (counted by torch_pruning)."""
    import torch_pruning as tp
    from torch_pruning.utils import op_counter

    from .rewrite import SameUpperConv2d

    # the counter looks modules up by exact type: a rewritten conv costs what a Conv2d costs
    op_counter.MODULES_MAPPING.setdefault(SameUpperConv2d, op_counter.MODULES_MAPPING[torch.nn.Conv2d])
    was_training = model.training
    model.eval()
    macs, params = tp.utils.count_ops_and_params(model, example)
    model.train(was_training)
    return {"params": int(params), "macs": int(macs)}


class TorchSession:
    """Runs a torch module in eval mode with the harness's ``run(NCHW float32) -> [outputs]`` contract."""

    def __init__(self, model: torch.nn.Module, threads: int = 2) -> None:
        self._model = model.eval()
        self.threads = threads
        torch.set_num_threads(threads)

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            out = self._model(torch.from_numpy(batch))
        outputs = out if isinstance(out, (list, tuple)) else [out]
        return [o.numpy().astype(np.float32) for o in outputs]

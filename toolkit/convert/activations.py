"""How much memory a model's activations take per image, read off its ONNX graph (export side: onnx).

Every calibration path holds at least one image's activations at a time (ORT's calibrator holds every tensor
of every image it is given; NNCF and TensorFlow's converter one image's worth while they run it), so this is
what the memory guard and ORT's calibration stride are sized by.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

_BYTES = {1: 4, 2: 1, 3: 1, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 16: 2}


def _elements(shape: list[int]) -> int:
    count = 1
    for dim in shape:
        count *= dim if dim > 0 else 1  # a dynamic (batch) dimension counts as one image
    return count


def activation_bytes(path: Path) -> int:
    """Bytes of every intermediate and output tensor of one image through the model at ``path`` (shapes from
    ONNX shape inference; a tensor whose shape cannot be inferred counts as nothing)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    # shape inference fails on a few custom ops: count what is known
    with contextlib.suppress(Exception):
        model = onnx.shape_inference.infer_shapes(model)
    total = 0
    for value in list(model.graph.value_info) + list(model.graph.output):
        tensor = value.type.tensor_type
        if not tensor.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
        total += _elements(dims) * _BYTES.get(tensor.elem_type, 4)
    return total


def input_bytes(path: Path) -> int:
    """Bytes of one image at the model's (first) input."""
    from .onnx_utils import onnx_io_specs

    spec = onnx_io_specs(path)[0][0]
    return _elements(list(spec.shape)) * 4


#: what a calibration step holds besides activations: the converter's own libraries and working copies
CALIBRATION_OVERHEAD = 384 * 1024**2


def calibration_memory_need(path: Path, images: int) -> int:
    """Bytes a calibration step over ``images`` images of the model at ``path`` needs at least: two copies of
    one image's activations (ORT's calibrator and its stacked copy; one streamed image is the least any
    calibrator holds), every calibration image at the input (onnx2tf's calibration array), three copies of the
    weights (the model, the quantized model, the runtime's), and ``CALIBRATION_OVERHEAD``."""
    return 2 * activation_bytes(path) + images * input_bytes(path) + 3 * path.stat().st_size + CALIBRATION_OVERHEAD


#: the input size the PyTorch model is probed at before it is exported at its own size
PROBE_SIZE = 64


def torch_activation_bytes(module: object, size: int) -> int | None:
    """Bytes of every leaf module's output for one ``size`` px image through ``module``, measured at
    ``PROBE_SIZE`` px and scaled by area; None when the model does not run at the probe size (a fixed-size
    classifier head), takes no forward hooks (TorchScript) or is no ``nn.Module``."""
    import torch

    if not isinstance(module, torch.nn.Module):
        return None
    total = 0

    def count(_module: object, _inputs: object, output: object) -> None:
        nonlocal total
        for tensor in output if isinstance(output, (list, tuple)) else [output]:
            if isinstance(tensor, torch.Tensor):
                total += tensor.numel() * tensor.element_size()

    hooks = []
    try:  # TorchScript modules take no hooks: no estimate for them
        for leaf in [m for m in module.modules() if not list(m.children())]:
            hooks.append(leaf.register_forward_hook(count))
        with torch.no_grad():
            module(torch.zeros(1, 3, PROBE_SIZE, PROBE_SIZE))
    except Exception:  # noqa: BLE001 - any model that cannot run at the probe size: no estimate
        return None
    finally:
        for hook in hooks:
            hook.remove()
    return int(total * (size / PROBE_SIZE) ** 2)

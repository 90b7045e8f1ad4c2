"""torch -> ONNX (legacy TorchScript exporter), onnxsim simplification, and the ORT-vs-torch parity check."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..data.calibration import CalibrationSet
from ..errors import ExportError, first_line
from ..quiet import native_output_to
from .agreement import Agreement

DEFAULT_OPSET = 17
#: parity passes when cosine >= this and max |diff| <= ATOL + RTOL * max |reference|
MIN_COSINE, ATOL, RTOL = 0.9999, 1e-4, 1e-3


def export_onnx(module: Any, size: int, path: Path, opset: int = DEFAULT_OPSET) -> None:
    """Export ``module`` for a (1, 3, size, size) input, then simplify the graph in place."""
    import torch

    dummy = torch.zeros(1, 3, size, size)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sample = module(dummy)
        outputs = [sample] if isinstance(sample, torch.Tensor) else list(sample)
        names = ["output0"] if len(outputs) == 1 else [f"output{i}" for i in range(len(outputs))]
        try:
            # PRESERVE: sources are in eval mode already, and torch.export programs refuse train()/eval()
            with native_output_to():  # on failure the exporter dumps the whole TorchScript graph to stdout
                torch.onnx.export(
                    module,
                    (dummy,),
                    str(path),
                    dynamo=False,
                    opset_version=opset,
                    input_names=["images"],
                    output_names=names,
                    do_constant_folding=True,
                    training=torch.onnx.TrainingMode.PRESERVE,
                )
        except Exception as exc:  # noqa: BLE001 - tracing errors come in many types
            hint = (
                " (PyTorch-quantized models run in PyTorch only: export the float model and pick an INT8 target)"
                if "quantized::" in str(exc)
                else ""
            )
            raise ExportError(f"torch.onnx export failed: {first_line(exc, 300)}{hint}") from None
    simplify(path)


def simplify(path: Path) -> None:
    """Run onnxsim on the file in place; keep the original if simplification cannot be validated."""
    import onnx
    import onnxsim

    model = onnx.load(str(path))
    simplified, ok = onnxsim.simplify(model)
    if ok:
        onnx.save(simplified, str(path))


def _flat(outputs: Any) -> list[np.ndarray]:
    import torch

    items = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)
    return [o.detach().numpy().astype(np.float32) for o in items]


def parity_check(module: Any, onnx_path: Path, calib: CalibrationSet) -> dict[str, float]:
    """Compare ONNX Runtime against PyTorch on calibration images: max abs error and cosine similarity."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    agreement = Agreement()
    with torch.no_grad():
        for sample in calib:
            for ref, out in zip(_flat(module(torch.from_numpy(sample))), session.run(None, {input_name: sample})):
                agreement.update(ref, out)
    if not agreement.finite:
        raise ExportError(
            f"ONNX parity check failed on {len(calib)} images: {agreement.nonfinite} output values "
            "are NaN or inf (in PyTorch or ONNX Runtime)"
        )
    max_abs, cosine = agreement.max_abs, agreement.cosine
    result = {"max_abs": max_abs, "cosine": cosine, "images": len(calib)}
    if cosine < MIN_COSINE or max_abs > ATOL + RTOL * agreement.max_ref:
        raise ExportError(
            f"ONNX parity check failed on {len(calib)} images: max_abs={max_abs:.3g} "
            f"cosine={cosine:.6f} (need cosine >= {MIN_COSINE}, max_abs <= "
            f"{ATOL + RTOL * agreement.max_ref:.3g})"
        )
    return result

"""Small ONNX helpers (export side: needs the ``onnx`` package)."""

from __future__ import annotations

from pathlib import Path

from ..manifest import TensorSpec

_ONNX_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 7: "int64", 10: "float16", 11: "float64"}


def _specs(values: list, layout: str) -> list[TensorSpec]:
    out = []
    for value in values:
        tensor = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
        out.append(TensorSpec(value.name, shape, _ONNX_DTYPES.get(tensor.elem_type, str(tensor.elem_type)), layout))
    return out


def onnx_io_specs(path: Path) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Input and output tensor specs of an ONNX model (image inputs are NCHW)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in initializers]
    return _specs(inputs, "NCHW"), _specs(list(model.graph.output), "")


def onnx_metadata(path: Path) -> dict[str, str]:
    """The model's ``metadata_props`` (Ultralytics stores ``names`` and ``imgsz`` there)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


#: the ONNX metadata key that names a detector's output format when it is not the default NMS layout
#: (``DetectionDecoding.format``: an end-to-end head's ``xyxy-topk``), so the ONNX alone says how to decode it
DECODING_FORMAT_KEY = "edgekit.decoding_format"


def stamp_decoding_format(path: Path, decoding: dict | None) -> None:
    """Write ``decoding["format"]`` into the ONNX's metadata where it is not the default (nothing otherwise)."""
    fmt = (decoding or {}).get("format")
    if fmt in (None, "xywh-scores"):
        return
    import onnx

    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = DECODING_FORMAT_KEY, str(fmt)
    onnx.save(model, str(path))

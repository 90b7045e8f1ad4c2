"""Which files an ONNX model reads its tensors from (the ``onnx`` package is imported on first use, so the
device side, where the manifest check calls this only when ``onnx`` is installed, stays light)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _tensors(graph: Any) -> list[Any]:
    """Every TensorProto of ``graph``: initializers and tensor attributes, subgraphs included."""
    found = list(graph.initializer)
    for node in graph.node:
        for attribute in node.attribute:
            found += ([attribute.t] if attribute.HasField("t") else []) + list(attribute.tensors)
            for sub in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
                found += _tensors(sub)
    return found


def external_data_locations(path: Path) -> list[str]:
    """The ``location`` of every tensor of an ONNX model whose data lives in another file (none: ``[]``)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return sorted(
        {
            entry.value
            for tensor in _tensors(model.graph)
            if tensor.data_location == onnx.TensorProto.EXTERNAL
            for entry in tensor.external_data
            if entry.key == "location"
        }
    )

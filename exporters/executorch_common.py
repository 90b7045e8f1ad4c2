"""What the two ExecuTorch targets share: lower a ``torch.export`` program (``edgekit.convert.pt2e``) with the
XNNPACK partitioner and write a ``.pte``.

These targets convert from the PyTorch model itself (``from_module``), not from the parent ONNX; the parent is
still what their outputs are checked against, and their tensors carry its names and shapes, so scoring reads
them like any other artifact. A model ``torch.export`` cannot capture, or an op the lowering refuses, is one
``EdgekitError`` line naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError, first_line
from edgekit.quiet import silenced

from .base import Conversion, parent_named_conversion

PTE_NAME = "model.pte"


def lower(program: Any, out_dir: Path) -> dict[str, int]:
    """Lower an exported program to XNNPACK and write ``model.pte``; returns how many nodes XNNPACK took and
    how many were left to ExecuTorch's portable kernels (a left-over op is named in the notes, not fatal)."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    try:
        with silenced():
            edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
            executorch_program = edge.to_executorch()
    except Exception as exc:  # noqa: BLE001 - the lowering passes raise many types
        raise EdgekitError(f"ExecuTorch lowering failed: {first_line(exc)}") from None
    (out_dir / PTE_NAME).write_bytes(executorch_program.buffer)
    return _delegation(edge.exported_program().graph_module)


def _delegation(graph_module: Any) -> dict[str, int]:
    """Delegated XNNPACK subgraphs and the ops left outside them."""
    calls = [node for node in graph_module.graph.nodes if node.op == "call_function"]
    delegated = sum(1 for node in calls if "executorch_call_delegate" in str(node.target))
    return {
        "xnnpack_subgraphs": delegated,
        "portable_ops": len(calls) - delegated - sum(1 for node in calls if "getitem" in str(node.target)),
    }


def conversion(onnx_path: Path, notes: dict[str, Any]) -> Conversion:
    """The ``Conversion`` of a written ``model.pte``."""
    return parent_named_conversion(PTE_NAME, onnx_path, "executorch", notes)

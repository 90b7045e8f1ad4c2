"""A model as a ``torch.export`` program (``.pt2``) with its model card inside: the hand-off between two
environments. An Ultralytics checkpoint loads only where Ultralytics and its torch do; ExecuTorch's wheel does
not run on that torch (docs/install.md). ``edgekit program yolo26n.pt --trust -o yolo26n.pt2`` there, then
``edgekit export yolo26n.pt2 --trust -t executorch-int8 ...`` in the ``[all]`` environment: the program holds the
graph and weights, no Ultralytics class, and a newer torch's ``.pt2`` loads in the older one (2.14.1 -> 2.13,
checked by hand on the 640 px YOLO26n: docs/install.md)."""

from __future__ import annotations

import io
from pathlib import Path

from ..card import CARD_FILE
from ..errors import ExportError
from ..fsutil import atomic_file, check_replaceable
from .pt2e import export_program
from .sources import load_source


def save_program(
    model: str,
    out: Path,
    *,
    imgsz: int | None = None,
    task: str | None = None,
    factory: str | None = None,
    trust: bool = False,
    head: str | None = None,
    force: bool = False,
) -> Path:
    """Write ``model`` (a built-in name or a PyTorch file) as a ``.pt2`` program traced at its input size, its
    card embedded (``edgekit export`` and ``compress`` read it back); returns ``out``. An ONNX model, an
    existing ``out`` without ``force`` or a name not ending in ``.pt2`` is one error, nothing written."""
    import torch

    out = Path(out)
    if out.suffix != ".pt2":
        raise ExportError(f"{out}: a torch.export program is written to a .pt2 file")
    check_replaceable(out, force)  # before the model loads: a refusal costs nothing
    source = load_source(model, task=task, imgsz=imgsz, factory=factory, trust=trust, head=head)
    if source.module is None:
        raise ExportError(f"{model} is an ONNX model: a torch.export program needs the PyTorch model")
    size = source.card.preprocessing.size
    program = export_program(source.module, torch.zeros(1, 3, size, size))
    buffer = io.BytesIO()  # torch names a path not ending in .pt2 in a warning: the temporary file's would
    torch.export.save(program, buffer, extra_files={CARD_FILE: source.card.to_json()})
    with atomic_file(out, force) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return out

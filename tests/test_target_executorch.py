"""ExecuTorch targets: from the PyTorch model (built-in or TorchScript), the detector's decode tail kept in
float by the quantizer, per-operator profiles from ETDump, what the device side imports, and one error line
for a model torch.export cannot capture or an ONNX source. Accuracy per task: test_target_contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from edgekit.bench.harness import BenchOptions
from edgekit.bench.profiling import profile_artifact
from edgekit.convert.run import export_model
from edgekit.manifest import Artifact
from torch import nn

pytestmark = pytest.mark.slow
pytest.importorskip("executorch", reason="the [executorch] extra is not installed")


@pytest.fixture(scope="module")
def exported(reference_exports) -> dict[str, Path]:
    """nano-det's shared onnx-fp32 and executorch-int8 artifacts: {target: artifact folder}."""
    rows = [reference_exports("nano-det", target) for target in ("onnx-fp32", "executorch-int8")]
    assert [row.status for row in rows] == ["ok", "ok"], rows
    return {row.target: row.path for row in rows}


def test_the_decode_tail_stays_float_and_the_rest_runs_in_int8_on_xnnpack(exported: dict[str, Path]) -> None:
    manifest = Artifact.load(exported["executorch-int8"]).manifest
    assert manifest.notes["nodes_kept_float"] > 5 and manifest.notes["xnnpack_subgraphs"] >= 1
    cosines = [value for key, value in manifest.parity_vs_parent.items() if key.startswith("cosine_")]
    assert manifest.model_file == "model.pte" and min(cosines) > 0.99  # boxes and scores
    assert manifest.outputs == Artifact.load(exported["onnx-fp32"]).manifest.outputs  # the parent's tensors
    profile = profile_artifact(exported["executorch-int8"], BenchOptions(threads=1), runs=3)
    ops = profile["ops"]
    assert {"int8", "quantize", "float"} <= {op["kind"] for op in ops} and "ETDump" in profile["method"]
    assert any("QC8" in op["name"] for op in ops if op["kind"] == "int8")  # per-channel int8 convolutions


def test_float_head_convs_keeps_the_heads_last_convolutions_float_too(exported: dict[str, Path], tmp_path: Path):
    rows = export_model(
        "nano-det",
        ["executorch-int8"],
        tmp_path,
        calib_images=8,
        overrides={"executorch-int8": {"float_head_convs": True}},
    )
    assert rows[0].status == "ok", rows[0].status
    default = Artifact.load(exported["executorch-int8"]).manifest
    with_convs = Artifact.load(rows[0].path).manifest
    assert with_convs.config["float_head_convs"] and not default.config["float_head_convs"]
    assert with_convs.notes["nodes_kept_float"] == default.notes["nodes_kept_float"] + 6  # box + class, 3 levels


def test_the_device_side_imports_executorch_and_torch_but_no_tensorflow_or_onnx(
    exported: dict[str, Path], tmp_path: Path
) -> None:
    code = (
        "import sys, json\nfrom edgekit.cli import main\n"
        f"sys.argv = ['edgekit', 'bench', {str(exported['executorch-int8'])!r}, '--runs', '3', "
        f"'--min-seconds', '0', '--json', {str(tmp_path / 'r.json')!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        "print('LOADED', json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'torch', 'tensorflow', 'onnx', 'executorch', 'onnxruntime'})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.split("LOADED ")[1].splitlines()[0])
    assert loaded == ["executorch", "torch"], loaded  # its Python API takes torch tensors
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["status"] == "ok"


class _DataDependent(nn.Module):
    """Branches on a value computed from the input: torch.export cannot capture it (the ONNX tracer records
    the branch it saw, which every image takes, so the parent ONNX still passes its parity check)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if y.abs().sum() >= 0:  # always true, but a data-dependent guard to torch.export
            return y.sum(dim=(2, 3))
        return y.amax(dim=(2, 3))


def test_a_model_export_cannot_capture_fails_its_row_in_one_line_and_the_others_go_on(tmp_path: Path) -> None:
    model = tmp_path / "branchy.pt"
    torch.save(_DataDependent().eval(), model)
    rows = export_model(
        str(model),
        ["onnx-fp32", "executorch-fp32"],
        tmp_path / "out",
        data="shapes-cls",
        task="classify",
        imgsz=32,
        trust=True,
        calib_images=4,
    )
    status = {row.target: row.status for row in rows}
    assert status["onnx-fp32"] == "ok"  # the ONNX tracer follows the branch it saw
    assert status["executorch-fp32"].startswith("export failed: torch.export cannot capture the model:")
    assert "\n" not in status["executorch-fp32"]


def test_an_onnx_source_has_no_pytorch_model_for_executorch(exported: dict[str, Path], tmp_path: Path) -> None:
    rows = export_model(
        str(exported["onnx-fp32"] / "model.onnx"),
        ["onnx-fp32", "executorch-fp32"],
        tmp_path,
        data="shapes-det",
        task="detect",
        imgsz=256,
        calib_images=4,
    )
    status = {row.target: row.status for row in rows}
    assert status["onnx-fp32"] == "ok" and "converts from the PyTorch model" in status["executorch-fp32"]


class _AnchoredHead(nn.Module):
    """A conv, the head's flattening, and anchors made from the feature map's dtype only (as Ultralytics
    does): the anchors' edge to the conv carries no values, so the conv must stay out of the decode tail."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.conv(x)
        flat = feature.view(1, 6, -1)
        anchors = torch.arange(flat.shape[2]).type_as(feature) + feature.new_full((1,), 0.5)
        return torch.cat([flat[:, :2] + anchors, flat[:, 2:].sigmoid()], dim=1)


def test_the_decode_tail_follows_values_not_shapes() -> None:
    from edgekit.convert.pt2e import decode_tail, export_program

    graph_module = export_program(_AnchoredHead().eval(), torch.rand(1, 3, 8, 8)).module()
    tail = {str(node.target) for node in decode_tail(graph_module)}
    assert any("sigmoid" in target for target in tail) and any("view" in target for target in tail)
    assert not any("conv" in target for target in tail), tail


def test_a_pt2_source_brings_its_model_card(tmp_path: Path) -> None:
    from edgekit.card import CARD_FILE
    from edgekit.convert.sources import load_source

    source = load_source("nano-cls")
    size = source.card.preprocessing.size
    program = torch.export.export(source.module, (torch.zeros(1, 3, size, size),), strict=False)
    torch.export.save(program, str(tmp_path / "m.pt2"), extra_files={CARD_FILE: source.card.to_json()})
    loaded = load_source(str(tmp_path / "m.pt2"), trust=True)
    assert loaded.card == source.card

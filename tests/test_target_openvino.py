"""OpenVINO targets: IR files, float16 weights halve the .bin, NNCF int8 inserts FakeQuantize."""

from __future__ import annotations

import pytest
from edgekit.manifest import Artifact


@pytest.fixture(scope="module")
def openvino_artifacts(reference_exports):
    rows = [reference_exports("nano-cls", t) for t in ("openvino-fp32", "openvino-fp16", "openvino-int8")]
    assert [r.status for r in rows] == ["ok"] * 3
    return {r.target: Artifact.load(r.path) for r in rows}


def test_ir_files_and_fp16_weights(openvino_artifacts):
    sizes = {name: (a.path / "model.bin").stat().st_size for name, a in openvino_artifacts.items()}
    assert all((a.path / "model.xml").is_file() for a in openvino_artifacts.values())
    assert 0.45 < sizes["openvino-fp16"] / sizes["openvino-fp32"] < 0.6


def test_int8_ir_is_quantized_and_close_to_parent(openvino_artifacts):
    int8 = openvino_artifacts["openvino-int8"]
    assert "FakeQuantize" in (int8.path / "model.xml").read_text()
    assert int8.manifest.parity_vs_parent["cosine_output"] > 0.99
    assert int8.manifest.config["preset"] == "mixed"

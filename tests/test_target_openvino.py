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


def _halved_weights(ir_dir) -> tuple[int, int]:
    """Of the IR's INT8 weight constants (NNCF stores them compressed, as i8 with a scale): how many use at most
    half the 8-bit range (|w| <= 64, OpenVINO's overflow fix), and how many there are."""
    import numpy as np
    import openvino as ov

    model = ov.Core().read_model(str(ir_dir / "model.xml"))
    weights = [
        op.get_data()
        for op in model.get_ops()
        if op.get_type_name() == "Constant" and op.get_element_type() == ov.Type.i8
    ]
    return sum(int(np.abs(w.astype(np.int16)).max()) <= 64 for w in weights), len(weights)


def test_overflow_fix_halves_the_weights_range_it_names_and_a_wrong_value_is_one_line(tmp_path):
    import edgekit

    halved = {}
    for fix in ("enable", "first_layer_only", "disable"):
        options = {"openvino-int8": {"overflow_fix": fix}}
        (row,) = edgekit.export("nano-cls", ["openvino-int8"], tmp_path / fix, calib_images=8, overrides=options)
        assert row.status == "ok"
        halved[fix], total = _halved_weights(row.path)
        assert total > 3
    # enable: the regular convs' weights on [-64, 64] (NNCF leaves depthwise ones on the full range);
    # first_layer_only (NNCF's default): the first conv only; disable: none
    assert halved["disable"] == 0
    assert halved["first_layer_only"] == 1
    assert halved["enable"] > 3
    (row,) = edgekit.export(
        "nano-cls",
        ["openvino-int8"],
        tmp_path / "bad",
        calib_images=8,
        overrides={"openvino-int8": {"overflow_fix": "always"}},
    )
    assert row.status == (
        "export failed: openvino-int8: overflow_fix must be one of enable, first_layer_only, disable, got 'always'"
    )
    assert not (tmp_path / "bad" / "openvino-int8").exists()

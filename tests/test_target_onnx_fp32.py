"""onnx-fp32: the artifact is the parity-checked parent ONNX model itself."""

from __future__ import annotations

from edgekit.fsutil import sha256_file
from edgekit.manifest import Artifact


def test_onnx_fp32_is_the_parent(artifacts):
    for path in artifacts.values():
        manifest = Artifact.load(path).manifest
        assert manifest.model_sha256 == manifest.parent_sha256 == sha256_file(path / "model.onnx")
        assert manifest.parity["cosine"] > 0.9999 and manifest.parity["max_abs"] < 1e-2
        assert manifest.inputs[0].shape == [1, 3, manifest.preprocessing.size, manifest.preprocessing.size]

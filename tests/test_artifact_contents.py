"""An artifact holds the files its manifest lists and nothing else: no stray file an ONNX model could read as
external data, no symbolic link, and every external-data location relative, inside and listed (so hashed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from edgekit.cli import app
from edgekit.errors import EdgekitError
from edgekit.fsutil import sha256_file
from edgekit.manifest import MANIFEST_NAME, Artifact
from onnx import numpy_helper
from typer.testing import CliRunner

runner = CliRunner()


def _copy(artifacts: dict, tmp_path: Path) -> Path:
    copy = tmp_path / "art"
    shutil.copytree(artifacts["nano-cls"], copy)
    return copy


def _externalise(artifact: Path, location: str, list_it: bool) -> None:
    """Move the model's largest initializer into the file ``location`` and re-hash the manifest."""
    model_file = artifact / "model.onnx"
    model = onnx.load(str(model_file))
    tensor = max(model.graph.initializer, key=lambda t: len(t.raw_data) or t.ByteSize())
    data = numpy_helper.to_array(tensor)
    target = (artifact / location).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(np.ascontiguousarray(data).tobytes())
    tensor.ClearField("raw_data"), tensor.ClearField("float_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    del tensor.external_data[:]
    tensor.external_data.add(key="location", value=location)
    onnx.save(model, str(model_file))
    manifest = json.loads((artifact / MANIFEST_NAME).read_text())
    manifest["model_sha256"] = manifest["file_sha256"]["model.onnx"] = sha256_file(model_file)
    if list_it:
        manifest["files"].append(location)
        manifest["file_sha256"][location] = sha256_file(target)
    (artifact / MANIFEST_NAME).write_text(json.dumps(manifest))


def test_a_stray_file_or_a_link_in_an_artifact_is_refused(artifacts, tmp_path):
    artifact = _copy(artifacts, tmp_path)
    Artifact.load(artifact)
    (artifact / "weights.bin").write_bytes(b"\0" * 16)
    with pytest.raises(EdgekitError, match="weights.bin is not listed in its manifest"):
        Artifact.load(artifact)
    (artifact / "weights.bin").unlink()
    (artifact / "link").symlink_to("/etc/hostname")
    with pytest.raises(EdgekitError, match="link is a symbolic link"):
        Artifact.load(artifact)


@pytest.mark.parametrize(
    "location, message",
    [
        ("../outside.bin", "external data location '../outside.bin' must be a relative path inside the artifact"),
        ("data/weights.bin", "data/weights.bin is not listed in its manifest"),
    ],
)
def test_external_data_outside_the_artifact_or_unlisted_is_refused(artifacts, tmp_path, location, message):
    artifact = _copy(artifacts, tmp_path)
    _externalise(artifact, location, list_it=False)
    with pytest.raises(EdgekitError, match=message):
        Artifact.load(artifact)
    result = runner.invoke(app, ["bench", str(artifact), "--runs", "2", "--warmup", "0"])
    assert result.exit_code != 0 and "Traceback" not in result.output and message in result.output


def test_listed_external_data_inside_the_artifact_loads_and_scores_the_same(artifacts, tmp_path):
    artifact = _copy(artifacts, tmp_path)
    _externalise(artifact, "weights.bin", True)
    Artifact.load(artifact)
    result = runner.invoke(
        app,
        [
            "bench",
            str(artifacts["nano-cls"]),
            str(artifact),
            "--runs",
            "3",
            "--warmup",
            "1",
            "--rounds",
            "1",
            "--json",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "r.json").read_text())["results"]
    assert rows[0]["metrics"] == rows[1]["metrics"]

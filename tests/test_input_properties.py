"""Property tests: any structure or type in a file edgekit reads gives a result or one ``EdgekitError`` —
never a ``KeyError``/``TypeError``/``ValueError`` that would surface as a traceback.

Each strategy starts from a valid document and replaces or deletes one part of it with arbitrary JSON-like
data (or writes arbitrary text), so the examples reach past the first check into the deeper fields.
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from edgekit.data.datasets import load_coco
from edgekit.data.yolo import _parse_label_file, load_yolo
from edgekit.errors import EdgekitError
from edgekit.manifest import Artifact
from edgekit.report.confirm import run_gate
from edgekit.report.files import to_csv, to_markdown
from edgekit.report.gate import Thresholds, load_thresholds
from edgekit.report.tables import bench_table
from edgekit.results import ResultsDocument
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: examples per property (CI: 60; set EDGEKIT_PROPERTY_EXAMPLES=1000 for a deeper hunt)
EXAMPLES = int(os.environ.get("EDGEKIT_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=6)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys/indices) into a JSON-like value, the root included."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, prefix + (index,))
    return out


@st.composite
def mutated(draw: Any, valid: Any) -> Any:
    """``valid`` with one part replaced by arbitrary data, or deleted."""
    document = copy.deepcopy(valid)
    path = draw(st.sampled_from(_paths(document)))
    if not path:
        return draw(json_values)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return document


def _ok_or_edgekit_error(call: Any) -> Any:
    try:
        return call()
    except EdgekitError:
        return None


# --- manifests ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def artifact_copy(artifacts, tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("manifest-props") / "art"
    shutil.copytree(artifacts["nano-cls"], root)
    return root, json.loads((root / "edgekit.json").read_text())


@SETTINGS
@given(data=st.data())
def test_any_manifest_loads_or_is_one_error(artifact_copy, data):
    root, valid = artifact_copy
    document = data.draw(mutated(valid))
    (root / "edgekit.json").write_text(json.dumps(document))
    artifact = _ok_or_edgekit_error(lambda: Artifact.load(root))
    if artifact is not None:  # what loads is usable: its files are inside and hash-checked
        assert artifact.model_path.resolve().parent == root.resolve() and artifact.size_bytes > 0


# --- datasets -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_detection(det_dataset_root, tmp_path_factory) -> Path:
    """Three images of the built-in val split in the YOLO layout, plus their COCO JSON."""
    root = tmp_path_factory.mktemp("small-det")
    for kind, suffix in (("images", ".png"), ("labels", ".txt")):
        (root / kind / "val").mkdir(parents=True)
        for index in range(3):
            name = f"val_{index:05d}{suffix}"
            shutil.copyfile(det_dataset_root / kind / "val" / name, root / kind / "val" / name)
    coco = json.loads((det_dataset_root / "annotations" / "instances_val.json").read_text())
    coco["images"] = coco["images"][:3]
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] <= 3]
    (root / "images" / "val" / "instances_val.json").write_text(json.dumps(coco))
    return root


@SETTINGS
@given(data=st.data())
def test_any_data_yaml_loads_or_is_one_error(small_detection, data):
    valid = {
        "path": str(small_detection),
        "train": "images/val",
        "val": "images/val",
        "names": {0: "circle", 1: "rectangle", 2: "triangle", 3: "cross", 4: "ring"},
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.yaml"
        path.write_text(yaml.safe_dump(data.draw(mutated(valid))))
        _ok_or_edgekit_error(lambda: load_yolo(path, "val"))


@SETTINGS
@given(data=st.data())
def test_any_coco_json_loads_or_is_one_error(small_detection, data):
    valid = json.loads((small_detection / "images" / "val" / "instances_val.json").read_text())
    valid["annotations"] = valid["annotations"][:2]
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=small_detection / "images" / "val") as handle:
        handle.write(json.dumps(data.draw(mutated(valid))))
        handle.flush()
        _ok_or_edgekit_error(lambda: load_coco(Path(handle.name)))


label_tokens = st.sampled_from(
    ["0", "4", "5", "-1", "0.5", "0.25", "1.5", "-0.1", "nan", "inf", "1e309", "x", "", "0.0", "3.0"]
)


@SETTINGS
@given(
    lines=st.lists(st.lists(label_tokens, max_size=7).map(" ".join), max_size=5)
    | st.text(max_size=40).map(lambda t: [t])
)
def test_any_label_file_parses_or_is_one_error(tmp_path, lines):
    label = tmp_path / "x.txt"
    label.write_text("\n".join(lines))
    objects = _ok_or_edgekit_error(lambda: _parse_label_file(label, 5, 100, 80)) or []
    for cls, (x, y, w, h) in objects:  # what is accepted is a real box inside the image
        assert 0 <= cls < 5 and all(math.isfinite(v) for v in (x, y, w, h)) and w > 0 and h > 0


# --- results and gate config ---------------------------------------------------------------------------

VALID_RESULTS = {
    "schema": 1,
    "environment": {"cpu": "test", "machine_probe_ms": {"p50": 2.0, "p50_best_round": 1.9}},
    "results": [
        {
            "target": "onnx-fp32",
            "artifact": "a/onnx-fp32",
            "status": "ok",
            "task": "detect",
            "size_bytes": 4_800_000,
            "latency_ms": {"p50": 8.0, "p90": 9.0, "p99": 9.5, "p50_best_round": 7.9, "round_p50": [7.9, 8.1]},
            "metrics": {"map50_95": 0.78, "map50": 0.88},
            "peak_rss_bytes": 1000,
            "threads": 2,
            "dataset": {"name": "shapes-det/val", "images": 200, "annotations_sha256": "ab"},
        },
        {
            "target": "ort-int8",
            "artifact": "a/ort-int8",
            "status": "ok",
            "task": "detect",
            "size_bytes": 1_300_000,
            "latency_ms": {"p50": 5.0, "p90": 6.0, "p99": 6.5, "p50_best_round": 4.9, "round_p50": [4.9, 5.2]},
            "metrics": {"map50_95": 0.77, "map50": 0.87},
            "peak_rss_bytes": 1000,
            "threads": 2,
            "drop": {"map50_95": 0.01},
            "ratio": {"p50": 0.6, "size": 0.3},
            "dataset": {"name": "shapes-det/val", "images": 200, "annotations_sha256": "ab"},
        },
    ],
}


VALID = ResultsDocument.from_dict(VALID_RESULTS)


@SETTINGS
@given(data=st.data())
def test_any_results_document_is_read_gated_and_rendered_or_is_one_error(data):
    current = _ok_or_edgekit_error(lambda: ResultsDocument.from_dict(data.draw(mutated(VALID_RESULTS))))
    if current is None:
        return
    assert ResultsDocument.from_dict(current.to_dict()) == current
    _ok_or_edgekit_error(lambda: run_gate(VALID, current, Thresholds()))
    _ok_or_edgekit_error(lambda: run_gate(current, VALID, Thresholds()))
    to_markdown(current), to_csv(current), bench_table(current)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)


toml_scalars = st.booleans() | st.integers(-(10**6), 10**6) | st.floats() | st.text(max_size=6)
gate_keys = st.sampled_from(
    [
        "max_size_growth",
        "max_latency_growth",
        "max_accuracy_drop",
        "reference",
        "absolute_latency",
        "max_reference_latency_growth",
        "bogus",
    ]
)


@SETTINGS
@given(
    top=st.dictionaries(gate_keys, toml_scalars | st.lists(st.integers(), max_size=2), max_size=4),
    targets=st.dictionaries(
        st.sampled_from(["ort-int8", "onnx-fp32", "x"]),
        st.dictionaries(gate_keys, toml_scalars, max_size=2),
        max_size=2,
    ),
)
def test_any_gate_config_loads_and_gates_or_is_one_error(tmp_path, top, targets):
    lines = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in top.items()]
    for name, table in targets.items():
        lines += [f"[targets.{json.dumps(name)}]"] + [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()]
    config = tmp_path / "gate.toml"
    config.write_text("\n".join(lines) + "\n")
    thresholds = _ok_or_edgekit_error(lambda: load_thresholds(config))
    if thresholds is not None:
        _ok_or_edgekit_error(lambda: run_gate(VALID, VALID, thresholds))

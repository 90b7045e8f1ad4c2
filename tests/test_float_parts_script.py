"""benchmarks/yolo26/int8_float_parts.py --by-module: the parts are Ultralytics' modules, N at a time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import onnx
from onnx import TensorProto, helper

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("float_parts_script", ROOT / "benchmarks/yolo26/int8_float_parts.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _chain(path: Path, names: list[str]) -> Path:
    """A chain of Relu nodes with the given names (what matters here is the names only)."""
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name=name) for i, name in enumerate(names)]
    info = [helper.make_tensor_value_info(f"t{i}", TensorProto.FLOAT, [1]) for i in (0, len(names))]
    onnx.save(helper.make_model(helper.make_graph(nodes, "chain", [info[0]], [info[1]])), str(path))
    return path


def test_modules_are_grouped_in_order_and_every_node_of_a_module_is_kept_float(tmp_path: Path) -> None:
    names = ["/model.0/conv/Conv", "/model.0/act/Sigmoid", "/model.1/conv/Conv", "/model.2/Concat",
             "/model/model.10/m/Conv", "/model.3/cv1/Conv", "Reshape_tail"]  # fmt: skip
    parts = _script().module_parts(_chain(tmp_path / "m.onnx", names), 2)
    assert list(parts) == ["defaults", "modules 0-1", "modules 2-3", "module 10"]
    assert parts["defaults"] == {}
    assert parts["modules 0-1"]["exclude_nodes"] == names[:3]
    assert parts["modules 2-3"]["exclude_nodes"] == ["/model.2/Concat", "/model.3/cv1/Conv"]
    assert parts["module 10"]["exclude_nodes"] == ["/model/model.10/m/Conv"]  # a node outside every module is in none

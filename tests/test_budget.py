"""``edgekit export --max-drop``: the accuracy-budget loop stops within budget and never scores on the images it
calibrated on, decided on elsewhere, or that ``edgekit bench`` scores."""

from __future__ import annotations

import json
from pathlib import Path

import edgekit.convert.budget as budget
import edgekit.convert.run as exporting
import pytest
from edgekit.cli import app
from edgekit.convert.graph_remedies import split_decode_tail
from edgekit.convert.run import export_model
from edgekit.data.resolve import resolve_dataset
from edgekit.errors import ExportError
from edgekit.manifest import Artifact
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def spied_budget_export(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """nano-det -> ort-int8 with --max-drop 0.3, recording every image calibrated on, ranked on and scored."""
    seen: dict[str, set[Path]] = {"calibrated": set(), "ranked": set(), "scored": set()}
    real_from_images, real_evaluate, real_rank = (
        exporting.CalibrationSet.from_images,
        budget.evaluate,
        budget.rank_layers,
    )

    def from_images(images, *args, **kwargs):
        calib = real_from_images(images, *args, **kwargs)
        seen["calibrated"] |= set(calib.images)
        return calib

    def evaluate(session, manifest, dataset, *args, **kwargs):
        seen["scored"] |= set(dataset.image_paths)
        return real_evaluate(session, manifest, dataset, *args, **kwargs)

    def rank_layers(parent, calib, images, float_nodes):
        seen["ranked"] |= set(images.images)
        assert set(calib.images) <= seen["calibrated"]
        return real_rank(parent, calib, images, float_nodes)

    patch = pytest.MonkeyPatch()
    patch.setattr(exporting.CalibrationSet, "from_images", from_images)
    patch.setattr(budget, "evaluate", evaluate)
    patch.setattr(budget, "rank_layers", rank_layers)
    try:
        root = tmp_path_factory.mktemp("budget")
        rows = export_model("nano-det", ["onnx-fp32", "ort-int8"], root, max_drop=0.3)
    finally:
        patch.undo()
    assert [row.status for row in rows] == ["ok", "ok"]
    return {"seen": seen, "artifact": root / "ort-int8", "fp32": root / "onnx-fp32"}


def test_the_loop_keeps_the_first_attempt_within_budget(spied_budget_export: dict) -> None:
    manifest = Artifact.load(spied_budget_export["artifact"]).manifest
    record = manifest.notes["accuracy_budget"]
    attempts = record["attempts"]
    assert record["max_drop_points"] == 0.3 and record["metric"] == "map50_95" and record["decide_images"] == 53
    assert attempts[-1]["drop_points"] <= 0.3 and record["drop_points"] == attempts[-1]["drop_points"]
    assert all(a["drop_points"] > 0.3 for a in attempts[:-1])
    tried = [(a["float_layers"], a.get("options", {}).get("calibration_method")) for a in attempts]
    assert tried[:2] == [(0, None), (0, "Percentile")][: len(tried)]  # the other calibration before float layers
    if len(tried) > 2:  # float steps from the calibration that dropped least
        better = min(attempts[:2], key=lambda a: a["drop_points"]).get("options", {}).get("calibration_method")
        assert tried[2:] == [(n, better) for n in [1, 2, 4, 8, 16][: len(tried) - 2]]
    assert record["options"] == attempts[-1].get("options", {})
    assert len(record["float_layers"]) == attempts[-1]["float_layers"]
    assert set(record["float_layers"]) <= set(manifest.config["exclude_nodes"])  # what the target kept float


def test_the_loop_never_scores_on_calibration_or_val_images(spied_budget_export: dict) -> None:
    seen = spied_budget_export["seen"]
    val = set(resolve_dataset("shapes-det", "val").image_paths)
    assert len(seen["scored"]) == 53 and seen["ranked"] <= seen["scored"]
    assert not seen["scored"] & seen["calibrated"]
    assert not seen["scored"] & val and not seen["calibrated"] & val


def test_the_budget_artifact_benches_against_its_parent(spied_budget_export: dict, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            str(spied_budget_export["artifact"]),
            str(spied_budget_export["fp32"]),
            "--runs",
            "2",
            "--min-seconds",
            "0",
            "--rounds",
            "1",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    row, parent = json.loads(out.read_text())["results"]
    assert row["parent"] == "onnx-fp32" and "map50_95" in row["drop"]
    # the decision travels with the row it measured: each attempt's drop on the decide images, the float layers
    budget = row["accuracy_budget"]
    assert budget["max_drop_points"] == 0.3 and budget["attempts"][-1]["drop_points"] <= 0.3
    assert "accuracy_budget" not in parent


def test_a_budget_that_cannot_be_met_fails_that_target_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(budget, "FLOAT_STEPS", ())  # all layers int8: the default calibration, then Percentile
    monkeypatch.setattr(
        budget, "score", lambda artifact, dataset: 0.0 if artifact.manifest.target != "fp32-parent" else 50.0
    )  # a 50-point drop, whatever the model
    rows = export_model("nano-det", ["ort-int8", "onnx-fp32"], tmp_path, max_drop=0.5)
    assert rows[0].status.startswith(
        "export failed: accuracy budget 0.5 pt not met on 53 held-out images after 2 attempt(s): best 50.00"
    )
    assert rows[0].status.endswith(
        "(tried 0 float: 50.00 pt, calibration_method=Percentile, 0 float: 50.00 pt)"
    )  # every attempt, for the user to judge
    assert not (tmp_path / "ort-int8").exists() and rows[1].status == "ok"  # targets without float layers go on
    assert [p.name for p in tmp_path.iterdir()] == ["onnx-fp32"]


def test_openvino_s_budget_tries_the_overflow_fix_in_every_convolution(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(budget, "FLOAT_STEPS", ())
    monkeypatch.setattr(
        budget, "score", lambda artifact, dataset: 0.0 if artifact.manifest.target != "fp32-parent" else 50.0
    )  # never within budget: every attempt is named in the failure
    (row,) = export_model("nano-det", ["openvino-int8"], tmp_path, max_drop=0.5)
    assert row.status.endswith("(tried 0 float: 50.00 pt, overflow_fix=enable, 0 float: 50.00 pt)"), row.status
    assert not (tmp_path / "openvino-int8").exists()


@pytest.mark.parametrize("data_kind", ["coco-json", "too-few"])
def test_data_without_a_held_out_split_is_refused_in_one_line(
    data_kind: str, det_dataset_root: Path, tmp_path: Path
) -> None:
    if data_kind == "coco-json":
        data = det_dataset_root / "annotations" / "instances_val.json"  # one file: calibration = val
        expected = "needs a calibration split apart from the val split"
    else:
        root = tmp_path / "folder"
        for split, count in (("calib", 60), ("val", 4)):
            (root / split / "circle").mkdir(parents=True)
            for index in range(count):
                source = next((det_dataset_root / "images" / "val").iterdir())
                (root / split / "circle" / f"{index}.png").write_bytes(source.read_bytes())
        data = root
        expected = "needs at least 64 images in the calibration split"
    model = "nano-det" if data_kind == "coco-json" else "nano-cls"
    result = CliRunner().invoke(
        app, ["export", model, "-t", "ort-int8", "-o", str(tmp_path / "out"), "--data", str(data), "--max-drop", "0.3"]
    )
    assert result.exit_code == 2 and expected in result.output and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "out").exists()


def test_max_drop_must_be_points(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "nano-det", "-t", "ort-int8", "-o", str(tmp_path), "--max-drop", "-1"])
    assert result.exit_code == 2 and "--max-drop must be a number of points in [0, 100]" in result.output


def test_a_float_tail_cannot_swallow_the_whole_model(artifacts: dict, tmp_path: Path) -> None:
    import onnx

    model = artifacts["nano-det"] / "model.onnx"
    first = next(n.name for n in onnx.load(str(model)).graph.node if n.op_type == "Conv")
    with pytest.raises(ExportError, match="no integer body"):
        split_decode_tail(model, tmp_path / "b.onnx", tmp_path / "t.onnx", [first])
    with pytest.raises(ExportError, match="no node named 'nope'"):
        split_decode_tail(model, tmp_path / "b.onnx", tmp_path / "t.onnx", ["nope"])
    head = [n.name for n in onnx.load(str(model)).graph.node if n.op_type == "Conv"][-3]
    assert split_decode_tail(model, tmp_path / "b.onnx", tmp_path / "t.onnx", [head])
    assert head in {n.name for n in onnx.load(str(tmp_path / "t.onnx")).graph.node}
    assert head not in {n.name for n in onnx.load(str(tmp_path / "b.onnx")).graph.node}


def test_layers_a_target_cannot_keep_in_float_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control flow only: ``attempt`` refuses layer "a" (as TFLite refuses a float tail that swallows the model),
    so the loop retries the step with the next-ranked layer; the drop here is what the fake scores say."""
    drops = {(): 0.9, ("b",): 0.5, ("b", "c"): 0.2}
    monkeypatch.setattr(budget, "score", lambda artifact, dataset: 50.0 - drops[artifact])
    tried = []

    def attempt(layers: list[str], index: int, options: dict):
        tried.append(tuple(layers))
        if "a" in layers:
            raise ExportError("no integer body")
        return tuple(layers)

    decide = resolve_dataset("shapes-det", "calib")
    chosen, outcome = budget.run_budget(0.3, 50.0, "map50_95", decide, lambda: ["a", "b", "c", "d"], attempt)
    assert tried == [(), ("a",), ("b",), ("b", "c")] and chosen == ("b", "c")
    assert [a.get("error") is not None for a in outcome.attempts] == [False, True, False, False]
    assert outcome.float_layers == ["b", "c"] and outcome.drop == pytest.approx(0.2)


def test_other_calibrations_are_tried_before_layers_go_float(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control flow only: the alternative drops less than the configured calibration, so the float steps
    start from it; the drop here is what the fake scores say."""
    drops = {((), ""): 0.9, ((), "Percentile"): 0.5, (("a",), "Percentile"): 0.2, (("a",), ""): 0.6}
    monkeypatch.setattr(budget, "score", lambda artifact, dataset: 50.0 - drops[artifact])

    def attempt(layers: list[str], index: int, options: dict):
        return tuple(layers), options.get("calibration_method", "")

    decide = resolve_dataset("shapes-det", "calib")
    alternatives = [{"calibration_method": "Percentile"}]
    chosen, outcome = budget.run_budget(0.3, 50.0, "map50_95", decide, lambda: ["a", "b"], attempt, alternatives)
    assert chosen == (("a",), "Percentile") and outcome.options == {"calibration_method": "Percentile"}
    assert [(a["float_layers"], a.get("options")) for a in outcome.attempts] == [
        (0, None),
        (0, {"calibration_method": "Percentile"}),
        (1, {"calibration_method": "Percentile"}),
    ]
    monkeypatch.setattr(budget, "score", lambda artifact, dataset: 49.0)  # a 1-point drop whatever is tried
    with pytest.raises(ExportError) as failed:
        budget.run_budget(0.3, 50.0, "map50_95", decide, lambda: ["a"], attempt, alternatives)
    assert "calibration_method=Percentile, 0 float: 1.00 pt" in str(failed.value)


def test_a_calibration_the_user_chose_is_kept_by_the_budget() -> None:
    from edgekit.registry import get_target

    for name, other in (("ort-int8", "Percentile"), ("tflite-int8", "MinMax")):
        target = get_target(name)
        default = target.config_cls()
        assert exporting.budget_alternatives(target, default) == [{"calibration_method": other}]
        chosen = default.with_overrides({"calibration_method": "Entropy" if name == "ort-int8" else "MinMax"})
        assert exporting.budget_alternatives(target, chosen) == []
    openvino = get_target("openvino-int8")
    assert exporting.budget_alternatives(openvino, openvino.config_cls()) == [{"overflow_fix": "enable"}]
    chosen = openvino.config_cls().with_overrides({"overflow_fix": "disable"})
    assert exporting.budget_alternatives(openvino, chosen) == []


def test_a_recipe_takes_max_drop_and_checks_it(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        'model = "nano-det"\ndata = "shapes-det"\noutput = "out"\n[export]\ntargets = ["ort-int8"]\n'
        'max_drop = "a lot"\n'
    )
    result = CliRunner().invoke(app, ["pipeline", str(recipe)])
    assert result.exit_code == 2 and "max_drop must be int or float" in result.output, result.output
    assert result.output.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_plain_conversion_failure_is_the_targets_own_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def attempt(layers: list[str], index: int, options: dict):
        raise ExportError("TFLite converter (int8): unsupported op")

    decide = resolve_dataset("shapes-det", "calib")
    with pytest.raises(ExportError, match="unsupported op"):
        budget.run_budget(0.3, 50.0, "map50_95", decide, lambda: ["a"], attempt)


def test_a_ranking_used_up_by_refusals_ends_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "score", lambda artifact, dataset: 49.0)  # a 1-point drop, whatever is float
    calls = []

    def attempt(layers: list[str], index: int, options: dict):
        if layers:
            raise ExportError("no integer body")
        return ()

    def ranking() -> list[str]:
        calls.append(1)
        return ["a", "b"]

    decide = resolve_dataset("shapes-det", "calib")
    with pytest.raises(ExportError, match="after 3 attempt"):
        budget.run_budget(0.3, 50.0, "map50_95", decide, ranking, attempt)
    assert calls == [1]  # ranked once, never again once every layer was refused

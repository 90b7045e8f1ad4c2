"""edgekit compress: prunable rewrite, structured/unstructured pruning, distillation, the CLI contract."""

from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest
import torch
from edgekit.cli import app
from edgekit.compress.images import distillation_images, probe_images, training_stream
from edgekit.compress.prunable import make_prunable
from edgekit.compress.pruning import (
    PruneOptions,
    output_layers,
    prune_structured,
    prune_unstructured,
    quantize_dynamic,
    sparsity,
)
from edgekit.compress.stats import model_stats
from edgekit.convert.sources import load_source
from edgekit.errors import EdgekitError
from PIL import Image
from torch import nn
from typer.testing import CliRunner

runner = CliRunner()


def _model(name: str) -> tuple[nn.Module, torch.Tensor]:
    source = load_source(name)
    size = source.card.preprocessing.size
    return source.module, torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))


def test_prunable_rewrite_keeps_the_detector_outputs():
    model, x = _model("nano-det")
    with torch.no_grad():
        want = model(x)
        got = make_prunable(model)(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-4)


def test_output_layers_are_the_heads_final_layers():
    model, x = _model("nano-det")
    names = {id(m): n for n, m in model.named_modules()}
    found = {names[id(m)] for m in output_layers(model, x)}
    assert found == {f"head.{kind}.{level}.2" for kind in ("box", "cls") for level in range(3)} | {"head.dfl.conv"}


@pytest.mark.parametrize("by", ["macs", "channels"])
def test_structured_pruning_cuts_macs_and_keeps_the_output_shape(by):
    model, x = _model("nano-cls")
    before, want_shape = model_stats(model, x), model(x).shape
    prune_structured(model, x, PruneOptions(0.5, by=by))
    after = model_stats(model, x)
    assert after["macs"] < (0.55 if by == "macs" else 0.8) * before["macs"]
    assert model(x).shape == want_shape
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups == 1 and m.out_channels > 8]
    assert all(m.out_channels % 8 == 0 for m in convs)  # round_to


def test_unstructured_pruning_zeroes_weights_but_keeps_shapes():
    model, x = _model("nano-cls")
    before = model_stats(model, x)
    prune_unstructured(model, 0.5)
    assert sparsity(model) == pytest.approx(0.5, abs=0.02)
    assert model_stats(model, x) == before


class CutOffLayer(nn.Module):
    """A forward that leaves autograd (``.numpy()``): Torch-Pruning cannot see ``a``'s consumers."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.fc = nn.Conv2d(3, 16, 3), nn.Conv2d(16, 16, 3), nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.from_numpy(self.a(x).detach().numpy())
        return self.fc(self.b(y).mean((2, 3)))


class DictOutput(CutOffLayer):
    def forward(self, x: torch.Tensor) -> dict:  # type: ignore[override]
        return {"logits": self.fc(self.b(self.a(x)).mean((2, 3)))}


@pytest.mark.parametrize(
    "model, message", [(CutOffLayer, "cut off from the autograd graph"), (DictOutput, "returns dict")]
)
def test_untraceable_models_are_refused_before_pruning(model, message):
    instance = model()
    with pytest.raises(EdgekitError, match=message):
        prune_structured(instance, torch.zeros(1, 3, 32, 32), PruneOptions(0.5))
    assert instance.b.out_channels == 16  # untouched


def test_untraceable_user_model_is_one_cli_error_line(tmp_path, monkeypatch, recwarn):
    (tmp_path / "cutoff_models.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass CutOff(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.a, self.b, self.fc = nn.Conv2d(3, 16, 3), nn.Conv2d(16, 16, 3), nn.Linear(16, 5)\n\n"
        "    def forward(self, x):\n        y = torch.from_numpy(self.a(x).detach().numpy())\n"
        "        return self.fc(self.b(y).mean((2, 3)))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    weights = tmp_path / "cutoff.pt"
    torch.save(CutOffLayer().state_dict(), weights)
    result = runner.invoke(
        app,
        [
            "compress",
            str(weights),
            "--factory",
            "cutoff_models:CutOff",
            "--task",
            "classify",
            "--imgsz",
            "32",
            "--data",
            "shapes-cls",
            "--prune",
            "0.5",
            "-o",
            str(tmp_path / "out.pt"),
        ],
    )
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "cannot trace" in result.output and not (tmp_path / "out.pt").exists()
    assert not [w for w in recwarn if "Tracer" in type(w.message).__name__]  # refused before any tracing


def test_empty_image_folder_is_one_cli_error_line(tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(
        app, ["compress", "nano-cls", "--distill", "--images", str(tmp_path / "empty"), "-o", str(tmp_path / "out.pt")]
    )
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "no images in" in result.output and not (tmp_path / "out.pt").exists()


def test_distillation_images_come_from_the_train_stream_or_a_folder(tmp_path):
    pre = load_source("nano-det").card.preprocessing
    fixed, origin = distillation_images(pre, 4, data="shapes-det")
    assert fixed is None and origin.startswith("shapes-det/train")  # built-in data: a stream, never val
    stream = training_stream("shapes-det", pre, 4)
    canvases, again, later = stream(0), training_stream("shapes-det", pre, 4)(0), stream(1)
    assert canvases.shape == (4, pre.size, pre.size, 3) and canvases.dtype == np.uint8
    assert np.array_equal(canvases, again) and not np.array_equal(canvases, later)  # deterministic, new each epoch
    assert np.array_equal(training_stream("shapes-det", pre, 4, first_epoch=1)(0), later)  # rounds continue it
    folder = tmp_path / "unlabelled" / "nested"
    folder.mkdir(parents=True)
    for index in range(5):
        Image.fromarray(canvases[index % 4]).save(folder / f"{index}.png")
    picked, origin = distillation_images(pre, 3, folder=tmp_path / "unlabelled")
    assert picked.shape[0] == 3 and origin == str(tmp_path / "unlabelled")


def _yolo_copy(det_dataset_root, root, splits):
    """A YOLO dataset at ``root`` whose ``splits`` (name -> folder) all hold the built-in calib images."""
    for split in splits:
        for kind in ("images", "labels"):
            shutil.copytree(det_dataset_root / kind / "calib", root / kind / split)
    lines = "".join(f"{split}: images/{split}\n" for split in splits)
    (root / "data.yaml").write_text(f"path: .\n{lines}names: [circle, rectangle, triangle, cross, ring]\n")
    return root / "data.yaml"


def test_distillation_refuses_val_images_but_idle_probing_may_look_at_them(tmp_path, det_dataset_root):
    val_only = _yolo_copy(det_dataset_root, tmp_path / "val-only", ["val"])  # YOLO's train falls back to val
    pre = load_source("nano-det").card.preprocessing
    with pytest.raises(EdgekitError, match="train images are val images"):
        distillation_images(pre, 4, data=str(val_only))
    assert probe_images(pre, 4, str(val_only)).shape == (4, pre.size, pre.size, 3)
    separate = _yolo_copy(det_dataset_root, tmp_path / "both", ["train", "val"])  # same pixels, other files
    picked, origin = distillation_images(pre, 4, data=str(separate))
    assert picked.shape == (4, pre.size, pre.size, 3) and origin.endswith("/train")
    result = runner.invoke(
        app, ["compress", "nano-det", "--distill", "--data", str(val_only), "-o", str(tmp_path / "out.pt")]
    )
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "pass --images DIR" in result.output and not (tmp_path / "out.pt").exists()


def test_dynamic_quantization_covers_linear_layers_only():
    model, x = _model("nano-cls")
    with torch.no_grad():
        want = model(x)
    quantized, layers = quantize_dynamic(model)
    assert layers == 1 and type(quantized.classifier).__module__.startswith("torch.ao.nn.quantized.dynamic")
    with torch.no_grad():
        assert torch.nn.functional.cosine_similarity(quantized(x), want).item() > 0.999
    detector, _ = _model("nano-det")
    assert quantize_dynamic(detector)[1] == 0  # a convolutional detector has nothing to quantize


def test_bad_ratios_and_non_module_sources_are_one_line_errors(artifacts, tmp_path):
    for args in (["--prune", "1.5"], ["--unstructured", "0"], ["--prune", "0.5", "--prune-by", "flops"]):
        result = runner.invoke(app, ["compress", "nano-cls", "-o", str(tmp_path / "m.pt"), *args])
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    result = runner.invoke(
        app, ["compress", str(artifacts["nano-cls"] / "model.onnx"), "-o", str(tmp_path / "m.pt"), "--prune", "0.5"]
    )
    assert result.exit_code == 2 and "needs a PyTorch nn.Module" in result.output
    assert not list(tmp_path.iterdir())


def test_a_layer_pruned_to_no_channels_is_refused():
    """Torch-Pruning keeps int(channels * (1 - ratio)) channels per step; should that reach 0 (it keeps at least
    one on the built-in models even at --prune 0.99), the layer computes nothing: refused, not written."""
    from edgekit.compress.pruning import _refuse_empty_layers

    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 0, 1))
    with pytest.raises(EdgekitError, match="leaves 1 layer.* with no channels"):
        _refuse_empty_layers(model, PruneOptions(0.99))
    _refuse_empty_layers(nn.Sequential(nn.Conv2d(3, 1, 3)), PruneOptions(0.99))


@pytest.mark.slow
def test_compress_cli_writes_a_report_and_a_model_export_accepts(tmp_path):
    out, report = tmp_path / "small.pt", tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            "compress",
            "nano-cls",
            "--prune",
            "0.5",
            "--prune-by",
            "macs",
            "--recover",
            "kd",
            "--epochs",
            "2",
            "--kd-images",
            "256",
            "--dynamic-quant",
            "-o",
            str(out),
            "--json",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "recover epoch 2" in result.output  # the progress bar
    document = json.loads(report.read_text())
    steps = [s["step"] for s in document["steps"]]
    assert document["schema"] == 1 and steps == ["prune", "distill", "dynamic_quant"]
    distilled, quantized = document["steps"][1:]
    assert distilled["images_per_epoch"] == 256 and distilled["new_images_every_epoch"]
    assert distilled["images_from"].startswith("shapes-cls/train")
    assert quantized["params"] == distilled["params"] and quantized["linear_layers"] == 1
    assert abs(quantized["metrics"]["top1"] - distilled["metrics"]["top1"]) <= 0.02
    for side in ("before", "after"):
        assert {"params", "macs", "size_bytes", "metrics"} <= set(document[side])
    assert document["after"]["macs"] <= 0.5 * document["before"]["macs"]
    result = runner.invoke(app, ["export", str(out), "-t", "onnx-fp32", "-o", str(tmp_path / "art"), "--trust"])
    assert result.exit_code == 2 and "PyTorch-quantized models run in PyTorch only" in result.output
    result = runner.invoke(app, ["compress", "nano-cls", "--prune", "0.5", "-o", str(tmp_path / "float.pt")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export", str(tmp_path / "float.pt"), "-t", "onnx-fp32", "-o", str(tmp_path / "art")])
    assert result.exit_code == 2 and "TorchScript file: loading it runs code" in result.output  # trust needed
    result = runner.invoke(
        app, ["export", str(tmp_path / "float.pt"), "-t", "onnx-fp32", "-o", str(tmp_path / "art"), "--trust"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "art" / "onnx-fp32" / "edgekit.json").read_text())
    assert manifest["task"] == "classify" and manifest["preprocessing"]["size"] == 64
    assert manifest["dataset"] == "shapes-cls" and manifest["class_names"][0] == "circle"
    assert not (tmp_path / "float.pt.json").exists()  # the model card travels inside the TorchScript file


def test_feature_mimic_finds_the_detector_head_and_bridges_pruned_widths():
    from edgekit.compress.features import FeatureMimic, head_module_name

    teacher, x = _model("nano-det")
    assert head_module_name(teacher, x) == "head"
    assert head_module_name(_model("nano-cls")[0], torch.zeros(1, 3, 64, 64)) is None  # one output layer
    student = copy.deepcopy(teacher)
    prune_structured(student, x, PruneOptions(0.5, by="macs"))
    mimic = FeatureMimic(teacher, student, "head", x.repeat(2, 1, 1, 1))
    assert [a.out_channels for a in mimic.adapters] == [48, 80, 128]
    assert [a.in_channels for a in mimic.adapters] < [48, 80, 128]
    teacher.train(), student.train()  # distillation runs both in training (raw-output) mode
    with torch.no_grad():
        teacher(x)
    assert mimic.loss().item() == 0.0  # nothing recorded for the student yet: no pair, no loss
    with torch.no_grad():
        student.eval()(x), teacher.eval()(x)
    assert mimic.loss().item() == 0.0  # eval-mode forwards (scoring between steps) record nothing
    teacher.train()(x), student.train()(x)
    loss = mimic.loss()
    loss.backward()
    assert loss.item() > 0 and all(a.weight.grad is not None for a in mimic.adapters)
    mimic.remove()

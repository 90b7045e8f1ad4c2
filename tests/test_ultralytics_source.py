"""Ultralytics checkpoints as a model source. CI has no Ultralytics (6 GB, AGPL, needs a torchvision that does not
load beside the CPU torch): there the refusals are tested on the committed real checkpoint; where Ultralytics
imports (``pip install -e '.[ultralytics]'`` in its own venv), YOLOv8 / YOLO11 detect checkpoints are exported
and a segmentation one is refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from cli_lines import one_error_line
from edgekit.cli import app
from edgekit.convert.ultralytics import is_ultralytics_checkpoint
from edgekit.manifest import Artifact
from typer.testing import CliRunner

CHECKPOINT = Path(__file__).parent.parent / "benchmarks" / "models" / "yolov8n-shapes.pt"
CORPUS = Path(__file__).parent / "corpus"
HAS_ULTRALYTICS = importlib.util.find_spec("ultralytics") is not None
runner = CliRunner()


_one_line = one_error_line


def test_a_checkpoint_is_recognised_from_its_opcodes_without_running_them():
    assert is_ultralytics_checkpoint(CHECKPOINT)
    for name in ("malicious.pkl", "malicious-zip.pt", "random.bin", "empty.bin", "truncated.zip"):
        assert not is_ultralytics_checkpoint(CORPUS / name)


def test_without_the_trust_flag_the_pickle_is_refused(tmp_path):
    line = _one_line(["export", str(CHECKPOINT), "-t", "onnx-fp32", "-o", str(tmp_path / "o"), "--data", "shapes-det"])
    assert "Ultralytics checkpoint, a pickle" in line and "--trust" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(HAS_ULTRALYTICS, reason="Ultralytics is installed here")
def test_without_ultralytics_the_extra_is_named(tmp_path):
    line = _one_line(
        ["export", str(CHECKPOINT), "-t", "onnx-fp32", "-o", str(tmp_path / "o"), "--data", "shapes-det", "--trust"]
    )
    assert "edgekit-deploy[ultralytics]" in line and not (tmp_path / "o").exists()


@pytest.mark.skipif(HAS_ULTRALYTICS, reason="Ultralytics is installed here")
def test_a_trusted_recipe_takes_its_trust_to_the_compress_stage(tmp_path):
    """``trust = true`` plus ``--trust`` reaches compress, not only export: it once stopped there with "pass
    --trust" on an Ultralytics checkpoint; now it gets as far as loading it (here: the missing extra)."""
    recipe = tmp_path / "r.toml"
    recipe.write_text(
        f'model = "{CHECKPOINT}"\ndata = "shapes-det"\noutput = "run"\ntrust = true\n[compress]\nunstructured = 0.3\n'
    )
    line = _one_line(["pipeline", str(recipe), "--trust"])
    assert "edgekit-deploy[ultralytics]" in line and "pass --trust" not in line and not (tmp_path / "run").exists()


@pytest.mark.skipif(not HAS_ULTRALYTICS, reason="needs the ultralytics extra (its own venv)")
def test_the_real_checkpoint_exports_like_yolo_export(tmp_path):
    """Same output convention and numbers as the ONNX that ``yolo export format=onnx`` wrote of it."""
    import onnxruntime as ort

    result = runner.invoke(
        app,
        ["export", str(CHECKPOINT), "-t", "onnx-fp32", "-o", str(tmp_path / "o"), "--data", "shapes-det", "--trust"],
    )
    assert result.exit_code == 0, result.output
    manifest = Artifact.load(tmp_path / "o" / "onnx-fp32").manifest
    assert manifest.task == "detect" and manifest.preprocessing.size == 256
    assert manifest.class_names == ["circle", "rectangle", "triangle", "cross", "ring"]
    assert manifest.outputs[0].shape == [1, 9, 1344] and manifest.parity["cosine"] > 0.9999
    x = np.random.default_rng(0).random((1, 3, 256, 256), dtype=np.float32)
    ours = ort.InferenceSession(str(tmp_path / "o" / "onnx-fp32" / "model.onnx")).run(None, {"images": x})[0]
    theirs = ort.InferenceSession(str(CHECKPOINT.with_suffix(".onnx"))).run(None, {"images": x})[0]
    assert np.abs(ours - theirs).max() < 1e-2 * np.abs(theirs).max()


@pytest.mark.skipif(not HAS_ULTRALYTICS, reason="needs the ultralytics extra (its own venv)")
@pytest.mark.parametrize(
    "config, error", [("yolov8n.yaml", None), ("yolo11n.yaml", None), ("yolov8n-seg.yaml", "'segment' model")]
)
def test_tiny_checkpoints_of_each_family(tmp_path, config, error):
    from ultralytics import YOLO

    path = tmp_path / config.replace(".yaml", ".pt")
    YOLO(config).save(str(path))  # built offline from its yaml: random weights, a real checkpoint layout
    args = [
        "export",
        str(path),
        "-t",
        "onnx-fp32",
        "-o",
        str(tmp_path / "o"),
        "--data",
        "shapes-det",
        "--trust",
        "--imgsz",
        "64",
    ]
    if error:
        assert error in _one_line(args) and not (tmp_path / "o").exists()
        return
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert Artifact.load(tmp_path / "o" / "onnx-fp32").manifest.outputs[0].shape[:2] == [1, 84]


@pytest.mark.skipif(not HAS_ULTRALYTICS, reason="needs the ultralytics extra (its own venv)")
@pytest.mark.parametrize("config, prune", [("yolov8n.yaml", True), ("yolo11n.yaml", True)])
def test_ultralytics_blocks_become_prunable_with_identical_outputs(config, prune):
    """C2f / C3k2 ``chunk`` splits are rewritten into two convs (Ultralytics' routing attributes kept), and
    Torch-Pruning then prunes YOLOv8 and YOLO11 with their output layers untouched; YOLO11's C2PSA attention
    is opaque to the tracer (it once took over 20 GB), which stays within its budget."""
    import copy

    import torch
    from edgekit.compress.prunable import SplitC2f, make_prunable
    from edgekit.compress.pruning import PruneOptions, prune_structured
    from edgekit.compress.stats import model_stats
    from edgekit.convert.ultralytics import ultralytics_source
    from edgekit.models.ultralytics_raw import UltralyticsDetector
    from ultralytics import YOLO

    frozen = YOLO(config).model.requires_grad_(False)  # a checkpoint's EMA weights arrive frozen
    checkpoint = {"model": frozen, "train_args": {"imgsz": 64}}
    model = ultralytics_source(checkpoint, Path(config), None, None)["module"]
    assert isinstance(model, UltralyticsDetector)
    from edgekit.compress.pruning import output_layers

    names = {id(m): n for n, m in model.named_modules()}
    head = f"model.model.{len(model.model.model) - 1}."
    kept = [names[id(m)] for m in output_layers(model, torch.rand(1, 3, 64, 64))]
    assert len(kept) == 7 and all(n.startswith(head) for n in kept)  # the six final convs and the fixed DFL
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
        split = make_prunable(copy.deepcopy(model)).eval()
        assert any(isinstance(m, SplitC2f) for m in split.modules())
        assert torch.allclose(split(x), before, atol=1e-4)
    if not prune:
        return
    macs = model_stats(split, x)["macs"]
    import resource

    prune_structured(split, x, PruneOptions(0.5, by="macs"))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 4 * 1024**2  # KiB: under 4 GB peak
    assert model_stats(split, x)["macs"] <= 0.6 * macs
    with torch.no_grad():
        assert split.eval()(x).shape == before.shape  # same outputs: 4 + nc rows per anchor
    split.train()
    raw = split(torch.rand(2, 3, 64, 64))  # training mode: edgekit's raw per-level maps for distillation
    assert [r.shape[2:] for r in raw] == [torch.Size([8, 8]), torch.Size([4, 4]), torch.Size([2, 2])]


@pytest.mark.skipif(not HAS_ULTRALYTICS, reason="needs the ultralytics extra (its own venv)")
@pytest.mark.parametrize("config", ["yolov8n.yaml", "yolo11n.yaml"])
def test_a_pruned_checkpoint_recovers_with_ultralytics_loss_and_comes_back_as_an_ultralytics_model(tmp_path, config):
    """Recovery on labels uses Ultralytics' own v8DetectionLoss; the pruned model is also written as an
    Ultralytics checkpoint that ``YOLO()`` loads, ``val`` scores and Ultralytics' trainer trains further."""
    import json
    import shutil

    from edgekit.calibration_data.build import ensure_dataset
    from ultralytics import YOLO
    from ultralytics.models.yolo.detect import DetectionTrainer

    source = ensure_dataset("shapes-det")
    root = tmp_path / "shapes"  # a copy: Ultralytics writes labels/*.cache beside the labels it reads
    for kind in ("images", "labels"):
        for split in ("calib", "val"):
            shutil.copytree(source / kind / split, root / kind / split)
    data = tmp_path / "data.yaml"
    data.write_text(
        f"path: {root}\ntrain: images/calib\nval: images/val\nnames: [circle, rectangle, triangle, cross, ring]\n"
    )
    import torch
    from ultralytics.nn.tasks import DetectionModel

    net = DetectionModel(config, nc=5, verbose=False)
    net.names = {i: name for i, name in enumerate(["circle", "rectangle", "triangle", "cross", "ring"])}
    checkpoint = tmp_path / config.replace(".yaml", ".pt")
    torch.save({"model": net, "train_args": {"imgsz": 64}}, checkpoint)  # a 5-class checkpoint, random weights
    out, report = tmp_path / "small.pt", tmp_path / "r.json"
    result = runner.invoke(
        app,
        [
            "compress",
            str(checkpoint),
            "--trust",
            "--prune",
            "0.3",
            "--prune-by",
            "macs",
            "--recover",
            "labels",
            "--epochs",
            "1",
            "--kd-images",
            "32",
            "--data",
            str(data),
            "--imgsz",
            "64",
            "-o",
            str(out),
            "--json",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    recovered = document["steps"][-1]
    assert recovered["task_loss"] == "UltralyticsDetector.task_criterion" and recovered["recovered_with"] == "labels"
    native = Path(document["native_checkpoint"])
    assert native == tmp_path / "small-ultralytics.pt"
    model = YOLO(str(native))
    params = sum(p.numel() for p in model.model.parameters())
    assert params == document["after"]["params"] < document["before"]["params"]
    metrics = model.val(data=str(data), imgsz=64, batch=8, device="cpu", plots=False, verbose=False)
    assert 0.0 <= metrics.box.map <= 1.0
    trainer = DetectionTrainer(
        overrides={
            "model": str(native),
            "data": str(data),
            "epochs": 1,
            "imgsz": 64,
            "device": "cpu",
            "plots": False,
            "fraction": 0.1,
            "workers": 0,
            "batch": 8,
            "project": str(tmp_path / "runs"),
            "name": "p",
            "amp": False,
        }
    )
    trainer.model = model.model  # the trainer keeps a model it is given instead of rebuilding it from the yaml
    trainer.train()
    assert sum(p.numel() for p in YOLO(str(trainer.last)).model.parameters()) == params


@pytest.mark.skipif(not HAS_ULTRALYTICS, reason="needs the ultralytics extra (its own venv)")
@pytest.mark.parametrize("imgsz", ["650", "0"])
def test_an_imgsz_off_the_models_stride_is_one_line(tmp_path, imgsz):
    args = ["export", str(CHECKPOINT), "--trust", "-t", "onnx-fp32", "-o", str(tmp_path / "o"), "--imgsz", imgsz]
    line = _one_line(args + ["--data", "shapes-det"])
    assert ("stride 32" in line and "640 or 672" in line) if imgsz == "650" else "--imgsz must be in" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(not HAS_ULTRALYTICS, reason="needs the ultralytics extra (its own venv)")
def test_an_imgsz_too_large_for_this_machine_is_refused_before_the_export(tmp_path):
    """YOLO11n at 8192 px needs ~65 GB: the guard says so from a 64 px probe, before torch traces anything."""
    args = ["export", str(CHECKPOINT), "--trust", "-t", "ort-int8", "-o", str(tmp_path / "o"), "--imgsz", "8192"]
    line = _one_line(args + ["--data", "shapes-det"])
    assert "exporting at 8192 px needs about" in line and "lower --calib-images or --imgsz" in line
    assert not (tmp_path / "o").exists()

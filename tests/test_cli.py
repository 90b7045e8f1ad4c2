"""CLI behaviour on bad input: one line, non-zero exit, nothing half-written; safe .pt loading."""

from __future__ import annotations

import torch
from edgekit.cli import app
from edgekit.errors import INTERNAL_EXIT_CODE
from edgekit.models.nano_cls import NanoClassifier
from typer.testing import CliRunner

runner = CliRunner()


def _fails_cleanly(args: list[str], needle: str) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.output
    return lines[0]


def test_models_lists_builtins():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    for name in ("nano-det", "nano-cls", "shapes-det", "shapes-cls", "onnx-fp32"):
        assert name in result.output


def test_unknown_model_target_and_data(tmp_path):
    _fails_cleanly(["export", "no-such-model", "-t", "onnx-fp32", "-o", str(tmp_path / "o")], "model not found")
    _fails_cleanly(["export", "nano-cls", "-t", "nope", "-o", str(tmp_path / "o")], "unknown target")
    _fails_cleanly(
        ["export", "nano-cls", "-t", "onnx-fp32", "-o", str(tmp_path / "o"), "--data", str(tmp_path / "missing")],
        "dataset not found",
    )
    assert not (tmp_path / "o").exists()


def test_export_with_corrupt_data_writes_nothing(tmp_path):
    folder = tmp_path / "data" / "circle"
    folder.mkdir(parents=True)
    (folder / "x.png").write_bytes(b"garbage")
    _fails_cleanly(
        ["export", "nano-cls", "-t", "onnx-fp32", "-o", str(tmp_path / "o"), "--data", str(tmp_path / "data")],
        "corrupt or unreadable image",
    )
    assert not (tmp_path / "o").exists()


def test_export_refuses_to_overwrite_without_force(artifacts):
    out = artifacts["nano-cls"].parent
    before = (artifacts["nano-cls"] / "edgekit.json").read_text()
    _fails_cleanly(["export", "nano-cls", "-t", "onnx-fp32", "-o", str(out)], "--force")
    assert (artifacts["nano-cls"] / "edgekit.json").read_text() == before


def test_bench_rejects_non_artifact(tmp_path):
    _fails_cleanly(["bench", str(tmp_path)], "not an edgekit artifact")


def test_bench_with_bad_data_is_one_line_and_writes_nothing(artifacts, tmp_path):
    (tmp_path / "empty").mkdir()
    _fails_cleanly(
        ["bench", str(artifacts["nano-cls"]), "--data", str(tmp_path / "empty"), "--json", str(tmp_path / "r.json")],
        "no class folders",
    )
    assert not (tmp_path / "r.json").exists()


def test_pickled_module_needs_trust_flag(tmp_path):
    path = tmp_path / "full.pt"
    torch.save(NanoClassifier(), path)  # a whole pickled module: arbitrary code on load
    _fails_cleanly(
        [
            "export",
            str(path),
            "-t",
            "onnx-fp32",
            "-o",
            str(tmp_path / "o"),
            "--data",
            "shapes-cls",
            "--task",
            "classify",
            "--imgsz",
            "64",
        ],
        "--trust",
    )
    result = runner.invoke(
        app,
        [
            "export",
            str(path),
            "-t",
            "onnx-fp32",
            "-o",
            str(tmp_path / "o"),
            "--data",
            "shapes-cls",
            "--task",
            "classify",
            "--imgsz",
            "64",
            "--trust-pickle",
        ],
    )
    assert result.exit_code == 0, result.output


def test_state_dict_with_factory_and_torchscript(tmp_path):
    model = NanoClassifier().eval()
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    _fails_cleanly(
        [
            "export",
            str(tmp_path / "weights.pt"),
            "-t",
            "onnx-fp32",
            "-o",
            str(tmp_path / "a"),
            "--data",
            "shapes-cls",
            "--task",
            "classify",
            "--imgsz",
            "64",
        ],
        "--factory",
    )
    ok = runner.invoke(
        app,
        [
            "export",
            str(tmp_path / "weights.pt"),
            "-t",
            "onnx-fp32",
            "-o",
            str(tmp_path / "a"),
            "--data",
            "shapes-cls",
            "--task",
            "classify",
            "--imgsz",
            "64",
            "--factory",
            "edgekit.models.nano_cls:NanoClassifier",
        ],
    )
    assert ok.exit_code == 0, ok.output
    torch.jit.trace(model, torch.zeros(1, 3, 64, 64)).save(str(tmp_path / "model.torchscript"))
    args = [
        "export",
        str(tmp_path / "model.torchscript"),
        "-t",
        "onnx-fp32",
        "-o",
        str(tmp_path / "b"),
        "--data",
        "shapes-cls",
        "--task",
        "classify",
        "--imgsz",
        "64",
    ]
    _fails_cleanly(args, "TorchScript file: loading it runs code")  # TorchScript runs code: trust flag needed
    ok = runner.invoke(app, args + ["--trust"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "b" / "onnx-fp32" / "edgekit.json").is_file()


def test_an_untrusted_pt_is_refused_on_a_torch_whose_weights_only_is_no_boundary(tmp_path, monkeypatch):
    """Before torch 2.6 a crafted file runs code through ``torch.load(weights_only=True)`` (CVE-2025-32434):
    there an untrusted .pt is one error line, never loaded; ``--trust`` is the user's explicit choice."""
    torch.save(NanoClassifier().eval().state_dict(), tmp_path / "weights.pt")
    monkeypatch.setattr(torch, "__version__", "2.5.1+cpu")
    args = [
        "export",
        str(tmp_path / "weights.pt"),
        "-t",
        "onnx-fp32",
        "-o",
        str(tmp_path / "a"),
        "--data",
        "shapes-cls",
        "--task",
        "classify",
        "--imgsz",
        "64",
        "--factory",
        "edgekit.models.nano_cls:NanoClassifier",
    ]
    _fails_cleanly(args, "no boundary before torch 2.6")


def test_an_unexpected_exception_is_one_internal_line_with_its_own_exit_code(monkeypatch):
    """Never exit 1 (the gate's "regression") and never a traceback, unless --debug asks for it."""
    import edgekit.registry

    def broken() -> list[str]:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(edgekit.registry, "target_names", broken)
    result = runner.invoke(app, ["models"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == INTERNAL_EXIT_CODE and result.exit_code not in (0, 1, 2)
    assert lines[-1] == "error: internal: RuntimeError: boom (a bug in edgekit; rerun with --debug for the traceback)"
    assert "Traceback" not in result.output
    debug = runner.invoke(app, ["--debug", "models"])
    assert isinstance(debug.exception, RuntimeError)  # re-raised: Python prints the traceback


def test_usage_errors_are_one_line_too():
    for args in (["bench"], ["bench", "--runs", "many", "x"], ["export", "nano-cls"], ["gate", "--nope"]):
        result = runner.invoke(app, args)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (args, result.output)

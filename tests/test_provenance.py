"""Every JSON edgekit writes says where it came from, through one function (``edgekit.provenance``): the
command line, the source revision (and whether the tree was dirty) or the installed version, the version of
every converter and runtime installed, the machine (CPU, ISA, cores, memory) and its load."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from edgekit.cli import app
from edgekit.compress.run import write_report
from edgekit.convert.run import export_model
from edgekit.provenance import provenance
from edgekit.sweeps.config import load_sweep
from edgekit.sweeps.driver import Driver
from edgekit.sweeps.executors import LocalExecutor
from edgekit.sweeps.run import _summary
from edgekit.sweeps.store import Store
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"command", "source", "versions", "machine", "load"}


def _check(block: dict) -> None:
    assert set(block) == KEYS
    assert block["versions"]["edgekit-deploy"] and block["versions"]["numpy"]
    assert {"cpu", "isa", "cores", "memory_bytes"} <= set(block["machine"])
    assert block["load"]["loadavg_1m"] >= 0
    if (ROOT / ".git").exists():
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
        assert block["source"]["git_revision"] == head.strip() and isinstance(block["source"]["git_dirty"], bool)


def test_the_block_itself():
    block = provenance(["edgekit", "bench", "out/a"])
    _check(block)
    assert block["command"] == "edgekit bench out/a"


def test_bench_results_carry_it(tmp_path, artifacts):
    args = ["bench", str(artifacts["nano-cls"]), "--runs", "2", "--warmup", "1", "--rounds", "1"]
    result = CliRunner().invoke(app, args + ["--min-seconds", "0", "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    _check(json.loads((tmp_path / "r.json").read_text())["environment"]["provenance"])


def test_export_manifests_carry_it(tmp_path):
    rows = export_model("nano-cls", ["onnx-fp32"], tmp_path)
    assert rows[0].status == "ok"
    _check(json.loads((tmp_path / "onnx-fp32" / "edgekit.json").read_text())["provenance"])


def test_compress_reports_and_sweep_summaries_carry_it(tmp_path):
    write_report({"before": {}}, tmp_path / "c.json")
    report = json.loads((tmp_path / "c.json").read_text())
    _check(report["provenance"])
    assert report["before"] == {}
    sweep = tmp_path / "s.toml"
    sweep.write_text('model = "nano-det"\noutput = "out"\n[grid]\ntargets = ["onnx-fp32"]\n')
    driver = Driver(LocalExecutor(), Store(tmp_path / "store"), lambda _: None)
    _check(_summary(load_sweep(sweep), "local", 1, driver, 1.0)["provenance"])

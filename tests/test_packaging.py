"""Packaging: the Dockerfile and CI workflow stay consistent with pyproject, and the device install is light."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from edgekit import tomlread as tomllib
from edgekit.exporters.tflite_common import ONNX2TF_VERSION

ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DEVICE_EXTRAS = ("ort", "openvino", "tflite")
HEAVY = ("torch", "tensorflow", "tf-keras", "onnx2tf", "nncf")
INSTRUCTIONS = {"FROM", "ARG", "ENV", "RUN", "COPY", "USER", "WORKDIR", "ENTRYPOINT", "CMD", "LABEL", "EXPOSE"}


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    """{stage name: [(INSTRUCTION, arguments)]}, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages: dict[str, list[tuple[str, str]]] = {"": []}
    current = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        assert keyword in INSTRUCTIONS, f"unknown Dockerfile instruction {keyword!r}"
        if keyword == "FROM":
            current = args.split(" AS ")[-1].strip() if " AS " in args else args
            stages[current] = []
        stages[current].append((keyword, args))
    return stages


def _requirement_names(extra: str) -> set[str]:
    names = set()
    for requirement in PYPROJECT["project"]["optional-dependencies"][extra]:
        match = re.match(r"edgekit\[(.+)\]", requirement)
        if match:
            for inner in match.group(1).split(","):
                names |= _requirement_names(inner)
        else:
            names.add(re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0].lower())
    return names


def test_dockerfile_has_an_export_and_a_bench_stage_running_as_non_root():
    stages = dockerfile_stages()
    assert {"wheel", "export", "bench"} <= set(stages)
    default_image = next(a for k, a in stages[""] if k == "ARG" and a.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+", default_image)  # a pinned base image
    for name in ("export", "bench"):
        instructions = stages[name]
        users = [i for i, (k, _) in enumerate(instructions) if k == "USER"]
        runs = [i for i, (k, _) in enumerate(instructions) if k == "RUN"]
        assert users and instructions[users[-1]][1] not in ("root", "0") and users[-1] > max(runs)
        entrypoint = json.loads(next(a for k, a in instructions if k == "ENTRYPOINT"))
        assert entrypoint == ["/usr/bin/tini", "--", "edgekit"]  # an init as PID 1, edgekit below it
        assert any("install -y --no-install-recommends tini" in a for k, a in instructions if k == "RUN")


def test_dockerfile_pins_match_pyproject_and_the_bench_image_is_light():
    stages = dockerfile_stages()
    version = PYPROJECT["project"]["version"]
    export_runs = " ".join(a for k, a in stages["export"] if k == "RUN")
    bench_runs = " ".join(a for k, a in stages["bench"] if k == "RUN")
    wheel = f"/wheels/edgekit_deploy-{version}-*.whl)"
    assert f"onnx2tf=={ONNX2TF_VERSION}" in export_runs and f"{wheel}[all]" in export_runs
    extras = re.search(re.escape(wheel) + r"\[([^\]]+)\]", bench_runs).group(1).split(",")
    assert set(extras) <= set(DEVICE_EXTRAS)
    for extra in DEVICE_EXTRAS:
        assert not _requirement_names(extra) & set(HEAVY), extra
    for kind, args in stages["wheel"]:
        if kind == "COPY":
            assert all((ROOT / source).exists() for source in args.split()[:-1]), args


def test_ci_workflow_runs_real_commands_on_committed_files():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "edgekit-gate.yml").read_text())
    commands = [step["run"] for step in workflow["jobs"]["gate"]["steps"] if "run" in step]
    joined = "\n".join(commands)
    assert f"onnx2tf=={ONNX2TF_VERSION}" in joined
    from edgekit.cli import app

    known = {c.name or c.callback.__name__ for c in app.registered_commands}
    for line in re.sub(r"\n\s+--", " --", joined).splitlines():
        words = shlex.split(line.strip().rstrip("\\")) if line.strip().startswith("edgekit ") else []
        if words:
            assert words[1] in known, line
            for word in words[2:]:
                if word.startswith("benchmarks/"):
                    assert (ROOT / word).is_file(), word
    assert {"gate", "report", "pipeline"} <= {w.split()[0] for w in joined.split("edgekit ")[1:] if w.split()}


def test_the_gate_workflow_reads_its_baseline_from_the_base_commit_with_pinned_actions():
    """A pull request must not be able to regress and re-baseline itself in one commit (issue 22, item 8)."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "edgekit-gate.yml").read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    assert workflow["permissions"] == {"contents": "read"}
    uses = [step for step in steps if "uses" in step]
    assert all(re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]) for step in uses), uses
    checkouts = [step for step in uses if step["uses"].startswith("actions/checkout@")]
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)
    base = next(step["with"] for step in checkouts if step["with"].get("path") == "base")
    assert "pull_request.base.sha" in base["ref"]
    gate = next(step["run"] for step in steps if "edgekit gate" in step.get("run", ""))
    assert "--baseline base/benchmarks/baseline.json" in gate and "--config base/benchmarks/gate.toml" in gate


@pytest.mark.slow
def test_device_install_pulls_no_torch_or_tensorflow_and_benches(tmp_path, artifacts, edgekit_wheel):
    venv = tmp_path / "device"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", f"{edgekit_wheel}[ort]"], capture_output=True, text=True
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    listed = subprocess.run(
        [str(venv / "bin" / "pip"), "list", "--format", "json"], capture_output=True, text=True, check=True
    )
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "onnxruntime" in installed and not installed & {"torch", "tensorflow", "tf-keras", "openvino", "onnx"}
    out = tmp_path / "r.json"
    bench = subprocess.run(
        [
            str(venv / "bin" / "edgekit"),
            "bench",
            str(artifacts["nano-cls"]),
            "--json",
            str(out),
            "--runs",
            "5",
            "--min-seconds",
            "0",
        ],
        capture_output=True,
        text=True,
    )
    assert bench.returncode == 0, bench.stdout[-2000:] + bench.stderr[-2000:]
    row = json.loads(out.read_text())["results"][0]
    assert row["status"] == "ok" and row["metrics"]["top1"] > 0.9


def _python310() -> str | None:
    import shutil

    pyenv = sorted((Path.home() / ".pyenv" / "versions").glob("3.10.*/bin/python"))
    for candidate in [*map(str, pyenv), shutil.which("python3.10")]:
        if candidate and subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate  # a pyenv shim without that version installed answers 127
    return None


def test_sources_stay_python_310_compatible():
    """``requires-python >= 3.10``: every module compiles under 3.10 and none imports 3.11's tomllib directly."""
    import subprocess

    assert PYPROJECT["project"]["requires-python"] == ">=3.10"
    folders = [ROOT / name for name in ("toolkit", "exporters", "runtimes", "calibration_data")]
    direct = [
        str(p)
        for folder in folders
        for p in folder.rglob("*.py")
        if "import tomllib" in p.read_text() and p.name != "tomlread.py"
    ]
    assert not direct, f"use edgekit.tomlread: {direct}"
    python = _python310()
    if python is None:
        pytest.skip("no Python 3.10 on this machine to compile with")
    result = subprocess.run([python, "-m", "compileall", "-q", *map(str, folders)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_onnx_runtime_and_onnx_floors_are_the_releases_that_contain_external_data():
    """ONNX Runtime < 1.24 loads external data from any path a model names; every extra that installs it or onnx
    asks for the releases with the containment fixes."""
    floors = {"onnxruntime": (1, 24), "onnx": (1, 21)}
    seen = set()
    for extra, requirements in PYPROJECT["project"]["optional-dependencies"].items():
        for requirement in requirements:
            match = re.match(r"(onnxruntime|onnx)>=(\d+)\.(\d+)", requirement)
            if match:
                seen.add(match.group(1))
                assert (int(match.group(2)), int(match.group(3))) >= floors[match.group(1)], (extra, requirement)
            assert not re.match(r"(onnxruntime|onnx)(==|<|$)", requirement), (extra, requirement)
    assert seen == set(floors)


def test_no_install_step_resolves_our_name_against_an_index():
    """`edgekit` on PyPI is someone else's project: our distribution is `edgekit-deploy`, and every install
    of it that we write (Dockerfile, CI, README, docs) takes a path (`.`, `-e .`, a built wheel), never the name."""
    assert PYPROJECT["project"]["name"] == "edgekit-deploy"
    texts = {
        path: path.read_text()
        for path in [
            ROOT / "Dockerfile",
            ROOT / ".ci" / "run",
            ROOT / "README.md",
            *sorted((ROOT / "docs").glob("*.md")),
        ]
    }
    for path, text in texts.items():
        for line in text.splitlines():
            if "pip install" not in line:
                continue
            names = re.findall(r"pip install[^&;|`]*?['\"]?(edgekit(?:-deploy)?)\[", line)
            assert not names, f"{path.name}: installs {names[0]} by name from an index: {line.strip()}"

"""Every install hint names the distribution users can install: on PyPI "edgekit" is an unrelated project, so
``pip install 'edgekit[...]'`` would install somebody else's code. The package, its docs and README are read for
the wrong name, and the hint a missing dependency gives is checked as a user sees it."""

from __future__ import annotations

import re
from pathlib import Path

from edgekit.errors import MissingDependencyError

ROOT = Path(__file__).resolve().parent.parent
WRONG = re.compile(r"pip install[^\n]*['\"\s]edgekit(\[|['\"\s]|$)")


def test_no_install_hint_names_the_wrong_distribution():
    folders = ["toolkit", "exporters", "runtimes", "calibration_data", "docs", "benchmarks", ".ci"]
    files = [p for folder in folders for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md", ".toml", "")]
    files += [ROOT / "README.md", ROOT / "Dockerfile", ROOT / "pyproject.toml"]
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in files
        if path.is_file()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if WRONG.search(line)
    ]
    assert not offenders, offenders


def test_a_missing_dependency_names_edgekit_deploy():
    assert "pip install 'edgekit-deploy[ort]'" in str(MissingDependencyError("onnxruntime", "ort"))


def test_without_a_converter_its_targets_are_listed_unavailable_not_an_error():
    """Where openvino is not installed (the litert venv, an [export]-only install), listing the installed
    targets for `-t all` raised its MissingDependencyError instead of leaving its targets out."""
    import subprocess
    import sys

    code = (
        "import sys\nsys.modules['openvino'] = None\nsys.modules['nncf'] = None\n"
        "from edgekit.registry import unavailable_targets\nprint(sorted(unavailable_targets()))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1000:]
    assert "openvino-int8" in done.stdout and "openvino-fp32" in done.stdout

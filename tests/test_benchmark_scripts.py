"""Every script under benchmarks/ still imports against today's code (each in a fresh interpreter, its
``main`` not run): a refactor cannot orphan the evidence behind the docs' figures without failing here.
Scripts that run in Ultralytics' own venv are skipped where Ultralytics is not installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p for p in (ROOT / "benchmarks").rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT / "benchmarks")))
def test_benchmark_script_imports(script: Path):
    code = ("import importlib.util, sys\n"
            f"sys.path.insert(0, {str(script.parent)!r})\n"
            f"spec = importlib.util.spec_from_file_location('bench_script', {str(script)!r})\n"
            "module = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(module)\n"
            "assert callable(getattr(module, 'main', None)) or 'main' not in dir(module)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if "No module named 'ultralytics'" in result.stderr:
        pytest.skip(f"{script.name} runs in Ultralytics' venv")
    assert result.returncode == 0, result.stderr[-3000:]


def test_every_benchmark_script_is_listed_in_the_benchmarks_readme():
    readme = (ROOT / "benchmarks" / "README.md").read_text()
    missing = [str(p.relative_to(ROOT / "benchmarks")) for p in SCRIPTS
               if str(p.relative_to(ROOT / "benchmarks")) not in readme]
    assert not missing, f"benchmarks/README.md does not map: {missing}"

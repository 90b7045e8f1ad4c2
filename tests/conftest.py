"""Shared fixtures: an isolated data cache and reference artifacts exported once per session."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# No wall-clock deadlines in pass/fail tests: these machines are shared and noisy.
settings.register_profile("edgekit", deadline=None)
settings.load_profile("edgekit")

# Test modules that import onnxruntime before anything of edgekit would get ORT's default, telemetry on (DNS lookups,
# a device id under ~/.cache/Microsoft), in this process and every subprocess it starts: the suite is offline too.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.setdefault("EDGEKIT_CACHE", str(ROOT / ".pytest_cache" / "edgekit")))


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker keeps to its own share of the CPUs, before torch or a runtime loads.
    Every thread pool here (torch's OpenMP, ORT, OpenVINO, XNNPACK, TensorFlow, and ``physical_cores()``) sizes
    itself from the affinity mask, so workers never oversubscribe the cores: two workers each running two
    spinning OpenMP threads on two cores made the suite slower than one worker."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if worker.startswith("gw") and count > 1 and hasattr(os, "sched_setaffinity"):
        cpus, index = sorted(os.sched_getaffinity(0)), int(worker[2:])
        share = cpus[index::count] if count < len(cpus) else [cpus[index % len(cpus)]]  # more workers: CPUs shared
        os.sched_setaffinity(0, share)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory):
    """Export each task's reference model to onnx-fp32 once; returns {model name: artifact dir}."""
    from edgekit.convert.run import export_model
    from edgekit.tasks.registry import TASKS

    out = {}
    for model in sorted({spec.reference_model for spec in TASKS.values() if spec.reference_model}):
        root = tmp_path_factory.mktemp(model)
        rows = export_model(model, ["onnx-fp32"], root)
        assert [r.status for r in rows] == ["ok"]
        out[model] = root / "onnx-fp32"
    return out


@pytest.fixture(scope="session")
def reference_exports(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """``get(model, target)``: the ``ExportRow`` of ``model`` exported to ``target`` with default settings, made
    once per session and shared read-only by every test that only reads an artifact. In a full run the first
    request for a model on a runtime exports every installed target of that runtime in one call (the contract
    tests need them all, and the TFLite targets share one graph translation); in the fast lane (``-m "not
    slow"``, 16 calibration images) and for a target registered later (a plugin) only the one asked for. Under
    pytest-xdist the workers share one store, a file lock per model and runtime: whichever asks first exports,
    the others read its rows, and two workers can export one model for two runtimes side by side."""
    fast_lane = "not slow" in (request.config.getoption("markexpr", "") or "")
    store = _shared_folder(tmp_path_factory) / ("reference-exports-fast" if fast_lane else "reference-exports")
    store.mkdir(exist_ok=True)
    cache: dict[tuple[str, str], object] = {}

    def get(model: str, target: str):
        if (model, target) not in cache:
            runtime = _runtime_of(target)
            group = store / f"{model}-{runtime}"
            with _locked(group.with_suffix(".lock")):
                cache.update(_stored_rows(group.with_suffix(".pickle")))
                if (model, target) not in cache:
                    _export_into(group, model, target, runtime, fast_lane)
                    cache.update(_stored_rows(group.with_suffix(".pickle")))
        return cache[(model, target)]

    return get


@pytest.fixture(scope="session")
def edgekit_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout built as a wheel (what ``bench --on --install-wheel`` ships and a device installs), once per
    run: pip builds a local project inside its tree (``build/``), so two workers building at once would race."""
    store = _shared_folder(tmp_path_factory) / "edgekit-wheel"
    with _locked(store.parent / "edgekit-wheel.lock"):
        if not any(store.glob("edgekit_deploy-*.whl")):
            built = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(store)],
                capture_output=True,
                text=True,
            )
            assert built.returncode == 0, built.stderr[-3000:]
    return next(store.glob("edgekit_deploy-*.whl"))


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary folder every pytest-xdist worker sees (without xdist: this session's)."""
    own = tmp_path_factory.getbasetemp()
    return own.parent if os.environ.get("PYTEST_XDIST_WORKER") else own


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` across processes (the xdist workers)."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stored_rows(path: Path) -> dict[tuple[str, str], object]:
    """The ``ExportRow``s a group's exports stored, by (model, target)."""
    return pickle.loads(path.read_bytes()) if path.exists() else {}


def _runtime_of(target: str) -> str:
    """The runtime ``target`` runs on (the target's own name where it cannot be loaded here)."""
    from edgekit.registry import get_target

    try:
        return get_target(target).runtime
    except Exception:  # noqa: BLE001 - a converter not installed here: its export row will say so
        return target


def _export_into(group: Path, model: str, target: str, runtime: str, fast_lane: bool) -> None:
    """Export ``model`` (in a full run, on the group's first request, every installed target on ``runtime``,
    ``target``'s; else ``target`` only) into a fresh folder and add its rows to the group's stored rows."""
    from edgekit.convert.run import export_model
    from edgekit.registry import target_names, unavailable_targets

    stored = group.with_suffix(".pickle")
    installed = [name for name in target_names() if name not in unavailable_targets()]
    names = (
        [name for name in installed if _runtime_of(name) == runtime] if not stored.exists() and not fast_lane else []
    )
    names += [] if target in names else [target]  # one not installed: its row says so
    calib = {"calib_images": 16} if fast_lane else {}  # the contract's accuracy bound needs the default
    out = Path(tempfile.mkdtemp(prefix=f"{group.name}-", dir=group.parent))
    rows = _stored_rows(stored)
    rows.update({(model, row.target): row for row in export_model(model, names, out, **calib)})
    stored.write_bytes(pickle.dumps(rows))


@pytest.fixture(scope="session")
def det_dataset_root() -> Path:
    from edgekit.calibration_data.build import ensure_dataset

    return ensure_dataset("shapes-det")


@pytest.fixture
def bench_with_blocked_imports(tmp_path: Path):
    """Bench one artifact through the CLI in a fresh interpreter where ``blocked`` modules cannot be
    imported (``sys.modules[name] = None`` makes an import raise); returns its results row."""
    import json
    import subprocess
    import sys

    def run(artifact: Path, blocked: tuple[str, ...], runs: int) -> dict:
        out = tmp_path / "blocked-bench.json"
        code = (
            f"import sys\nfor name in {blocked!r}: sys.modules[name] = None\n"
            "from typer.testing import CliRunner\nfrom edgekit.cli import app\n"
            f"r = CliRunner().invoke(app, ['bench', {str(artifact)!r}, '--json', {str(out)!r}, "
            f"'--runs', '{runs}', '--min-seconds', '0'])\nassert r.exit_code == 0, r.output"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr + result.stdout
        return json.loads(out.read_text())["results"][0]

    return run

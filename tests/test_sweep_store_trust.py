"""The sweep store is a trust boundary: its compressed models are TorchScript, which runs code when loaded. A
store that another user owns or others can write is refused unless ``--trust``, and a compressed model is
loaded only when it is the file its compress cell wrote (sha256 recorded in the cell)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from edgekit.data.resolve import resolve_dataset
from edgekit.errors import EdgekitError
from edgekit.fsutil import sha256_file
from edgekit.sweeps.config import load_sweep
from edgekit.sweeps.run import run_sweep
from edgekit.sweeps.store import Store

KEY = "0123456789abcdef01234567"
ROOT = Path(__file__).resolve().parent.parent


def _sweep(tmp_path: Path, store: str = "store") -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(f'model = "nano-det"\noutput = "out"\nstore = "{store}"\n[grid]\ntargets = ["onnx-fp32"]\n')
    return path


def _compressed(store: Store, sha: str | None = None) -> Path:
    folder = store.folder("compress", KEY)
    folder.mkdir(parents=True)
    model = folder / "model.pt"
    model.write_bytes(b"TorchScript stand-in: never loaded by these tests")
    record = {"macs_before": 1, "macs_after": 1} | ({"model_sha256": sha} if sha else {})
    (folder / "cell.json").write_text(json.dumps(record))
    return model


def test_a_world_writable_store_is_refused_before_any_cell_runs(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store").chmod(0o777)
    with pytest.raises(EdgekitError, match="writable by its group or by others"):
        run_sweep(load_sweep(_sweep(tmp_path)), log=lambda _: None)
    assert not (tmp_path / "out").exists()


def test_with_trust_a_shared_store_is_used(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    model = _compressed(store)
    (tmp_path / "store").chmod(0o777)
    (tmp_path / "store" / "compress").chmod(0o777)
    with pytest.raises(EdgekitError, match="records no sha256"):  # past the ownership check, to the file's own
        store.verified_model(KEY, trust_store=True)
    assert load_sweep(_sweep(tmp_path), trusted=True).trust_store
    assert model.is_file()


def test_a_compressed_model_is_loaded_only_if_it_is_the_file_its_cell_wrote(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    model = _compressed(store, sha="0" * 64)
    with pytest.raises(EdgekitError, match="not the file its compress cell wrote"):
        store.verified_model(KEY, trust_store=False)
    (store.folder("compress", KEY) / "cell.json").write_text(json.dumps({"model_sha256": sha256_file(model)}))
    assert store.verified_model(KEY, trust_store=False) == model


def test_a_group_writable_cell_folder_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    model = _compressed(store)
    (store.folder("compress", KEY) / "cell.json").write_text(json.dumps({"model_sha256": sha256_file(model)}))
    store.folder("compress", KEY).chmod(0o775)
    with pytest.raises(EdgekitError, match="writable by its group"):
        store.verified_model(KEY, trust_store=False)


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a folder to another user")
def test_a_store_of_another_user_is_refused(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    os.chown(tmp_path / "store", 54321, -1)
    with pytest.raises(EdgekitError, match="belongs to another user"):
        Store(tmp_path / "store").check_private()


def test_a_store_inside_the_output_is_refused_when_the_sweep_is_read(tmp_path: Path) -> None:
    with pytest.raises(EdgekitError, match="lies inside the output"):
        load_sweep(_sweep(tmp_path, store="out/store"))


def test_a_damaged_record_is_not_done_and_says_where_it_is(tmp_path: Path) -> None:
    """Before: a record with macs_before 0 or a row that is not an object ended every re-run with exit 3."""
    store = Store(tmp_path / "store")
    model = _compressed(store)
    good = {"macs_before": 10, "macs_after": 5, "params_before": 10, "params_after": 5}
    cell = store.folder("compress", KEY) / "cell.json"
    cell.write_text(json.dumps(good | {"model_sha256": sha256_file(model)}))
    assert store.done("compress", KEY) is not None and store.damage("compress", KEY) == ""
    cell.write_text(json.dumps(good | {"macs_before": 0, "model_sha256": sha256_file(model)}))
    assert store.done("compress", KEY) is None
    assert "cell.json: macs_before not a positive integer" in store.damage("compress", KEY)
    (tmp_path / "store" / "score" / KEY).mkdir(parents=True)
    (tmp_path / "store" / "score" / KEY / "cell.json").write_text('{"row": [1, 2]}')
    assert store.done("score", KEY) is None and "no row" in store.damage("score", KEY)
    (tmp_path / "store" / "score" / KEY / "cell.json").write_text("[]")
    assert "not a JSON object" in store.damage("score", KEY)


def test_sweep_cells_are_keyed_by_the_datasets_labels_not_its_yaml(tmp_path: Path) -> None:
    """Before: cells were keyed by the data.yaml's bytes, so fixed labels reused the old scores."""
    from edgekit.sweeps.plan import data_identity

    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "yolov8n" / "make_data.py"), str(tmp_path / "yolo"), "--train", "4"],
        check=True,
        capture_output=True,
    )
    yaml = str(tmp_path / "yolo" / "data.yaml")
    before = data_identity(yaml)
    label = sorted((tmp_path / "yolo" / "labels" / "val").glob("*.txt"))[0]
    label.write_text(label.read_text() + "0 0.5 0.5 0.1 0.1\n")
    resolve_dataset.cache_clear()
    assert data_identity(yaml) != before
    assert data_identity("shapes-det") == "name:shapes-det"


def test_the_timing_cells_key_names_the_host(monkeypatch, tmp_path: Path) -> None:
    """A store shared by two machines must not hand one machine's timings to the other."""
    import platform

    from edgekit.sweeps.plan import Planner, timing_cell

    config = load_sweep(_sweep(tmp_path))
    planner = Planner(config, Store(tmp_path / "store"))
    plan = planner.build()
    scores = [key for key, cell in plan.cells.items() if cell.kind == "score"]
    here = timing_cell(plan, planner.store, planner.bench(), scores).key
    monkeypatch.setattr(platform, "node", lambda: "another-host")
    assert timing_cell(plan, planner.store, planner.bench(), scores).key != here


def test_two_sweeps_on_one_store_run_a_cell_once(tmp_path: Path) -> None:
    """Before: two sweeps started on one store both ran every cell. The cell lock makes the second wait for the
    first and reuse its record."""
    import threading
    import time

    from edgekit.sweeps.cells import run_cell

    calls: list[int] = []

    def slow_cell(spec: dict) -> dict:
        calls.append(1)
        time.sleep(1.0)
        return {"target": "onnx-fp32"}

    spec = {"kind": "export", "key": KEY, "store": str(tmp_path / "store")}
    records: list[dict] = []
    threads = [threading.Thread(target=lambda: records.append(run_cell(slow_cell, spec))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(bool(r.get("reused")) for r in records) == [False, True]

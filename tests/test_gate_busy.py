"""A busy machine does not decide a gate: a failed latency check is timed again, and a machine still busy then
gives "inconclusive: machine busy" (exit 75), never a pass or a regression; accuracy and size still fail.
Re-timing only makes a verdict stricter or inconclusive: a failure it does not repeat never becomes a pass. Only
rows timed on this machine are timed again, and only artifacts that are still what the row measured."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil

import edgekit.report.confirm as confirm
from edgekit.bench.harness import CpuContention
from edgekit.cli import app
from edgekit.report.confirm import INCONCLUSIVE_EXIT_CODE, Retiming, judge, retime
from edgekit.report.gate import Thresholds
from edgekit.results import ResultsDocument, load_results
from gate_documents import BASE
from typer.testing import CliRunner

runner = CliRunner()


def _current(int8_p50: float = 5.0, share: float | None = 0.0, map50_95: float = 0.777) -> ResultsDocument:
    document = copy.deepcopy(BASE)
    document["results"][1]["latency_ms"].update(p50=int8_p50, p90=int8_p50 * 1.2, p99=int8_p50 * 1.5)
    document["results"][1]["metrics"]["map50_95"] = map50_95
    if share is not None:
        document["environment"]["foreign_cpu_share"] = share
    return ResultsDocument.from_dict(document)


def _retimed_to(monkeypatch, int8_p50: float, share: float) -> list[set[str]]:
    """Make the re-timing report ``int8_p50`` for ort-int8 with ``share`` of the CPU taken by others (the
    decision logic under test; real re-timing is exercised below on a real artifact)."""
    asked: list[set[str]] = []

    def fake(current: ResultsDocument, labels: set[str], base=None) -> Retiming:
        asked.append(labels)
        return Retiming(_current(int8_p50, share), share, 1.0, 10)  # the real one records its own share too

    monkeypatch.setattr(confirm, "retime", fake)
    return asked


BASELINE = ResultsDocument.from_dict(BASE)


def test_a_failure_that_does_not_hold_on_re_timing_is_inconclusive_never_a_pass(monkeypatch):
    asked = _retimed_to(monkeypatch, 5.0, 0.0)
    verdict = judge(BASELINE, _current(9.0), Thresholds())
    assert verdict.status == "inconclusive" and "did not repeat when timed again" in verdict.markdown
    assert asked == [{"ort-int8", "onnx-fp32"}]  # the failing artifact and the reference
    assert judge(BASELINE, _current(9.0), Thresholds(), confirm=False).status == "regression"


def test_a_failure_that_holds_on_an_idle_machine_is_a_regression(monkeypatch):
    _retimed_to(monkeypatch, 9.0, 0.01)
    verdict = judge(BASELINE, _current(9.0), Thresholds())
    assert verdict.status == "regression" and "timed again" in verdict.markdown


def test_a_failure_that_holds_on_a_busy_machine_is_inconclusive(monkeypatch):
    _retimed_to(monkeypatch, 9.0, 0.6)
    verdict = judge(BASELINE, _current(9.0), Thresholds())
    assert verdict.status == "inconclusive" and "inconclusive: machine busy" in verdict.markdown


def test_a_pass_timed_on_a_busy_machine_is_timed_again_and_cannot_pass_while_it_stays_busy(monkeypatch):
    asked = _retimed_to(monkeypatch, 5.0, 0.6)
    assert judge(BASELINE, _current(5.0, share=0.6), Thresholds()).status == "inconclusive"
    assert asked == [{"ort-int8", "onnx-fp32"}]  # every row: a busy neighbour can hide a regression too
    _retimed_to(monkeypatch, 5.0, 0.0)
    assert judge(BASELINE, _current(5.0, share=0.6), Thresholds()).status == "pass"


def test_accuracy_fails_whatever_the_machine_did_and_a_busy_baseline_is_no_reference(monkeypatch):
    _retimed_to(monkeypatch, 9.0, 0.6)
    assert judge(BASELINE, _current(9.0, share=0.6, map50_95=0.70), Thresholds()).status == "regression"
    busy_baseline = _current(5.0, share=0.6)
    assert judge(busy_baseline, _current(5.0), Thresholds()).status == "inconclusive"
    assert judge(busy_baseline, _current(5.0), Thresholds(max_busy_share=100)).status == "pass"  # told to judge


def test_without_the_artifacts_a_busy_run_is_inconclusive_and_the_cli_exits_75(tmp_path):
    (tmp_path / "b.json").write_text(json.dumps(BASE))
    (tmp_path / "c.json").write_text(json.dumps(_current(9.0, share=0.6).to_dict()))
    result = runner.invoke(app, ["gate", "--baseline", str(tmp_path / "b.json"), "--current", str(tmp_path / "c.json")])
    assert result.exit_code == INCONCLUSIVE_EXIT_CODE, result.output
    assert "inconclusive: machine busy" in result.output and "could not be timed again" in result.output
    assert load_results(tmp_path / "c.json").environment["foreign_cpu_share"] == 0.6


def test_re_timing_times_the_named_rows_and_the_probe_of_a_real_run(tmp_path, artifacts):
    """The real path: a bench JSON records the CPU share of other processes; re-timing opens the artifact
    again, times it in twice the rounds and leaves every other row as it was."""
    result = runner.invoke(
        app,
        [
            "bench",
            str(artifacts["nano-cls"]),
            "--runs",
            "4",
            "--warmup",
            "1",
            "--rounds",
            "2",
            "--min-seconds",
            "0.05",
            "--json",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    current = load_results(tmp_path / "r.json")
    assert 0.0 <= current.environment["foreign_cpu_share"] <= 1.0
    again = retime(current, {current.labels()[0]})
    assert again.document is not None and again.rounds == 4 and 0.0 <= again.contention <= 1.0
    latency = again.document.rows[0].latency
    assert len(latency.round_p50) == 4 and latency.p50 > 0 and again.document.machine_probe.p50 > 0
    assert again.document.environment["foreign_cpu_share"] == again.contention  # its own, not the first run's
    gone = dataclasses.replace(
        current, rows=tuple(dataclasses.replace(r, artifact=str(tmp_path / "gone")) for r in current.rows)
    )
    assert "not here" in retime(gone, set(gone.labels())).why_not


def test_cpu_contention_is_a_share():
    with CpuContention() as contention:
        sum(range(200_000))
    assert contention.share is not None and 0.0 <= contention.share <= 1.0


def _bench_here(tmp_path, artifact) -> ResultsDocument:
    result = runner.invoke(
        app,
        ["bench", str(artifact), "--runs", "2", "--warmup", "1", "--rounds", "1", "--min-seconds", "0"]
        + ["--json", str(tmp_path / "r.json")],
    )
    assert result.exit_code == 0, result.output
    return load_results(tmp_path / "r.json")


def test_rows_timed_on_a_device_or_another_machine_are_never_timed_here(tmp_path, artifacts):
    current = _bench_here(tmp_path, artifacts["nano-cls"])
    labels = set(current.labels())
    on_device = dataclasses.replace(current, environment=current.environment | {"device": "pi@rpi5"})
    assert "timed on pi@rpi5" in retime(on_device, labels).why_not
    other = dataclasses.replace(current, environment=current.environment | {"boot": "0" * 16})
    assert "another machine" in retime(other, labels).why_not
    unknown = dataclasses.replace(current, environment={k: v for k, v in current.environment.items() if k != "boot"})
    assert "which machine" in retime(unknown, labels).why_not


def test_only_the_artifact_the_row_measured_is_timed_again_resolved_beside_the_results(tmp_path, artifacts):
    current = _bench_here(tmp_path, artifacts["nano-cls"])
    labels = set(current.labels())
    swapped = dataclasses.replace(
        current, rows=tuple(dataclasses.replace(r, model_sha256="0" * 64) for r in current.rows)
    )
    assert "not the artifact the row measured" in retime(swapped, labels).why_not
    relative = dataclasses.replace(current, rows=tuple(dataclasses.replace(r, artifact="art") for r in current.rows))
    assert "not here" in retime(relative, labels, base=tmp_path).why_not  # beside the results, not in the cwd
    shutil.copytree(artifacts["nano-cls"], tmp_path / "art")
    assert retime(relative, labels, base=tmp_path).document is not None
    assert "relative path" in retime(relative, labels).why_not


def test_a_device_run_3x_slower_fails_the_gate_without_being_timed_here(tmp_path):
    baseline = ResultsDocument.from_dict(BASE)
    device = dataclasses.replace(_current(15.0), environment=_current(15.0).environment | {"device": "pi@rpi5"})
    verdict = judge(baseline, device, Thresholds(), base=tmp_path)
    assert verdict.status == "regression" and "timed on pi@rpi5, not here" in verdict.markdown

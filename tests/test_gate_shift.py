"""A machine that changes speed does not decide a gate either: when the machine probe's rounds spread within
the run, or its p50 moved from the baseline's on the same CPU, every row is timed again, and if the probe still
shows the shift, latency is "inconclusive: machine speed shifted" (exit 75), never a pass or a regression."""

from __future__ import annotations

import copy
import json

import edgekit.report.confirm as confirm
import pytest
from edgekit.cli import app
from edgekit.report.confirm import INCONCLUSIVE_EXIT_CODE, RETIME_ATTEMPTS, Retiming, judge, machine_shift
from edgekit.report.gate import Thresholds
from edgekit.results import ResultsDocument
from gate_documents import BASE as UNBOOTED
from typer.testing import CliRunner

BASE = copy.deepcopy(UNBOOTED)
BASE["environment"]["boot"] = "b00t"  # one boot of one machine: absolute probe times compare

runner = CliRunner()
BASELINE = ResultsDocument.from_dict(BASE)


def _run(
    int8_p50: float = 5.0, probe_rounds: tuple[float, ...] = (1.0, 1.0, 1.0), cpu: str = "test"
) -> ResultsDocument:
    """The baseline's two rows with ort-int8 at ``int8_p50`` ms, timed in rounds, the probe's rounds as given."""
    document = copy.deepcopy(BASE)
    document["environment"].update(cpu=cpu, foreign_cpu_share=0.0, boot="b00t")
    document["environment"]["machine_probe_ms"] = {
        "p50": sorted(probe_rounds)[len(probe_rounds) // 2],
        "round_p50": list(probe_rounds),
        "p50_best_round": min(probe_rounds),
    }
    document["results"][1]["latency_ms"].update(p50=int8_p50, p90=int8_p50 * 1.2, p99=int8_p50 * 1.5)
    return ResultsDocument.from_dict(document)


def _retimed_to(monkeypatch, again: ResultsDocument) -> list[set[str]]:
    """Make the re-timing return ``again`` (the decision under test; test_gate_busy re-times a real artifact)."""
    asked: list[set[str]] = []

    def fake(current: ResultsDocument, labels: set[str], base=None) -> Retiming:
        asked.append(labels)
        return Retiming(again, 0.0, 1.0, 10)

    monkeypatch.setattr(confirm, "retime", fake)
    return asked


def test_machine_shift_reads_the_spread_of_the_probe_rounds_and_the_move_from_the_baseline_on_the_same_cpu():
    assert machine_shift(BASELINE, _run())[0] == 0.0
    spread, where = machine_shift(BASELINE, _run(probe_rounds=(1.0, 1.0, 1.22)))
    assert round(spread) == 22 and "rounds differed" in where
    moved, where = machine_shift(BASELINE, _run(probe_rounds=(1.2, 1.2, 1.2)))
    assert round(moved) == 20 and "slower than in the baseline, same machine" in where
    assert machine_shift(BASELINE, _run(probe_rounds=(1.2, 1.2, 1.2), cpu="another CPU"))[0] == 0.0  # not comparable
    rebooted = _run(probe_rounds=(1.2, 1.2, 1.2)).to_dict()
    rebooted["environment"]["boot"] = "another boot"  # or another host of the same CPU model
    assert machine_shift(BASELINE, ResultsDocument.from_dict(rebooted))[0] == 0.0


def test_a_hidden_slowdown_during_a_slow_phase_is_never_a_pass(monkeypatch):
    """gate_noise.json, idle runs 15-17: the host slowed the probe 1.2x and the reference more than ort-int8, so
    a 1.3x slower ort-int8 passed on both ratios. Now the shifted probe sends it to re-timing."""
    slow_phase = _run(int8_p50=5.0 * 1.3 * 1.25, probe_rounds=(1.2, 1.2, 1.2))
    slow_phase = ResultsDocument.from_dict(
        slow_phase.to_dict()
        | {
            "results": [
                slow_phase.to_dict()["results"][0] | {"latency_ms": {"p50": 8.0 * 1.6, "p90": 15.0, "p99": 19.0}},
                slow_phase.to_dict()["results"][1],
            ]
        }
    )
    assert judge(BASELINE, slow_phase, Thresholds(max_latency_growth=20), confirm=False).status == "inconclusive"
    assert (
        judge(BASELINE, slow_phase, Thresholds(max_latency_growth=20, max_machine_shift=-1), confirm=False).status
        == "pass"
    )  # the gate before: the 1.3x slower artifact passed
    asked = _retimed_to(monkeypatch, slow_phase)
    verdict = judge(BASELINE, slow_phase, Thresholds(max_latency_growth=20))
    assert verdict.status == "inconclusive" and "inconclusive: machine speed shifted" in verdict.markdown
    assert asked == [{"onnx-fp32", "ort-int8"}] * RETIME_ATTEMPTS  # every row, until the machine is steady
    _retimed_to(monkeypatch, _run(int8_p50=5.0 * 1.3))  # the phase is over when it is timed again: caught
    assert judge(BASELINE, slow_phase, Thresholds(max_latency_growth=20)).status == "regression"
    _retimed_to(monkeypatch, _run())
    assert judge(BASELINE, _run(probe_rounds=(1.0, 1.0, 1.22)), Thresholds()).status == "pass"


def test_accuracy_still_fails_on_a_shifting_machine_and_the_cli_exits_75(monkeypatch, tmp_path):
    worse = _run(probe_rounds=(1.0, 1.3, 1.3)).to_dict()
    worse["results"][1]["metrics"]["map50_95"] = 0.70
    assert judge(BASELINE, ResultsDocument.from_dict(worse), Thresholds(), confirm=False).status == "regression"
    (tmp_path / "b.json").write_text(json.dumps(BASE))
    (tmp_path / "c.json").write_text(json.dumps(_run(probe_rounds=(1.0, 1.3, 1.3)).to_dict()))
    args = ["gate", "--baseline", str(tmp_path / "b.json"), "--current", str(tmp_path / "c.json")]
    result = runner.invoke(app, args)  # its rows name no machine: they are never timed here, the shift stands
    assert result.exit_code == INCONCLUSIVE_EXIT_CODE and "machine speed shifted" in result.output, result.output
    assert runner.invoke(app, args + ["--max-machine-shift", "-1"]).exit_code == 0
    assert runner.invoke(app, args + ["--max-machine-shift", "inf"]).exit_code == 2


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_a_zero_or_negative_probe_round_is_one_line_exit_2(tmp_path, bad):
    """Before: a 0.0 round divided by zero (exit 3), a negative one switched the shift check off."""
    current = _run(probe_rounds=(1.0, 1.0, 1.0)).to_dict()
    current["environment"]["machine_probe_ms"]["round_p50"] = [1.0, bad, 1.0]
    (tmp_path / "b.json").write_text(json.dumps(BASE))
    (tmp_path / "c.json").write_text(json.dumps(current))
    result = runner.invoke(app, ["gate", "--baseline", str(tmp_path / "b.json"), "--current", str(tmp_path / "c.json")])
    assert result.exit_code == 2 and "round's p50 must be positive" in result.output, result.output

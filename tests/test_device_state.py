"""The device-state readers (thermal zones, cpufreq, ``vcgencmd get_throttled``) on sysfs / vcgencmd outputs
laid out as documented (tests/data/device_state), on this machine's own files where it has them, and a throttled
run making the gate's latency verdict inconclusive."""

from __future__ import annotations

import copy
from pathlib import Path

from edgekit.bench.device_state import cpu_frequency, device_state, parse_throttled, thermal_zones, throttling
from edgekit.report.confirm import judge
from edgekit.report.gate import Thresholds
from edgekit.results import ResultsDocument
from gate_documents import BASE

DATA = Path(__file__).parent / "data" / "device_state"


def _throttled(name: str) -> dict:
    parsed = parse_throttled((DATA / "vcgencmd" / f"{name}.txt").read_text())
    assert parsed is not None
    return parsed


def test_a_pi_5s_sysfs_reads_as_temperature_and_clocks():
    assert thermal_zones(DATA / "pi5") == [{"zone": "thermal_zone0", "type": "cpu-thermal", "celsius": 48.3}]
    assert cpu_frequency(DATA / "pi5") == {
        "governor": "ondemand",
        "cur_mhz": 1500.0,
        "max_mhz": 2400.0,
        "hw_max_mhz": 2400.0,
    }
    assert device_state(DATA / "pi5")["thermal"][0]["celsius"] == 48.3


def test_vcgencmd_flags_now_and_since_boot():
    assert _throttled("idle") == {"raw": "0x0", "now": [], "since_boot": []}
    both = _throttled("under-voltage-throttled")
    assert both["now"] == both["since_boot"] == ["under-voltage", "throttled"]
    assert _throttled("throttled-earlier")["now"] == []
    assert parse_throttled("vcgencmd: not found") is None


def test_throttling_now_or_during_the_timing_marks_the_run():
    idle, earlier = {"throttled": _throttled("idle")}, {"throttled": _throttled("throttled-earlier")}
    assert throttling(idle, idle) == "" and throttling(earlier, earlier) == ""  # before this run: not ours
    assert throttling(idle, earlier) == "throttled (during timing); under-voltage (during timing)"
    assert "throttled (after timing)" in throttling(idle, {"throttled": _throttled("under-voltage-throttled")})
    assert throttling({}, {}) == ""  # no firmware flags (not a Pi): nothing claimed


def test_this_machines_own_files_read_without_error():
    state = device_state()
    for zone in state.get("thermal", []):
        assert isinstance(zone["celsius"], float) and zone["zone"].startswith("thermal_zone")
    assert set(state.get("cpufreq", {})) <= {"governor", "cur_mhz", "max_mhz", "hw_max_mhz"}


def test_a_throttled_run_leaves_latency_inconclusive():
    current = copy.deepcopy(BASE)
    current["environment"]["throttled"] = "throttled (during timing)"
    current["results"][1]["latency_ms"].update(p50=9.0, p90=10.0, p99=11.0)  # slower: but the device throttled
    verdict = judge(ResultsDocument.from_dict(BASE), ResultsDocument.from_dict(current), Thresholds(), confirm=False)
    assert verdict.status == "inconclusive" and "device throttled" in verdict.markdown

"""What state the device was in around the timed rounds: SoC temperature, CPU frequency governor and clocks, and
on a Raspberry Pi the firmware's throttle flags. Read before and after timing (``edgekit bench``, also on a
device through ``--on``); a run during which the device throttled is marked so, and ``edgekit gate`` treats it
like a busy machine: its latency is inconclusive.

Formats (Linux's sysfs ABI and Raspberry Pi's firmware documentation): ``/sys/class/thermal/thermal_zone*/temp``
in millidegrees Celsius beside its ``type``; ``/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor`` and
``scaling_cur_freq`` / ``scaling_max_freq`` / ``cpuinfo_max_freq`` in kHz; ``vcgencmd get_throttled`` prints
``throttled=0x50005``: bits 0-3 now (under-voltage, ARM frequency capped, throttled, soft temperature limit),
bits 16-19 the same since boot. Device side: the standard library only.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

#: ``vcgencmd get_throttled`` bits: what each means now (bit n) and since boot (bit n + 16)
THROTTLE_BITS = {0: "under-voltage", 1: "ARM frequency capped", 2: "throttled", 3: "soft temperature limit"}


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _number(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def thermal_zones(root: Path = Path("/")) -> list[dict[str, Any]]:
    """Each thermal zone's type and temperature in degrees Celsius (zones that cannot be read are left out)."""
    zones = []
    for zone in sorted((root / "sys/class/thermal").glob("thermal_zone*")):
        millidegrees = _number(_read(zone / "temp"))
        if millidegrees is not None:
            zones.append({"zone": zone.name, "type": _read(zone / "type") or "", "celsius": millidegrees / 1000})
    return zones


def cpu_frequency(root: Path = Path("/")) -> dict[str, Any]:
    """CPU 0's frequency governor and current / maximum clocks in MHz (empty where cpufreq is not exposed, as in
    most VMs)."""
    folder = root / "sys/devices/system/cpu/cpu0/cpufreq"
    values: dict[str, Any] = {}
    governor = _read(folder / "scaling_governor")
    if governor:
        values["governor"] = governor
    for key, name in (
        ("cur_mhz", "scaling_cur_freq"),
        ("max_mhz", "scaling_max_freq"),
        ("hw_max_mhz", "cpuinfo_max_freq"),
    ):
        khz = _number(_read(folder / name))
        if khz is not None:
            values[key] = khz / 1000
    return values


def parse_throttled(text: str) -> dict[str, Any] | None:
    """``vcgencmd get_throttled``'s output (``throttled=0x50005``) as its raw value and the flags set now and
    since boot; None when the text is not that."""
    _, _, value = text.strip().partition("throttled=")
    try:
        bits = int(value, 16)
    except ValueError:
        return None
    return {
        "raw": f"0x{bits:x}",
        "now": [name for bit, name in THROTTLE_BITS.items() if bits >> bit & 1],
        "since_boot": [name for bit, name in THROTTLE_BITS.items() if bits >> (bit + 16) & 1],
    }


def read_throttled() -> dict[str, Any] | None:
    """The Raspberry Pi firmware's throttle flags, where ``vcgencmd`` exists and answers."""
    binary = shutil.which("vcgencmd")
    if binary is None:
        return None
    try:
        result = subprocess.run([binary, "get_throttled"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_throttled(result.stdout) if result.returncode == 0 else None


def device_state(root: Path = Path("/")) -> dict[str, Any]:
    """Temperatures, CPU frequency and (on a Pi) throttle flags now; keys only for what this device exposes."""
    state: dict[str, Any] = {}
    zones = thermal_zones(root)
    if zones:
        state["thermal"] = zones
    frequency = cpu_frequency(root)
    if frequency:
        state["cpufreq"] = frequency
    throttled = read_throttled() if root == Path("/") else None
    if throttled is not None:
        state["throttled"] = throttled
    return state


def throttling(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Why the timed rounds between ``before`` and ``after`` ran on a throttled device, or "": the firmware says
    it is throttled now (at either end), or a since-boot flag appeared meanwhile."""
    reasons: list[str] = []
    for moment, state in (("before", before), ("after", after)):
        now = (state.get("throttled") or {}).get("now") or []
        reasons += [f"{flag} ({moment} timing)" for flag in now if f"{flag} (before timing)" not in reasons]
    new = set((after.get("throttled") or {}).get("since_boot") or []) - set(
        (before.get("throttled") or {}).get("since_boot") or []
    )
    reasons += [f"{flag} (during timing)" for flag in sorted(new)]
    return "; ".join(reasons)

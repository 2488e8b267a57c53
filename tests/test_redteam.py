"""The attack suite's short form against the real default model: every call ends OK,
INVALID_ARGUMENT or RESOURCE_EXHAUSTED, the server survives, and health shows NOT_SERVING
while it drains. Its speed figures are reported, not asserted (see docs/sidecar.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_redteam_short_form(tmp_path: Path) -> None:
    out = tmp_path / "redteam.json"
    r = subprocess.run([sys.executable, "-m", "sidecar.redteam", "--short", "--json", str(out)],
                       capture_output=True, text=True, timeout=580)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["disallowed"] == []
    assert report["alive_after"] and report["drain"]["not_serving_seen"]
    assert report["drain"]["exit_code"] == 0
    # Every expanding text at the limit was refused by the budget, not decoded.
    assert set(report["victim"]["attack_codes"]) == {"INVALID_ARGUMENT"}
    assert report["fuzz"]["codes"].get("INVALID_ARGUMENT", 0) > 0
    assert report["malformed"]["codes"].get("INVALID_ARGUMENT", 0) > 0
    # Every stalled reader was cut off (none read all of its line), and the honest client
    # still got its frames.
    slow = report["slow_readers"]
    assert slow["codes"].get("RESOURCE_EXHAUSTED", 0) == slow["readers"]
    assert slow["frames_read_max"] < 48_000
    assert not any(code.startswith("honest") for code in slow["codes"])

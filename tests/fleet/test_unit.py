"""The dashboard's systemd unit passes ``systemd-analyze verify`` (in a temporary root with a stand-in
for the installed binary, as tests/appliance/test_units.py does for the room's units)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "roomagent-fleet.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_unit_verifies(tmp_path):
    units = tmp_path / "usr/lib/systemd/system"
    for host_dir in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if host_dir.is_dir() and not units.exists():
            shutil.copytree(host_dir, units, symlinks=True)
    units.mkdir(parents=True, exist_ok=True)
    shutil.copy2(UNIT, units / UNIT.name)
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(UNIT)
    binary = parser["Service"]["ExecStart"].split()[0]
    stand_in = tmp_path / binary.lstrip("/")
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    done = subprocess.run(["systemd-analyze", "verify", f"--root={tmp_path}", UNIT.name], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
    # Never the development-only sandbox switch, and a broken config is not restarted.
    assert "QTWEBENGINE_DISABLE_SANDBOX" not in UNIT.read_text()
    assert parser["Service"]["RestartPreventExitStatus"] == "78"

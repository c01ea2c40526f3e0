"""The units of the servers that run without Qt (the directory and the invite service): unprivileged,
hardened, verified by systemd and scored by ``systemd-analyze security``. (The fleet's: tests/fleet/test_unit.py.)"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: unit name → (its user, the roomagent subcommand it runs)
SERVERS = {"roomagent-directory.service": ("roomagent-directory", "directory"),
           "roomagent-invite.service": ("roomagent-invite", "invite")}


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_the_unit_runs_unprivileged_and_hardened(name: str) -> None:
    user, command = SERVERS[name]
    text = (REPO / "systemd" / name).read_text()
    unit = configparser.RawConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(re.sub(r"^(SystemCallFilter)=~", r"\1Deny=", text, flags=re.M))
    service = unit["Service"]
    assert service["User"] == user and service["RestartPreventExitStatus"] == "78"
    assert "--host 127.0.0.1" in service["ExecStart"] and f" {command} " in service["ExecStart"]
    for key in ("NoNewPrivileges", "ProtectSystem", "PrivateDevices", "PrivateTmp", "ProtectHome"):
        assert service[key] in ("yes", "strict"), key
    assert service["CapabilityBoundingSet"] == "" and "QTWEBENGINE" not in text
    sysusers = (REPO / "systemd" / f"{name.removesuffix('.service')}.sysusers").read_text()
    assert re.search(rf"^u {user} ", sysusers, flags=re.M)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
@pytest.mark.parametrize("name", sorted(SERVERS))
def test_the_unit_verifies_and_scores_well(tmp_path: Path, name: str) -> None:
    root = tmp_path / "root"
    units = root / "usr/lib/systemd/system"
    units.mkdir(parents=True)
    shutil.copy(REPO / "systemd" / name, units)
    binary = root / "opt/roomagent-server/bin/roomagent"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    for host_dir in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        for target in ("network-online.target", "multi-user.target", "basic.target", "sysinit.target"):
            if (host_dir / target).exists() and not (units / target).exists():
                shutil.copy(host_dir / target, units / target)
    done = subprocess.run(["systemd-analyze", "verify", f"--root={root}", name],
                          capture_output=True, text=True, timeout=120)
    complaints = [line for line in done.stderr.splitlines() if name.removesuffix(".service") in line]
    assert complaints == [], done.stderr
    score = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={root}", name],
                           capture_output=True, text=True, timeout=120)
    match = re.search(rf"Overall exposure level for {re.escape(name)}: ([\d.]+)", score.stdout)
    assert match, score.stdout + score.stderr
    print(f"systemd-analyze security {name}: {match.group(1)}")
    assert float(match.group(1)) <= 2.0

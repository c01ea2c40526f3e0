"""The first-boot script (systemd/roomagent-firstboot) against temporary folders standing in for the boot
partition, /etc/roomagent and NetworkManager's connections, with the real ``roomagent check-config``."""

from __future__ import annotations

import grp
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "systemd" / "roomagent-firstboot"

GOOD = """
[room]
id = "h0104"
name = "Lecture hall H 0104"
[directory]
url = "https://mediaauth.example.org"
[meeting]
allowed_hosts = ["bbb.example.org"]
[mqtt]
url = "mqtts://mqtt.example.org:8883"
username = "room-h0104"
password_file = "{etc}/mqtt-password"
[[screens]]
id = "left"
"""


@pytest.fixture
def place(tmp_path):
    boot = tmp_path / "boot" / "roomagent"
    etc = tmp_path / "etc" / "roomagent"
    nm = tmp_path / "etc" / "NetworkManager" / "system-connections"
    boot.mkdir(parents=True)
    wrapper = tmp_path / "roomagent"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} -m roomagent \"$@\"\n")
    wrapper.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "ROOMAGENT_BOOT_DIRS": f"{tmp_path / 'nothing'} {boot}",
           "ROOMAGENT_ETC": str(etc), "ROOMAGENT_NM_DIR": str(nm), "ROOMAGENT_BIN": str(wrapper),
           "ROOMAGENT_GROUP": grp.getgrgid(os.getgid()).gr_name, "TMPDIR": str(tmp_path),
           "PYTHONPATH": str(REPO)}
    return boot, etc, nm, env


def _run(env) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_valid_profile_is_installed_once_with_its_secrets_and_network(place):
    boot, etc, nm, env = place
    (boot / "room.toml").write_text(GOOD.format(etc=etc))
    (boot / "room.d").mkdir()
    (boot / "room.d" / "50-name.toml").write_text('[room]\nname = "H 0104 (renovated)"\n')
    (boot / "files").mkdir()
    (boot / "files" / "mqtt-password").write_text("s3cret\n")
    (boot / "campus-wifi.nmconnection").write_text("[connection]\nid=campus\ntype=wifi\n")
    done = _run(env)
    assert done.returncode == 0, done.stderr
    assert (etc / "room.toml").read_text() == (boot / "room.toml.applied").read_text()
    assert (etc / "room.d" / "50-name.toml").is_file() and (etc / "mqtt-password").read_text() == "s3cret\n"
    assert {_mode(etc / "room.toml"), _mode(etc / "mqtt-password"), _mode(etc / "room.d" / "50-name.toml")} == {0o640}
    assert _mode(nm / "campus-wifi.nmconnection") == 0o600
    # Run once; secrets gone from the FAT partition.
    assert not (boot / "room.toml").exists() and not (boot / "files").exists()
    assert not (boot / "campus-wifi.nmconnection").exists()
    assert "room profile installed" in done.stderr and "s3cret" not in done.stderr
    # The drop-ins stay on the card (they are not secret) and are replaced as a set next time.
    (boot / "room.d" / "50-name.toml").unlink()
    (boot / "room.toml").write_text(GOOD.format(etc=etc))
    assert _run(env).returncode == 0 and not (etc / "room.d" / "50-name.toml").exists()


def test_a_broken_profile_is_refused_and_the_old_one_kept(place):
    boot, etc, nm, env = place
    etc.mkdir(parents=True)
    (etc / "room.toml").write_text("# the profile in use\n")
    (boot / "room.toml").write_text('[room]\nid = "H 0104"\nname = "x"\n')
    (boot / "files").mkdir()
    (boot / "files" / "extra.pem").write_text("cert")
    (boot / "wifi.nmconnection").write_text("[connection]\n")
    done = _run(env)
    assert done.returncode == 78
    assert (etc / "room.toml").read_text() == "# the profile in use\n"
    assert sorted(p.name for p in etc.iterdir()) == ["room.toml"]  # nothing of the new one stayed
    assert not nm.exists()  # no network change for a refused profile
    assert (boot / "room.toml.refused").is_file() and not (boot / "room.toml").exists()
    reasons = (boot / "room.toml.refused.txt").read_text()
    assert "room.id" in reasons and "previous one is still in use" in reasons
    assert "room.id" in done.stderr  # and in the journal


def test_nothing_to_do_without_a_profile(place):
    boot, etc, nm, env = place
    done = _run(env)
    assert done.returncode == 0 and "nothing to do" in done.stderr and not etc.exists()

"""fleet.toml: the shipped example stays valid, and every problem is reported with its key path."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from roomagent.configload import EX_CONFIG, ConfigError
from roomagent.fleet.config import FleetSettings, load_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "kiosk" / "fleet.example.toml"


def _example_here(tmp_path: Path) -> Path:
    """The example with its file paths pointing into ``tmp_path`` (nothing else changed)."""
    text = EXAMPLE.read_text()
    for name in ("/etc/roomagent/fleet-mqtt-password", "/etc/roomagent/fleet-session-secret",
                 "/etc/roomagent/fleet-smtp-password"):
        target = tmp_path / Path(name).name
        target.write_text("x" * 64 + "\n")
        text = text.replace(name, str(target))
    (tmp_path / "log").mkdir()
    text = text.replace("/var/log/roomagent-fleet/audit.jsonl", str(tmp_path / "log" / "audit.jsonl"))
    text = text.replace("/var/lib/roomagent-fleet/history.sqlite", str(tmp_path / "history.sqlite"))
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    return path


def test_the_example_is_valid(tmp_path):
    settings = load_settings(_example_here(tmp_path))
    assert settings.auth.mode == "password" and settings.auth.users[0].name == "alice"
    assert [r.id for r in settings.rooms] == ["h0104", "s2-201"]
    assert settings.mqtt.url.startswith("mqtts://")
    assert settings.history.retention_days == 90 and settings.alerts.email.security == "starttls"
    # The example's hash is the one its comment names.
    from roomagent.fleet.access import Authenticator

    assert Authenticator(settings.auth).check_password("alice", "correct horse battery staple")


def test_every_problem_is_reported_with_its_key_path(tmp_path):
    text = _example_here(tmp_path).read_text()
    text = text.replace('url = "mqtts://broker.example.org:8883"', "")
    text = text.replace(str(tmp_path / "fleet-session-secret"), str(tmp_path / "missing"))
    text = text.replace('password_hash = "$argon2id$', 'password_hash = "plain$argon2id$')
    text += '\n[[rooms]]\nid = "Bad Room"\n'
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(bad)
    lines = "\n".join(caught.value.errors)
    assert "auth.users[0].password_hash: must be an argon2id hash" in lines
    assert "rooms[2].id: must be lower-case" in lines
    assert "web.session_secret_file: file" in lines and "does not exist" in lines
    assert "mqtt.url: Field required" in lines


def test_no_anonymous_mode(tmp_path):
    data = tomllib.loads(_example_here(tmp_path).read_text())
    data["auth"] = {"mode": "password", "users": []}
    with pytest.raises(Exception, match="needs at least one"):
        FleetSettings.model_validate(data)
    data["auth"] = {"mode": "proxy"}
    with pytest.raises(Exception, match="needs trusted_proxies"):
        FleetSettings.model_validate(data)
    del data["auth"]
    with pytest.raises(Exception, match="auth"):
        FleetSettings.model_validate(data)


def test_cli_exits_78_on_a_broken_config(tmp_path):
    bad = tmp_path / "fleet.toml"
    bad.write_text('[mqtt]\nurl = "http://nope"\n')
    done = subprocess.run([sys.executable, "-m", "roomagent", "fleet", "--config", str(bad)], capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    assert done.returncode == EX_CONFIG
    assert "mqtt.url: must look like mqtt://host:1883" in done.stderr
    assert "web: Field required" in done.stderr


def test_hash_password_prints_a_hash_the_config_accepts():
    done = subprocess.run([sys.executable, "-m", "roomagent", "fleet", "hash-password"], input="s3cret-enough\n",
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    hashed = done.stdout.strip()
    assert hashed.startswith("$argon2id$") and "s3cret" not in hashed
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(hashed, "s3cret-enough")

"""The room profile: precedence, drop-ins, and every error reported with its key path (exit 78)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from roomagent.configload import EX_CONFIG, ConfigError
from roomagent.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
BASE = """
[room]
id = "h0104"
name = "File name"
[directory]
url = "https://mediaauth.example.org"
[meeting]
allowed_hosts = ["bbb.example.org"]
[[screens]]
id = "left"
[[screens]]
id = "right"
"""


@pytest.fixture
def room_file(tmp_path) -> Path:
    path = tmp_path / "room.toml"
    path.write_text(BASE)
    return path


def test_the_shipped_example_profile_is_valid():
    profile = load_profile(ROOT / "kiosk" / "room.example.toml")
    assert profile.media_screen.id == "left" and profile.panel.output == "DSI-1"


def test_defaults_and_media_screen_default_to_the_first(room_file):
    profile = load_profile(room_file)
    assert profile.room.language == "en" and profile.panel.output is None
    assert profile.media_screen.id == "left"


def test_precedence_cli_over_env_over_drop_in_over_file(room_file, monkeypatch):
    drop_in = room_file.parent / "room.d"
    drop_in.mkdir()
    (drop_in / "10-name.toml").write_text('[room]\nname = "Drop-in name"\nlanguage = "de"\n')
    profile = load_profile(room_file)
    assert (profile.room.name, profile.room.language, profile.room.id) == ("Drop-in name", "de", "h0104")
    monkeypatch.setenv("ROOMAGENT_ROOM__NAME", "Env name")
    assert load_profile(room_file).room.name == "Env name"
    cli = load_profile(room_file, {"room": {"id": "h0104", "name": "CLI name"}})
    assert cli.room.name == "CLI name"


@pytest.mark.parametrize("patch, path, words", [
    ('id = "H 0104"', "room.id", "lower-case"),
    ('url = "http://mediaauth.example.org"', "directory.url", "https"),
    ('allowed_hosts = ["*"]', "meeting.allowed_hosts", "wildcard"),
])
def test_each_error_names_its_key_path(room_file, patch, path, words):
    key = patch.split(" = ")[0]
    text = "\n".join(patch if line.startswith(f"{key} = ") else line for line in BASE.splitlines())
    room_file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_profile(room_file)
    assert any(line.startswith(path) and words in line for line in caught.value.errors), caught.value.errors


def test_http_directory_is_allowed_on_loopback_only(room_file):
    room_file.write_text(BASE.replace("https://mediaauth.example.org", "http://127.0.0.1:8080"))
    assert load_profile(room_file).directory.url == "http://127.0.0.1:8080"


def test_two_media_screens_and_duplicate_ids_are_refused(room_file):
    room_file.write_text(BASE.replace('id = "right"', 'id = "left"'))
    with pytest.raises(ConfigError, match="duplicate id left"):
        load_profile(room_file)
    room_file.write_text(BASE.replace('id = "left"', 'id = "left"\nmedia = true')
                         .replace('id = "right"', 'id = "right"\nmedia = true'))
    with pytest.raises(ConfigError, match="only one screen may have media"):
        load_profile(room_file)


def test_unreadable_or_broken_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_profile(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[room\nid=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_profile(broken)


def test_check_config_prints_every_error_and_exits_78(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[room]\nid = "X"\nlanguage = "fr"\n[directory]\nurl = "ftp://x"\n[meeting]\nallowed_hosts = []\n')
    done = subprocess.run([sys.executable, "-m", "roomagent", "check-config", "--config", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == EX_CONFIG
    for path in ("room.id", "room.name", "room.language", "directory.url", "meeting.allowed_hosts", "screens"):
        assert f"  {path}" in done.stderr, done.stderr


def test_check_config_lists_layouts_a_room_cannot_show_and_refuses_a_broken_one(tmp_path):
    one = tmp_path / "room.toml"
    one.write_text(BASE.replace('[[screens]]\nid = "right"\n', ""))
    done = subprocess.run([sys.executable, "-m", "roomagent", "check-config", "--config", str(one)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "default layout: single-screen" in done.stdout
    assert "note: layout 'lecture' is not offered in this room: no screen with role 'side'" in done.stdout

    drop_in = tmp_path / "room.d"
    drop_in.mkdir()
    (drop_in / "layouts.toml").write_text(
        '[meeting]\ndefault_layout = "lecture"\n[layouts.exam]\ntitle = "Exam"\n'
        '[layouts.exam.roles.main]\nbbb = { enforce_layout = "EVERYTHING" }\n')
    done = subprocess.run([sys.executable, "-m", "roomagent", "check-config", "--config", str(one)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == EX_CONFIG
    assert "layouts.exam.roles.main.bbb.enforce_layout" in done.stderr, done.stderr


@pytest.mark.parametrize("url, words", [
    ("mqtt://user:secret@broker.example.org:1883", "must not carry credentials"),
    ("tcp://broker.example.org:1883", "mqtt://host:1883"),
    ("mqtt://broker.example.org:port", "not a number"),
])
def test_a_broken_broker_url_is_refused_in_words(room_file, url, words):
    room_file.write_text(BASE + f'\n[mqtt]\nurl = "{url}"\n')
    with pytest.raises(ConfigError) as caught:
        load_profile(room_file)
    assert any(line.startswith("mqtt.url") and words in line for line in caught.value.errors), caught.value.errors

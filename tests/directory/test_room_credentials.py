"""Per-room credentials at the real directory over HTTP, on both stores: who is refused with which answer,
what a refusal costs whom, rotation with the real ``roomagent directory room`` CLI while the directory
runs, and a rooms file broken at run time or at start.

Requests are told apart by ``X-Forwarded-For`` from the trusted loopback proxy. The test settings allow 5
failures per requester per minute.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from roomagent.configload import EX_CONFIG, ConfigError
from roomagent.directory.server.main import serve_from_cli
from roomagent.directory.server.settings import load_settings
from tests.directory.helpers import (
    BBB_URL,
    assert_error,
    create_code,
    http_client,
    provision_rooms,
    room_headers,
)

WRONG = "ABC-DEF-234"
PROXY = ["127.0.0.0/8"]
NET = "198.51.100.7"


def redeem(client: httpx.Client, code: str, headers: dict[str, str] | None = None, address: str = NET) -> httpx.Response:
    return client.get("/meeting", headers={"Code": code, "X-Forwarded-For": address, **(headers or {})})


def rooms_cli(*args: str) -> subprocess.CompletedProcess:
    """``roomagent directory room ...`` as operators run it."""
    return subprocess.run([sys.executable, "-m", "roomagent", "directory", "room", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def rooms(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "rooms.toml"
    return path, provision_rooms(path, "h0104", "h0105")


@pytest.fixture
def server(start_directory, rooms):
    return start_directory(trusted_proxies=PROXY, rooms_file=str(rooms[0]))


def test_an_authenticated_room_redeems_and_is_recorded(server, rooms):
    secret = rooms[1]["h0104"]
    with http_client(server.url) as client:
        code = create_code(client)
        response = redeem(client, code, room_headers("h0104", secret))
        assert response.status_code == 200 and response.json()["data"]["join_url"] == BBB_URL
        status = client.get("/meeting/status", headers={"Code": code, "Authorization": "Bearer test-token-bbb-0123456789"})
        assert status.json()["data"]["room"]["id"] == "h0104"


@pytest.mark.parametrize(("headers", "words"), [
    (room_headers("h0104"), "room h0104 must prove who it is"),
    (room_headers("h0104", "wrong-secret-0123456789abcdef"), "room credential not accepted for room h0104"),
    ({**room_headers("h0104"), "Authorization": "Basic aDAxMDQ6eA=="}, "not accepted for room h0104"),
    (room_headers("h0999", "wrong-secret-0123456789abcdef"), "not accepted for room h0999"),
    ({"Authorization": "Bearer wrong-secret-0123456789abcdef"}, "needs the room's Room-Id"),
])
def test_a_refused_identity_gets_401_and_leaves_the_code_alone(server, rooms, headers, words):
    secret = rooms[1]["h0104"]
    with http_client(server.url) as client:
        code = create_code(client)
        response = redeem(client, code, headers)
        assert words in assert_error(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
        # The code was not looked up: the real room still gets it.
        assert redeem(client, code, room_headers("h0104", secret)).status_code == 200


def test_a_refused_identity_is_the_networks_failure_never_the_rooms(server, rooms):
    secret = rooms[1]["h0104"]
    with http_client(server.url) as client:
        for _ in range(5):  # forged h0104 requests from the room's own network
            assert_error(redeem(client, WRONG, room_headers("h0104", "forged-secret-0123456789")), 401)
        assert_error(redeem(client, WRONG, room_headers("h0104")), 429)  # the forger's budget is spent ...
        assert_error(redeem(client, create_code(client)), 429)  # ... and with it the network's anonymous one
        # The room is untouched, on this network and any other.
        assert redeem(client, create_code(client), room_headers("h0104", secret)).status_code == 200
        assert redeem(client, create_code(client), room_headers("h0104", secret), "192.0.2.9").status_code == 200


def test_an_authenticated_room_answers_for_its_own_failures_wherever_it_is(server, rooms):
    secret, other = rooms[1]["h0104"], rooms[1]["h0105"]
    with http_client(server.url) as client:
        for n in range(5):  # its own typos, from two networks: they add up for the room
            assert_error(redeem(client, WRONG, room_headers("h0104", secret), f"192.0.2.{n % 2 + 1}"), 404)
        assert_error(redeem(client, create_code(client), room_headers("h0104", secret), "192.0.2.3"), 429)
        # Nobody else pays for them: the network's anonymous requests and another room go on.
        assert redeem(client, create_code(client), {}, "192.0.2.1").status_code == 200
        assert redeem(client, create_code(client), room_headers("h0105", other), "192.0.2.1").status_code == 200


def test_an_unregistered_room_id_without_a_credential_stays_anonymous(server):
    with http_client(server.url) as client:
        assert redeem(client, create_code(client), room_headers("h0200")).status_code == 200


def test_require_room_credentials_refuses_anonymous_redemptions(start_directory, rooms):
    server = start_directory(trusted_proxies=PROXY, rooms_file=str(rooms[0]), require_room_credentials=True)
    with http_client(server.url) as client:
        code = create_code(client)
        assert "only for rooms with a credential" in assert_error(redeem(client, code), 401)
        assert "only for rooms with a credential" in assert_error(redeem(client, code, room_headers("h0200")), 401)
        assert redeem(client, code, room_headers("h0105", rooms[1]["h0105"])).status_code == 200


def test_rotation_with_the_cli_while_the_directory_runs(server, rooms, tmp_path):
    path, secrets = rooms
    old = secrets["h0104"]
    new_file = tmp_path / "h0104.secret"
    with http_client(server.url) as client:
        def works(secret: str) -> bool:
            return redeem(client, create_code(client), room_headers("h0104", secret)).status_code == 200

        done = rooms_cli("rotate", "h0104", "--rooms-file", str(path), "--secret-out", str(new_file))
        assert done.returncode == 0, done.stderr
        new = new_file.read_text().strip()
        assert new_file.stat().st_mode & 0o777 == 0o600
        assert works(old) and works(new)  # both valid during the rotation: no downtime
        done = rooms_cli("retire", "h0104", "--rooms-file", str(path))
        assert done.returncode == 0, done.stderr
        assert works(new)
        assert_error(redeem(client, create_code(client), room_headers("h0104", old), "192.0.2.50"), 401)
        added = rooms_cli("add", "h0300", "--rooms-file", str(path))
        assert added.returncode == 0, added.stderr
        assert works(new) and redeem(client, create_code(client),
                                     room_headers("h0300", added.stdout.strip())).status_code == 200
        assert rooms_cli("remove", "h0300", "--rooms-file", str(path)).returncode == 0
        assert_error(redeem(client, create_code(client), room_headers("h0300", added.stdout.strip()), "192.0.2.51"), 401)
    assert old not in path.read_text() and new not in path.read_text()  # only hashes are stored


@pytest.mark.parametrize(("args", "words"), [
    (["add", "h0104"], "already registered"),
    (["rotate", "h0999"], "not registered"),
    (["retire", "h0104"], "only one secret"),
    (["add", "H0104"], "not a room id"),
])
def test_the_cli_refuses_what_it_cannot_do_and_changes_nothing(rooms, args, words):
    path = rooms[0]
    before = path.read_text()
    done = rooms_cli(*args, "--rooms-file", str(path))
    assert done.returncode == 1 and words in done.stderr
    assert path.read_text() == before


def test_the_cli_never_overwrites_a_secret_file(rooms, tmp_path):
    path = rooms[0]
    existing = tmp_path / "live.secret"
    existing.write_text("the-live-secret-of-the-room\n")
    before = path.read_text()
    done = rooms_cli("rotate", "h0104", "--rooms-file", str(path), "--secret-out", str(existing))
    assert done.returncode == 1 and "exists" in done.stderr
    assert existing.read_text() == "the-live-secret-of-the-room\n" and path.read_text() == before


def test_a_rooms_file_broken_at_run_time_keeps_the_last_good_one(server, rooms, caplog):
    path, secrets = rooms
    with http_client(server.url) as client, caplog.at_level(logging.ERROR, "roomagent.directory"):
        path.write_text("[rooms]\nh0104 = ['not-a-hash']\n")
        assert redeem(client, create_code(client), room_headers("h0104", secrets["h0104"])).status_code == 200
        assert any("rooms.h0104[0]" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("text", "words"), [
    (None, "does not exist"),
    ("[rooms\n", "not valid TOML"),
    ("[rooms]\nh0104 = []\n", "rooms.h0104: must be a list of 1 or 2 hashes"),
    ("[rooms]\nh0104 = ['sha256:00', 'sha256:11', 'sha256:22']\n", "rooms.h0104"),
    ("[rooms]\n'Bad Id' = ['sha256:" + "0" * 64 + "']\n", "not a room id"),
    ("extra = 1\n", "unknown key(s) extra"),
])
def test_a_broken_rooms_file_is_a_config_error_with_its_key_path(tmp_path, text, words, capsys):
    rooms_file = tmp_path / "rooms.toml"
    if text is not None:
        rooms_file.write_text(text)
    config = tmp_path / "directory.toml"
    config.write_text(f'allowed_join_hosts = ["*.example.org"]\nrooms_file = "{rooms_file}"\n'
                      '[tokens]\nbbb = "0123456789abcdef0123"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert any(line.startswith("rooms_file:") and words in line for line in info.value.errors), info.value.errors
    assert serve_from_cli(str(config), "127.0.0.1", 0) == EX_CONFIG
    assert "rooms_file:" in capsys.readouterr().err


def test_require_room_credentials_needs_a_rooms_file(tmp_path):
    config = tmp_path / "directory.toml"
    config.write_text('allowed_join_hosts = ["*.example.org"]\nrequire_room_credentials = true\n'
                      '[tokens]\nbbb = "0123456789abcdef0123"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert any(line.startswith("require_room_credentials: needs rooms_file") for line in info.value.errors)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files another group needs root")
def test_the_cli_gives_a_new_rooms_file_its_folders_group_and_keeps_it_on_changes(tmp_path):
    folder = tmp_path / "directory"
    folder.mkdir()
    os.chown(folder, 0, 4242)  # like /etc/roomagent/directory: root:roomagent-directory
    path = folder / "rooms.toml"
    assert rooms_cli("add", "h0104", "--rooms-file", str(path)).returncode == 0
    assert (path.stat().st_gid, path.stat().st_mode & 0o777) == (4242, 0o640)
    path.chmod(0o600)
    assert rooms_cli("rotate", "h0104", "--rooms-file", str(path)).returncode == 0
    assert (path.stat().st_gid, path.stat().st_mode & 0o777) == (4242, 0o600)

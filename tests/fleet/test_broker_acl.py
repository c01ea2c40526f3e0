"""The dashboard on a broker with the shipped ACL and passwords (kiosk/mosquitto/): as a controller
(``ctl_fleet``) its actions reach a room and the room's reply comes back on ``roomagent/_ctl/+/reply``,
which the ACL lets rooms write; as a monitor (``mon_dashboard``) it shows the fleet, and an action says at
once that the broker refused it instead of waiting for a reply that cannot come."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from roomagent.fleet.web import create_app
from roomagent.serving import run_in_thread
from tests.control.broker import GUARD_S, Mosquitto
from tests.fleet.conftest import PASSWORD, SimRoom, audit_lines, make_settings, state

ACL = Path(__file__).resolve().parents[2] / "kiosk" / "mosquitto" / "roomagent.acl"
USERS = {"h0104": "pw-room", "ctl_fleet": "pw-controller", "mon_dashboard": "pw-monitor"}


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory):
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd is not installed")
    folder = tmp_path_factory.mktemp("acl")
    passwd = folder / "passwd"
    for n, (user, password) in enumerate(USERS.items()):
        subprocess.run(["mosquitto_passwd", "-b", *(["-c"] if n == 0 else []), str(passwd), user, password],
                       check=True, capture_output=True)
    server = Mosquitto(folder, extra=f"password_file {passwd}\nacl_file {ACL}\n", anonymous=False).start()
    room = SimRoom(server.port, "h0104", answer=True, password=USERS["h0104"]).connect(state())
    yield server
    room.close()
    server.stop()


def _dashboard(tmp_path: Path, broker: Mosquitto, user: str):
    settings = make_settings(tmp_path, broker.url)
    secret = tmp_path / f"{user}.password"
    secret.write_text(USERS[user] + "\n")
    mqtt = settings.mqtt.model_copy(update={"username": user, "password_file": str(secret)})
    return settings.model_copy(update={"mqtt": mqtt})


def _identify(server) -> str:
    with httpx.Client(base_url=server.url, timeout=GUARD_S) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"csrf": token, "name": "alice", "password": PASSWORD})
        deadline = time.monotonic() + GUARD_S
        while not (health := client.get("/healthz").json())["mqtt"] or "online" not in client.get("/rooms/h0104").text:
            assert time.monotonic() < deadline, f"the dashboard never followed the room: {health}"
            time.sleep(0.05)
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/rooms/h0104").text).group(1)  # new session
        return client.post("/rooms/h0104/actions/identify_screens", data={"csrf": token},
                           headers={"hx-request": "true"}).text


def test_a_controller_account_commands_rooms(tmp_path, acl_broker):
    settings = _dashboard(tmp_path, acl_broker, "ctl_fleet")
    with run_in_thread(create_app(settings)) as server:
        assert "Identify screens</strong>: ok" in _identify(server)
    assert audit_lines(settings)[-1]["reply"]["status"] == "ok"


def test_a_monitor_account_shows_the_fleet_and_refuses_actions_with_a_reason(tmp_path, acl_broker):
    settings = _dashboard(tmp_path, acl_broker, "mon_dashboard")
    with run_in_thread(create_app(settings)) as server:
        reply = _identify(server)
    assert "no reply — the broker refused the command (Not authorized): check the ACL" in reply

"""The meeting-scoped relay end to end through the shipped broker example (kiosk/mosquitto/, as shipped):
the real directory over HTTP, its relay logged in as the example's relay user, and a room's real MQTT edge
logged in as the room. ``POST /meeting/command`` must come back with the room's reply, not 504/503."""

from __future__ import annotations

from pathlib import Path

import pytest

from roomagent.directory.server.app import create_app
from roomagent.directory.server.main import run_in_thread
from tests.control.broker import GUARD_S, kill_process
from tests.directory.helpers import AUTH, FakeClock, create_code, http_client, settings_for
from tests.security.shipped import RELAY, ROOM_A, ShippedBroker, secret_file, start_room


@pytest.fixture
def broker(tmp_path: Path):
    server = ShippedBroker(tmp_path).start()
    yield server
    server.stop()


def test_a_meeting_server_commands_the_room_through_the_shipped_broker(broker, tmp_path):
    mqtt = {"url": broker.url, "username": RELAY, "password_file": str(secret_file(tmp_path, RELAY)),
            "ca_file": str(broker.certs.ca)}
    settings = settings_for("memory", mqtt=mqtt)
    clock = FakeClock()
    app = create_app(settings, clock)
    room, lines = start_room(broker, ROOM_A)
    try:
        assert lines.get(timeout=GUARD_S) == "connected"
        with run_in_thread(settings, clock=clock, app=app) as server, http_client(server.url) as http:
            assert app.state.relay.ready_event.wait(GUARD_S), "the relay never subscribed to its reply topic"
            code = create_code(http)
            redeemed = http.get("/meeting", headers={"Code": code, "Room-Id": ROOM_A})
            assert redeemed.status_code == 200, redeemed.text
            answer = http.post("/meeting/command", json={"action": "get_state"}, headers={"Code": code, **AUTH})
            assert answer.status_code == 200, answer.text
            reply = answer.json()["data"]
            assert reply["status"] == "ok" and reply["data"]["state"]["version"] == "child"
    finally:
        kill_process(room)

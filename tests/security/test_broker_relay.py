"""The meeting-scoped relay end to end through the shipped broker example (kiosk/mosquitto/, as shipped):
the real directory over HTTP, its relay logged in as the example's relay user, and a room's real MQTT edge
logged in as the room. ``POST /meeting/command`` must come back with the room's reply, not 504/503, and
only with that room's: a reply forged by another room is dropped (issue 21 item 2)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from roomagent.directory.server.app import create_app
from roomagent.directory.server.main import run_in_thread
from tests.control.broker import GUARD_S, kill_process
from tests.directory.helpers import AUTH, FakeClock, create_code, http_client, settings_for
from tests.security.shipped import CONTROLLER, RELAY, ROOM_A, ROOM_B, ShippedBroker, secret_file, start_room


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


def test_a_reply_forged_by_another_room_is_dropped_and_the_rooms_own_reply_counts(broker, tmp_path):
    """Issue 21 item 2. Room h0104 is offline (a probe logged in as h0104 reads its command and stays
    silent); a controller watches everything it may; room h0105 answers for h0104 with the command's own
    correlation data, on h0104's reply topic and on its own. Before: the meeting server got h0105's
    ``200 ok``. Now the broker refuses the first, the relay drops the second, the caller gets 504; then
    the real agent of h0104 comes up and its reply is the one that counts."""
    mqtt = {"url": broker.url, "username": RELAY, "password_file": str(secret_file(tmp_path, RELAY)),
            "ca_file": str(broker.certs.ca)}
    settings = settings_for("memory", mqtt=mqtt, relay_timeout_s=2.0)
    clock = FakeClock()
    app = create_app(settings, clock)
    with (run_in_thread(settings, clock=clock, app=app) as server, http_client(server.url) as http,
          broker.probe(CONTROLLER) as ctl, broker.probe(ROOM_B) as forger):
        assert app.state.relay.ready_event.wait(GUARD_S), "the relay never subscribed to its reply topic"
        code = create_code(http)
        assert http.get("/meeting", headers={"Code": code, "Room-Id": ROOM_A}).status_code == 200
        ctl.subscribe("roomagent/#")
        with broker.probe(ROOM_A) as silent_room, ThreadPoolExecutor(1) as pool:
            silent_room.subscribe(f"roomagent/{ROOM_A}/command")
            pending = pool.submit(http.post, "/meeting/command", json={"action": "mute"},
                                  headers={"Code": code, **AUTH})
            [sent] = silent_room.wait_for(lambda m: m.topic == f"roomagent/{ROOM_A}/command")
            reply_topic = sent.properties.ResponseTopic
            command_id = json.loads(sent.payload)["id"]
            forged = json.dumps({"id": command_id, "status": "ok", "data": {"forged_by": ROOM_B}})
            on_its_topic = forger.publish(reply_topic, forged, correlation=sent.correlation)
            on_own_topic = reply_topic.replace(f"/_relay/{ROOM_A}/", f"/_relay/{ROOM_B}/")
            forger.publish(on_own_topic, forged, correlation=sent.correlation)
            answer = pending.result(timeout=GUARD_S)
        assert answer.status_code == 504, answer.text  # before the fix: 200 {"status": "ok", "data": {"forged_by"...
        assert on_its_topic.is_failure  # the shipped ACL: only h0104 writes _relay/h0104/...
        assert app.state.relay.forged_replies == 1  # ... and the relay refused the one on h0105's own topic
        # The controller saw neither the command (nor its correlation data) nor any relay reply.
        assert not ctl.find(lambda m: m.topic.endswith("/command") or "/_relay/" in m.topic)
        # The room itself comes back: its reply goes through, on its own reply topic.
        room, lines = start_room(broker, ROOM_A)
        try:
            assert lines.get(timeout=GUARD_S) == "connected"
            answer = http.post("/meeting/command", json={"action": "get_state"}, headers={"Code": code, **AUTH})
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["data"]["state"]["version"] == "child"
        finally:
            kill_process(room)

"""``roomagent ctl`` against a real broker: a real agent process, a fake responder, nobody at all."""

from __future__ import annotations

import json

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from roomagent.control.ctl import main
from roomagent.serving import free_port
from tests.control.broker import GUARD_S, kill_process, start_child_agent


def ctl(broker, *args: str) -> list[str]:
    return ["--broker", broker.url, "--timeout", "3", *args]


def test_get_state_from_a_running_agent(broker, capsys):
    proc, lines = start_child_agent(broker.url, "r-live")
    try:
        assert lines.get(timeout=GUARD_S) == "connected"
        assert main(ctl(broker, "--room", "r-live", "get_state")) == 0
        reply = json.loads(capsys.readouterr().out)
        assert reply["status"] == "ok" and reply["id"].startswith("ctl-") and reply["data"]["state"]["state"] == "idle"
    finally:
        kill_process(proc)


def _responder(broker, probe_factory, status: str):
    """A fake room that answers every command with ``status`` on its response topic."""
    seen: list[dict] = []

    def answer(client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        request = json.loads(message.payload)
        seen.append(request)
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = message.properties.CorrelationData
        body = {"id": request["id"], "status": status}
        if status == "error":
            body["error"] = {"code": "not_in_meeting", "message": "the room is not in a meeting"}
        client.publish(message.properties.ResponseTopic, json.dumps(body), qos=1, properties=props)

    probe = probe_factory(broker.port, handler=answer)
    probe.subscribe("roomagent/r-fake/command")
    return seen


def test_an_error_reply_exits_1_and_arguments_reach_the_room(broker, probe_factory, capsys):
    seen = _responder(broker, probe_factory, "error")
    assert main(ctl(broker, "--room", "r-fake", "--meeting", "m-7", "show_message", "Hello", "--seconds", "20")) == 1
    reply = json.loads(capsys.readouterr().out)
    assert reply["error"]["code"] == "not_in_meeting"
    assert seen == [{"id": reply["id"], "action": "show_message", "text": "Hello", "seconds": 20.0, "meeting": "m-7"}]


def test_ok_reply_for_a_command_with_two_arguments(broker, probe_factory, capsys):
    seen = _responder(broker, probe_factory, "ok")
    assert main(ctl(broker, "--room", "r-fake", "preview_source", "left", "hdmi1")) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "ok"
    assert seen[0]["screen"] == "left" and seen[0]["source"] == "hdmi1"


def test_no_reply_exits_2_after_the_timeout(broker, probe_factory, capsys):
    probe = probe_factory(broker.port)
    probe.publish("roomagent/r-gone/availability", b"offline", retain=True)
    assert main(["--broker", broker.url, "--timeout", "0.3", "--room", "r-gone", "mute"]) == 2
    err = capsys.readouterr().err
    assert "no reply from room r-gone within 0.3 s (the room is offline)" in err


def test_unreachable_broker_exits_2(capsys):
    port = free_port()
    assert main(["--broker", f"mqtt://127.0.0.1:{port}", "--timeout", "3", "--room", "x", "mute"]) == 2
    assert f"127.0.0.1:{port}: cannot reach the broker: [Errno 111] Connection refused" in capsys.readouterr().err


def test_invalid_arguments_are_refused_before_sending(broker, probe_factory, capsys):
    probe = probe_factory(broker.port)
    probe.subscribe("roomagent/#")
    assert main(ctl(broker, "--room", "r1", "share_source", "Not An Id")) == 2
    assert "invalid command: field 'source'" in capsys.readouterr().err
    assert main(ctl(broker, "mute")) == 2  # no --room
    assert main(ctl(broker, "--room", "r1", "dance")) == 2
    probe.publish("roomagent/marker", b"m")  # everything before the marker would have arrived first
    probe.wait_for(lambda m: m.topic == "roomagent/marker")
    assert [m.topic for m in probe.received] == ["roomagent/marker"]


def _fleet(broker, probe_factory) -> None:
    probe = probe_factory(broker.port)
    in_meeting = {"state": "in_meeting", "meeting": {"id": "m1", "platform": "bbb", "host": "bbb.example.org",
                                                     "since": 1.0}, "layout": "cameras", "muted": True,
                  "error": None}
    failed = {"state": "idle", "meeting": None, "layout": None, "muted": None,
              "error": {"code": "directory_unavailable", "message": "timed out", "at": 2.0}}
    for room, availability, state in [("a-101", "online", in_meeting), ("b-202", "offline", failed),
                                      ("c-303", "online", {"state": "idle", "meeting": None}),
                                      ("d-404", "offline", None), ("e-505", "online", None)]:
        probe.publish(f"roomagent/{room}/availability", availability, retain=True)
        if state is not None:
            probe.publish(f"roomagent/{room}/state", json.dumps(state), retain=True)


def test_status_lists_offline_rooms_first(broker, probe_factory, capsys):
    _fleet(broker, probe_factory)
    assert main(["--broker", broker.url, "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ROOM", "AVAILABILITY", "STATE", "MEETING", "HOST", "LAYOUT", "MUTED", "ERROR"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["b-202", "offline"], ["a-101", "online"], ["c-303", "online"], ["e-505", "online"]]
    assert lines[1].split()[2:] == ["idle", "-", "-", "-", "directory_unavailable:", "timed", "out"]
    assert lines[2].split()[2:] == ["in_meeting", "bbb.example.org", "cameras", "yes", "-"]


def test_status_all_and_json(broker, probe_factory, capsys):
    _fleet(broker, probe_factory)
    assert main(["--broker", broker.url, "status", "--all", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["room"], r["availability"]) for r in rows] == [
        ("b-202", "offline"), ("d-404", "offline"), ("a-101", "online"), ("c-303", "online"), ("e-505", "online")]
    assert rows[2]["meeting_host"] == "bbb.example.org" and rows[2]["snapshot"]["layout"] == "cameras"

"""MqttControl against a real mosquitto: commands in, replies out, state, availability, events."""

from __future__ import annotations

import json
import threading

from roomagent.control.mqtt import MqttControl, ReplyRoute
from roomagent.core.commands import COMMAND, MAX_COMMAND_BYTES, CommandReply
from roomagent.serving import free_port
from tests.control.broker import GUARD_S, Mosquitto
from tests.control.commands import EXAMPLES, all_actions, fuzz_payloads

GUARD_MS = int(GUARD_S * 1000)


def _answer_everything(control: MqttControl, seen: list) -> None:
    """Act as the app: record each command (and whether it arrived in the main thread) and reply ok."""

    def on_command(command, route: ReplyRoute) -> None:
        seen.append((command, route, threading.current_thread() is threading.main_thread()))
        control.reply(route, CommandReply(id=command.id, status="ok", data={"action": command.action}))

    control.command_received.connect(on_command)


def test_examples_cover_every_action() -> None:
    assert set(EXAMPLES) == all_actions()


def test_every_action_round_trips_with_response_topic_and_correlation(control, broker, probe_factory, qtbot):
    probe = probe_factory(broker.port)
    probe.subscribe("test/replies/#")
    seen: list = []
    _answer_everything(control, seen)
    sent = {}
    for n, (action, fields) in enumerate(EXAMPLES.items()):
        payload = {"id": f"r{n}", "action": action, **fields}
        sent[f"r{n}"] = payload
        probe.publish(control.topics.command, json.dumps(payload), response_topic=f"test/replies/{n}",
                      correlation=f"corr-{n}".encode())

    def replies() -> list:
        return probe.find(lambda m: m.topic.startswith("test/replies/"))

    qtbot.waitUntil(lambda: len(replies()) == len(EXAMPLES), timeout=GUARD_MS)

    assert len(seen) == len(EXAMPLES)
    for command, route, in_main_thread in seen:
        n = command.id[1:]
        assert in_main_thread
        assert command == COMMAND.validate_python(sent[command.id])
        assert route == ReplyRoute(topic=f"test/replies/{n}", correlation_data=f"corr-{n}".encode())
    for message in replies():
        n = message.topic.rsplit("/", 1)[1]
        body = json.loads(message.payload)
        assert body == {"id": f"r{n}", "status": "ok", "data": {"action": sent[f"r{n}"]["action"]}}
        assert message.correlation == f"corr-{n}".encode()
        assert not message.retain


def test_requests_without_response_topic_are_answered_on_the_room_response_topic(control, broker, probe_factory,
                                                                                  qtbot):
    listener = probe_factory(broker.port)
    listener.subscribe(control.topics.response)
    seen: list = []
    _answer_everything(control, seen)
    v311 = probe_factory(broker.port, v5=False)  # an MQTT 3.1.1 client cannot send a response topic
    v311.publish(control.topics.command, json.dumps({"id": "old-client", "action": "mute"}))
    v5 = probe_factory(broker.port)
    v5.publish(control.topics.command, json.dumps({"id": "no-topic", "action": "unmute"}))
    qtbot.waitUntil(lambda: len(listener.on(control.topics.response)) == 2, timeout=GUARD_MS)
    assert [json.loads(m.payload)["id"] for m in listener.on(control.topics.response)] == ["old-client", "no-topic"]
    assert [route for _, route, _ in seen] == [ReplyRoute(control.topics.response, None)] * 2


def test_bad_payloads_are_answered_by_the_edge_and_never_reach_the_app(control, broker, probe_factory, qtbot):
    probe = probe_factory(broker.port)
    probe.subscribe("test/#")
    seen: list = []
    _answer_everything(control, seen)
    oversized = b'{"id": "big", "action": "show_message", "text": "' + b"x" * MAX_COMMAND_BYTES + b'"}'
    cases = {
        "malformed": (b'{"id": "m1", "action": ', "invalid", ""),
        "unknown-action": (b'{"id": "m2", "action": "dance"}', "invalid", "m2"),
        "wrong-type": (b'{"id": "m3", "action": "set_layout", "layout": 5}', "invalid", "m3"),
        "extra-field": (b'{"id": "m4", "action": "mute", "volume": 3}', "invalid", "m4"),
        "oversized": (oversized, "too_large", ""),
        "not-an-object": (b'["mute"]', "invalid", ""),
        "invalid-utf8": (b'{"id": "m7", "action": "mute", "meeting": "\xff"}', "invalid", ""),
        "empty": (b"", "invalid", ""),
        "missing-action": (b'{"id": "m9"}', "invalid", "m9"),
    }
    for name, (payload, _, _) in cases.items():
        probe.publish(control.topics.command, payload, response_topic=f"test/bad/{name}", correlation=name.encode())

    def bad() -> list:
        return probe.find(lambda m: m.topic.startswith("test/bad/"))

    qtbot.waitUntil(lambda: len(bad()) == len(cases), timeout=GUARD_MS)
    for message in bad():
        name = message.topic.rsplit("/", 1)[1]
        _, code, request_id = cases[name]
        body = json.loads(message.payload)
        assert body["status"] == "error" and body["id"] == request_id, (name, body)
        assert body["error"]["code"] == code, (name, body)
        assert 0 < len(body["error"]["message"]) < 300 and "Traceback" not in body["error"]["message"]
        assert message.correlation == name.encode()
    # The edge is alive and nothing above reached the app: the next valid command is the first one seen.
    probe.publish(control.topics.command, b'{"id": "after", "action": "get_state"}', response_topic="test/after")
    qtbot.waitUntil(lambda: bool(probe.on("test/after")), timeout=GUARD_MS)
    assert [command.id for command, _, _ in seen] == ["after"]


def test_retained_commands_are_ignored(control, broker, probe_factory, qtbot):
    probe = probe_factory(broker.port)
    probe.subscribe("test/#")
    seen: list = []
    _answer_everything(control, seen)
    probe.publish(control.topics.command, b'{"id": "sticky", "action": "leave"}', retain=True,
                  response_topic="test/sticky")
    probe.publish(control.topics.command, b'{"id": "live", "action": "mute"}', response_topic="test/live")
    qtbot.waitUntil(lambda: bool(probe.on("test/live")), timeout=GUARD_MS)
    assert [command.id for command, _, _ in seen] == ["live"]
    assert probe.on("test/sticky") == []
    probe.publish(control.topics.command, b"", retain=True)  # clear the retained command


def test_online_on_connect_and_offline_on_clean_stop(broker, control_factory, probe_factory, qtbot):
    probe = probe_factory(broker.port)
    control = control_factory(broker.url, start=False)
    probe.subscribe(control.topics.availability)
    with qtbot.waitSignal(control.connection_changed, timeout=GUARD_MS):
        control.start()
    probe.wait_for(lambda m: m.payload == b"online")
    assert control.connected
    with qtbot.waitSignal(control.connection_changed, timeout=GUARD_MS) as blocker:
        control.stop()
    assert blocker.args == [False] and not control.connected
    probe.wait_for(lambda m: m.payload == b"offline")  # acknowledged to the edge; delivery to us may lag
    assert [m.payload for m in probe.on(control.topics.availability)] == [b"online", b"offline"]
    later = probe_factory(broker.port)
    later.subscribe(control.topics.availability)
    assert later.wait_for(lambda m: m.retain)[0].payload == b"offline"


def test_state_bursts_are_debounced_and_the_latest_is_retained(control, broker, probe_factory, qtbot):
    probe = probe_factory(broker.port)
    probe.subscribe(control.topics.state)
    for n in range(50):
        control.publish_state({"state": "joining", "n": n})
    last = {"state": "joining", "n": 49}
    qtbot.waitUntil(lambda: any(json.loads(m.payload) == last for m in probe.on(control.topics.state)),
                    timeout=GUARD_MS)
    assert len(probe.on(control.topics.state)) <= 2
    fresh = probe_factory(broker.port)
    fresh.subscribe(control.topics.state)
    retained = fresh.wait_for(lambda m: m.retain)[0]
    assert json.loads(retained.payload) == last


def test_events_are_published_not_retained(control, broker, probe_factory):
    probe = probe_factory(broker.port)
    probe.subscribe(control.topics.event)
    control.publish_event("joined", {"meeting": "m-1"})
    control.publish_event("left")
    first, second = probe.wait_for(lambda m: m.topic == control.topics.event, count=2)
    assert not first.retain
    body = json.loads(first.payload)
    assert body["event"] == "joined" and body["data"] == {"meeting": "m-1"} and isinstance(body["at"], float)
    assert json.loads(second.payload)["data"] == {}


def test_broker_down_at_start_then_appears(tmp_path, control_factory, probe_factory, qtbot):
    port = free_port()
    control = control_factory(f"mqtt://127.0.0.1:{port}", start=False)
    control.publish_state({"state": "idle"})  # before start: remembered for the first connect
    control.start()  # returns although nothing listens on the port
    assert not control.connected
    with qtbot.waitSignal(control.connection_changed, timeout=GUARD_MS) as blocker:
        broker = Mosquitto(tmp_path, port).start()
    try:
        assert blocker.args == [True]
        probe = probe_factory(port)
        probe.subscribe(control.topics.state)
        # Retained or live, depending on whether the probe subscribed before the edge published it.
        probe.wait_for(lambda m: json.loads(m.payload) == {"state": "idle"})
    finally:
        control.stop()
        broker.stop()


def test_a_thousand_fuzzed_payloads_through_the_broker_are_each_answered_once(control, broker, probe_factory,
                                                                              qtbot):
    probe = probe_factory(broker.port)
    probe.subscribe(control.topics.response)
    seen: list = []
    _answer_everything(control, seen)
    payloads = fuzz_payloads(1000, seed=20240611)
    for payload in payloads:
        probe.publish(control.topics.command, payload)

    def count() -> int:
        return len(probe.on(control.topics.response))

    qtbot.waitUntil(lambda: count() >= len(payloads), timeout=GUARD_MS * 2)
    # One more, to be sure no payload was answered twice: everything before it has been answered.
    probe.publish(control.topics.command, b'{"id": "last", "action": "get_state"}')
    qtbot.waitUntil(lambda: any(json.loads(m.payload)["id"] == "last" for m in probe.on(control.topics.response)),
                    timeout=GUARD_MS)
    assert count() == len(payloads) + 1
    statuses = [json.loads(m.payload)["status"] for m in probe.on(control.topics.response)]
    assert statuses.count("ok") == len(seen) and 100 < len(seen) < 900  # both paths were exercised


def test_a_user_name_other_than_the_room_id_is_warned_about_at_start(broker, control_factory, caplog):
    # The shipped ACL grants a room its topics by user name = room id; an anonymous broker still lets it in.
    with caplog.at_level("WARNING", logger="roomagent.control"):
        control_factory(broker.url, "h0104", start=True, wait=False, username="room-h0104")
        control_factory(broker.url, "h0105", start=True, wait=False, username="h0105")
    warned = [r.getMessage() for r in caplog.records if "not as the room id" in r.getMessage()]
    assert len(warned) == 1 and "'room-h0104'" in warned[0] and "username = 'h0104'" in warned[0]

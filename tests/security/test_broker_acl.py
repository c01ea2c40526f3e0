"""Attacks on the shipped broker example (kiosk/mosquitto/, as shipped: see shipped.py) by its own users:
taking over a room's client id, reading or writing another room's topics, reading the relay's replies.

Every wait is a failure guard (``GUARD_S``), never a timing assertion.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import pytest

from tests.control.broker import GUARD_S, kill_process
from tests.security.shipped import (
    CONTROLLER,
    MONITOR,
    RELAY,
    ROOM_A,
    ROOM_B,
    ShippedBroker,
    start_room,
)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedBroker]:
    server = ShippedBroker(tmp_path_factory.mktemp("shipped-broker")).start()
    yield server
    server.stop()


def wait_for_log(broker: ShippedBroker, needle: str, count: int) -> None:
    """Block until the broker logged ``needle`` ``count`` times (failure guard only)."""
    deadline = time.monotonic() + GUARD_S
    while sum(needle in line for line in broker.log) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"broker never logged {needle!r} {count} times:\n" + "\n".join(broker.log[-20:]))
        time.sleep(0.01)


def next_line(lines: queue.Queue) -> str:
    return lines.get(timeout=GUARD_S)


def test_no_other_user_can_take_over_a_rooms_client_id(broker):
    room, lines = start_room(broker, ROOM_A)
    try:
        assert next_line(lines) == "connected"
        attackers = [ROOM_B, CONTROLLER, MONITOR, RELAY]
        stolen_ids = [f"roomagent-{ROOM_A}", ROOM_A]  # the agent's own client id, and the room's user name
        before = sum("New client connected" in line for line in broker.log)
        for user in attackers:
            for client_id in stolen_ids:
                probe = broker.probe(user, client_id=client_id)
                try:
                    assert not probe.connect().is_failure, f"{user} could not log in at all"
                finally:
                    probe.close()
        # Log lines are in order: once every attacker's login is logged, any takeover is logged too.
        wait_for_log(broker, "New client connected", before + len(attackers) * len(stolen_ids))
        takeovers = [line for line in broker.log if "already connected" in line and ROOM_A in line]
        assert takeovers == []
        # The room never lost its connection, and still answers.
        with broker.probe(CONTROLLER) as ctl:
            ctl.subscribe("roomagent/_ctl/t1/reply")
            ctl.publish(f"roomagent/{ROOM_A}/command", b'{"id": "still-there", "action": "get_state"}',
                        response_topic="roomagent/_ctl/t1/reply", correlation=b"c1")
            ctl.wait_for(lambda m: b"still-there" in m.payload)
        seen = []
        while not lines.empty():
            seen.append(lines.get_nowait())
        assert "disconnected" not in seen
    finally:
        kill_process(room)


def test_anonymous_and_wrong_passwords_are_refused(broker):
    for probe in (broker.probe(None), broker.probe(ROOM_A, password="wrong"), broker.probe("h9999", password="x")):
        try:
            assert probe.connect().is_failure
        finally:
            probe.close()


def test_rooms_cannot_read_or_write_other_rooms(broker):
    with broker.probe(ROOM_A) as a, broker.probe(ROOM_B) as b, broker.probe(CONTROLLER) as ctl:
        a.subscribe(f"roomagent/{ROOM_B}/command", "roomagent/#")
        b.subscribe(f"roomagent/{ROOM_B}/command")
        ctl.subscribe("roomagent/+/state", "roomagent/+/command")
        # B's command: B gets it, A (subscribed to it and to everything) does not.
        assert not ctl.publish(f"roomagent/{ROOM_B}/command", b'{"id": "to-b", "action": "mute"}').is_failure
        b.wait_for(lambda m: b"to-b" in m.payload)
        # A may not command B (or itself), nor write B's state or availability.
        assert a.publish(f"roomagent/{ROOM_B}/command", b'{"id": "forged", "action": "leave"}').is_failure
        assert a.publish(f"roomagent/{ROOM_A}/command", b'{"id": "forged-self", "action": "leave"}').is_failure
        assert a.publish(f"roomagent/{ROOM_B}/state", b'{"forged": true}', retain=True).is_failure
        assert a.publish(f"roomagent/{ROOM_B}/availability", b"offline", retain=True).is_failure
        # A's own state goes through; it arrives after anything forged would have.
        assert not a.publish(f"roomagent/{ROOM_A}/state", b'{"marker": 1}').is_failure
        ctl.wait_for(lambda m: m.payload == b'{"marker": 1}')
        assert not ctl.find(lambda m: b"forged" in m.payload)
        assert not b.find(lambda m: b"forged" in m.payload)
        assert not a.find(lambda m: b"to-b" in m.payload)


def test_only_the_relay_reads_relay_replies_and_it_can_do_nothing_else(broker):
    reply_topic = f"roomagent/_relay/{ROOM_A}/abc123/reply"
    with (broker.probe(RELAY) as relay, broker.probe(ROOM_A) as a, broker.probe(ROOM_B) as b,
          broker.probe(CONTROLLER) as ctl, broker.probe(MONITOR) as mon):
        assert not relay.subscribe("roomagent/_relay/+/abc123/reply")[0].is_failure
        # Everybody else asks for the replies, outright or through a wildcard (mosquitto may grant the
        # subscription; what counts is that nothing is delivered).
        for other in (a, b, mon):
            other.subscribe("roomagent/_relay/#")
        a.subscribe(f"roomagent/{ROOM_A}/command")
        b.subscribe(f"roomagent/{ROOM_B}/command")
        ctl.subscribe("roomagent/#")
        mon.subscribe("roomagent/+/state")
        # The relay commands rooms; room A answers on the relay's reply topic.
        assert not relay.publish(f"roomagent/{ROOM_A}/command", b'{"id": "r1", "action": "get_state"}').is_failure
        assert not a.publish(reply_topic, b'{"id": "r1", "status": "ok", "secret": 1}').is_failure
        relay.wait_for(lambda m: m.topic == reply_topic)
        # Only room A writes room A's reply topics: not room B, not a controller, not the relay itself.
        for forger in (b, ctl, relay, mon):
            assert forger.publish(reply_topic, b'{"id": "r1", "status": "ok", "forged": 1}').is_failure, forger.username
        # The relay may not forge a room's topics either.
        assert relay.publish(f"roomagent/{ROOM_A}/state", b'{"forged": true}').is_failure
        assert relay.publish(f"roomagent/{ROOM_A}/availability", b"offline").is_failure
        # Markers published after the reply: whoever could read the reply has it by then.
        assert not a.publish(f"roomagent/{ROOM_A}/state", b'{"marker": 2}').is_failure
        assert not relay.publish(f"roomagent/{ROOM_B}/command", b'{"marker": 3}').is_failure
        assert not relay.publish(f"roomagent/{ROOM_A}/command", b'{"marker": 4}').is_failure
        for reader, marker in ((ctl, b'{"marker": 2}'), (mon, b'{"marker": 2}'), (b, b'{"marker": 3}'),
                               (a, b'{"marker": 4}')):
            reader.wait_for(lambda m, marker=marker: m.payload == marker)
            assert not reader.find(lambda m: m.topic.startswith("roomagent/_relay/")), reader.username
        assert not relay.find(lambda m: b"forged" in m.payload)
        # Controllers do not read the rooms' commands (the relay's carry its correlation data).
        assert not ctl.find(lambda m: m.topic.endswith("/command"))

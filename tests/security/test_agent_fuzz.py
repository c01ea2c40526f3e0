"""Regression for the attacks that held (issue 12): malformed MQTT commands through a real mosquitto to
the real agent process. Every one is refused with an error reply, none crashes the agent, and its memory
and open descriptors stay where they were (within a generous bound: a leak of a few hundred messages
would show, allocator noise does not)."""

from __future__ import annotations

import json
import random
import uuid

import pytest

from tests.control.broker import Mosquitto, Probe
from tests.security.agent_room import RoomProcess, command, wait_answering

#: Generous bounds on what a few hundred refused commands may leave behind.
RSS_GROWTH_MAX_KB = 40 * 1024
FDS_GROWTH_MAX = 4
ROUNDS = 4


def malformed(rng: random.Random) -> list[bytes]:
    """One round of hostile payloads (about 60)."""
    out = [b"", b"null", b"[]", b"42", b'"leave"', b"{", b"{}", b'{"action": 1}', b'{"action": "explode"}',
           b'{"action": "leave", "extra": true}', b'{"action": "set_layout"}', b'{"action": "set_layout", "layout": ""}',
           b'{"action": "show_message", "text": ""}', b'{"action": "show_message", "text": "x", "seconds": -1}',
           b'{"action": "show_message", "text": "' + b"x" * 300 + b'"}',
           b'{"action": "share_source", "source": "../../etc/passwd"}', b'{"action": "reload", "screen": "NOPE"}',
           b'{"id": "' + b"i" * 500 + b'", "action": "leave"}', b"\xff\xfe\xfd", b'{"action": "leave", "id": "\xed\xa0\x80"}',
           b'{"action": "get_state", "meeting": ' + b"[" * 2000 + b"]" * 2000 + b"}",
           b"[" * 100_000, b"{" + b" " * (64 * 1024) + b"}", b'{"action": "\\ud800"}',
           b'{"action": "preview_source", "screen": "left", "source": "hdmi1"}',
           json.dumps({"action": "show_message", "text": "<img src='/dev/zero'>", "seconds": 1e308}).encode()]
    for _ in range(34):
        size = rng.choice((1, 8, 64, 700))
        out.append(bytes(rng.getrandbits(8) for _ in range(size)))
    return out


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    broker = Mosquitto(tmp).start()
    agent = RoomProcess(tmp, broker.url).start()
    probe = Probe(broker.port).__enter__()
    probe.subscribe("test/reply", "roomagent/sec1/response")
    wait_answering(probe, agent.room)
    yield agent, broker, probe
    probe.close()
    agent.stop()
    broker.stop()


def send_round(probe: Probe, room: str, rng: random.Random) -> int:
    """Publish one round (half with a response topic, some on the room's ``response`` route, some retained);
    returns how many carried a correlation and so must be answered on test/reply."""
    answered = 0
    for index, payload in enumerate(malformed(rng)):
        if index % 5 == 4:
            probe.publish(f"roomagent/{room}/command", payload, retain=True)  # refused, never stored as run
            probe.publish(f"roomagent/{room}/command", b"", retain=True)  # (clear it again)
        elif index % 2:
            probe.publish(f"roomagent/{room}/command", payload, response_topic="test/reply",
                          correlation=uuid.uuid4().bytes)
            answered += 1
        else:
            probe.publish(f"roomagent/{room}/command", payload, response_topic="bad/+/topic#")
    return answered


def test_malformed_commands_are_refused_and_leave_nothing_behind(room):
    agent, _broker, probe = room
    rng = random.Random(12)
    send_round(probe, agent.room, rng)  # warm up: the first round's allocations are not a leak
    assert command(probe, agent.room, {"action": "get_state"})["status"] == "ok"
    rss, fds = agent.rss_kb(), agent.fds()
    before = len(probe.find(lambda m: m.topic == "test/reply" and m.correlation is not None))
    expected = sum(send_round(probe, agent.room, rng) for _ in range(ROUNDS))
    state = command(probe, agent.room, {"action": "get_state"})  # processed in order: all the above are done
    assert state["status"] == "ok" and state["data"]["state"] == "idle"
    replies = probe.find(lambda m: m.topic == "test/reply" and m.correlation is not None)
    answers = [json.loads(m.payload) for m in replies[before:]]
    refused = [a for a in answers if a["status"] == "error"]
    # Every malformed payload with a reply route was answered with an error (get_state replies are ok).
    assert len(refused) == expected and len(answers) == expected + 1  # (+ the get_state at the end)
    assert all(a["error"]["code"] in ("invalid", "too_large", "not_in_meeting", "unknown_screen",
                                      "unknown_source") for a in refused)
    assert agent.alive()
    grown_kb, grown_fds = agent.rss_kb() - rss, agent.fds() - fds
    print(f"\nfuzz: {expected} answered payloads, RSS {rss} -> {rss + grown_kb} KiB, fds {fds} -> {fds + grown_fds}")
    assert grown_kb < RSS_GROWTH_MAX_KB and grown_fds <= FDS_GROWTH_MAX
    assert "Traceback" not in agent.log()

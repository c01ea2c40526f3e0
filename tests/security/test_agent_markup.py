"""Issue 12 item 1: text from outside is shown as text, never interpreted as markup — against the real
agent process, with a ``show_message`` sent through a real mosquitto.

The message (and the room name) name a FIFO in ``<img src=…>``: rich text would open it to load the
image (the ``/dev/zero`` attack read until the kernel killed the agent). Opening a FIFO's write end
without blocking succeeds only while somebody has its read end open, so the test sees any attempt.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest

from tests.control.broker import GUARD_S, Mosquitto, Probe
from tests.security.agent_room import RoomProcess, wait_answering


def opened_by_someone(fifo: Path) -> bool:
    """True when a process holds (or waits in open() for) the FIFO's read end; unblocks it if so."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            return False
        raise
    os.close(fd)  # the reader sees end of file and goes on
    return True


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("markup")
    fifos = {name: tmp / name for name in ("msg", "room")}
    for fifo in fifos.values():
        os.mkfifo(fifo)
    broker = Mosquitto(tmp).start()
    room_name = f"<i>H 0104</i> <img src='{fifos['room']}'>"
    room = RoomProcess(tmp, broker.url, name=room_name).start()
    probe = Probe(broker.port).__enter__()
    probe.subscribe("test/reply")
    wait_answering(probe, room.room)
    yield room, probe, fifos, room_name
    probe.close()
    room.stop()
    broker.stop()
    for fifo in fifos.values():
        opened_by_someone(fifo)


def test_show_message_with_markup_is_shown_literally_and_loads_nothing(setup):
    room, probe, fifos, room_name = setup
    text = f"<img src='{fifos['msg']}'><b>Pay</b> <a href='http://127.0.0.1:9/'>here</a>"
    probe.publish(f"roomagent/{room.room}/command", json.dumps({"id": "m1", "action": "show_message", "text": text}),
                  response_topic="test/reply")
    deadline = time.monotonic() + GUARD_S
    replies: list = []
    while not replies and time.monotonic() < deadline:  # a guard, not a timing assertion
        assert not opened_by_someone(fifos["msg"]), "the agent opened the file named in <img src>"
        replies = probe.find(lambda m: m.topic == "test/reply" and m.correlation is None)
        time.sleep(0.05)
    assert replies and json.loads(replies[0].payload)["status"] == "ok"

    shown = room.ask("labels")["labels"]  # every label laid out and painted by now
    notices = [lab for lab in shown if lab["name"] in ("notice", "screen-notice") and lab["visible"]]
    assert len(notices) == 3  # the panel and both screens
    assert all(lab["text"] == text and lab["format"] == "PlainText" for lab in notices), notices
    rooms = [lab for lab in shown if lab["name"] in ("room", "idle-room")]
    assert rooms and all(lab["text"] == room_name and lab["format"] == "PlainText" for lab in rooms), rooms
    assert not opened_by_someone(fifos["msg"]) and not opened_by_someone(fifos["room"])
    assert room.alive()


def test_every_label_of_the_room_is_plain_text(setup):
    room, _probe, _fifos, _name = setup
    shown = room.ask("labels")["labels"]
    assert shown
    rich = [lab for lab in shown if lab["format"] != "PlainText"]
    assert rich == [], rich


def test_direction_controls_in_a_message_cannot_reverse_it_on_the_screens(setup):
    """Issue 21: U+202E (right-to-left override) showed "pay 100 EUR" as "RUE 001 yap"; every explicit
    direction control is removed where the command is validated, so the screens get the text in its order."""
    room, probe, _fifos, _name = setup
    hidden = "\u202e\u2066\u200f"
    text = f"Pay {hidden}100 EUR\u202c\u2069 at the desk \u202dnow\u202c"
    probe.publish(f"roomagent/{room.room}/command", json.dumps({"id": "bidi-1", "action": "show_message",
                                                                "text": text}),
                  response_topic="test/reply", correlation=b"bidi-1")
    [reply] = probe.wait_for(lambda m: m.topic == "test/reply" and m.correlation == b"bidi-1")
    assert json.loads(reply.payload)["status"] == "ok"
    shown = room.ask("labels")["labels"]
    notices = [lab["text"] for lab in shown if lab["name"] in ("notice", "screen-notice") and lab["visible"]]
    assert notices == ["Pay 100 EUR at the desk now"] * 3  # the panel and both screens
    # Only direction controls: refused in words, nothing shown.
    probe.publish(f"roomagent/{room.room}/command", json.dumps({"id": "bidi-2", "action": "show_message",
                                                                "text": "\u202e\u202c"}),
                  response_topic="test/reply", correlation=b"bidi-2")
    [refused] = probe.wait_for(lambda m: m.topic == "test/reply" and m.correlation == b"bidi-2")
    error = json.loads(refused.payload)["error"]
    assert error["code"] == "invalid" and "direction controls" in error["message"]

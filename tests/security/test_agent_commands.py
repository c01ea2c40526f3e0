"""Remote commands against the real agent process over a real mosquitto (issue 12 items 9 and 10):
read-your-writes (an ``ok`` reply finds the retained state already changed) and QoS 1 commands
delivered twice running once."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from tests.control.broker import Mosquitto, Probe
from tests.security.agent_room import RoomProcess, command, wait_answering


class SilentServer:
    """A TCP server that accepts and never answers: the directory hangs, the room stays in "redeeming"."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self._held.append(self._server.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self._server.close()
        for conn in self._held:
            conn.close()


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("commands")
    broker = Mosquitto(tmp).start()
    directory = SilentServer()
    agent = RoomProcess(tmp, broker.url, directory=directory.url).start()
    probe = Probe(broker.port).__enter__()
    probe.subscribe("test/reply")
    wait_answering(probe, agent.room)
    yield agent, broker, probe
    probe.close()
    directory.close()  # first: a redemption still waiting for it would hold up the agent's shutdown
    agent.stop()
    broker.stop()


def retained_state(port: int, room: str) -> dict:
    """What a dashboard that connects now reads as the room's retained state."""
    with Probe(port) as reader:
        reader.subscribe(f"roomagent/{room}/state")
        return json.loads(reader.wait_for(lambda m: m.topic.endswith("/state"))[0].payload)


def test_an_ok_reply_finds_the_retained_state_already_changed(room):
    agent, broker, probe = room
    watcher = Probe(broker.port).__enter__()
    try:
        watcher.subscribe(f"roomagent/{agent.room}/state")
        agent.ask("type K7M4QX9TB")  # the directory never answers: the room waits in "redeeming"
        watcher.wait_for(lambda m: json.loads(m.payload)["state"] == "redeeming")
    finally:
        watcher.close()
    reply = command(probe, agent.room, {"id": "leave-1", "action": "leave"})
    assert reply["status"] == "ok"
    # Read right after the reply, no waiting: the state the reply's effect produced is already retained.
    assert retained_state(broker.port, agent.room)["state"] == "idle"


def test_a_command_delivered_twice_runs_once_and_both_get_the_first_reply(room):
    agent, broker, probe = room
    payload = {"id": "dup-1", "action": "show_message", "text": "Delivered twice", "seconds": 5}
    first = command(probe, agent.room, payload)
    again = command(probe, agent.room, payload)  # what a QoS 1 redelivery looks like to the room
    assert first == again == {"id": "dup-1", "status": "ok"}
    # The same id with other content is not a redelivery: refused in words, and it changes nothing (issue
    # 21; before, it ran). The notice on the screens is still the first one.
    other = command(probe, agent.room, {**payload, "text": "Same id, other content"})
    assert other["status"] == "error" and other["error"]["code"] == "duplicate_id", other
    assert "'dup-1' was used by another command" in other["error"]["message"]
    shown = {lab["text"] for lab in agent.ask("labels")["labels"] if lab["name"] in ("notice", "screen-notice") and lab["visible"]}
    assert shown == {"Delivered twice"}
    lines = agent.log().splitlines()
    ran = [line for line in lines if line.endswith("remote command show_message (dup-1)")]
    assert len(ran) == 1
    assert len([line for line in lines if line.endswith("(dup-1) arrived again: not run twice")]) == 1

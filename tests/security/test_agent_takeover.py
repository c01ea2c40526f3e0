"""Issue 12 item 2 against the real agent process: a takeover of the room's MQTT client id (MQTT 5
DISCONNECT 0x8E, played by a proxy in front of the real mosquitto — see tests/control/test_takeover.py)
is in the agent's log, in its retained state's ``warnings``, and in an ``event`` once it is back."""

from __future__ import annotations

import json

import pytest

from tests.control.broker import Mosquitto, Probe, TcpProxy
from tests.security.agent_room import RoomProcess, wait_answering


@pytest.fixture
def room(tmp_path):
    broker = Mosquitto(tmp_path).start()
    proxy = TcpProxy(broker.port)
    agent = RoomProcess(tmp_path, f"mqtt://127.0.0.1:{proxy.port}").start()
    probe = Probe(broker.port).__enter__()
    probe.subscribe("test/reply", f"roomagent/{agent.room}/event", f"roomagent/{agent.room}/state")
    wait_answering(probe, agent.room)
    yield agent, proxy, probe
    probe.close()
    agent.stop()
    proxy.close()
    broker.stop()


def test_a_takeover_is_logged_put_in_the_state_and_reported_when_back(room):
    agent, proxy, probe = room
    proxy.take_over()
    event = probe.wait_for(lambda m: m.topic.endswith("/event") and b"client_id_taken_over" in m.payload)[0]
    data = json.loads(event.payload)["data"]
    assert data["client_id"] == f"roomagent-{agent.room}" and data["count"] == 1 and data["paused_s"] == 0
    states = probe.wait_for(lambda m: m.topic.endswith("/state")
                            and any("took the room's session over" in w for w in json.loads(m.payload)["warnings"]))
    assert json.loads(states[-1].payload)["state"] == "idle"
    assert "another client connected with the MQTT client id roomagent-sec1" in agent.log()
    assert agent.alive()

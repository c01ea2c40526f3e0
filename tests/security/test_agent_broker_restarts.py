"""Regression for the attacks that held (issue 12): the broker restarts under the real agent process a
few times; each time the agent comes back by itself, says ``online`` and republishes its retained state
(the broker kept nothing: no persistence), and it holds no more descriptors afterwards than before."""

from __future__ import annotations

import json
import time

from tests.control.broker import Mosquitto, Probe
from tests.security.agent_room import RoomProcess, wait_answering

RESTARTS = 4
FDS_GROWTH_MAX = 4


def retained(port: int, topic: str) -> bytes:
    with Probe(port) as reader:
        reader.subscribe(topic)
        return reader.wait_for(lambda m: m.topic == topic and m.retain)[0].payload


def test_the_agent_returns_after_every_broker_restart(tmp_path):
    broker = Mosquitto(tmp_path).start()
    agent = RoomProcess(tmp_path, broker.url).start()
    try:
        with Probe(broker.port) as probe:
            probe.subscribe("test/reply")
            wait_answering(probe, agent.room)
        fds = agent.fds()
        back_s = []
        for _ in range(RESTARTS):
            broker.stop()
            broker.start()  # same port, empty: no retained message survives
            started = time.monotonic()
            with Probe(broker.port) as probe:
                probe.subscribe("test/reply", f"roomagent/{agent.room}/availability")
                probe.wait_for(lambda m: m.topic.endswith("/availability") and m.payload == b"online")
                back_s.append(time.monotonic() - started)  # a figure, not an assertion
                assert wait_answering(probe, agent.room)["data"]["state"] == "idle"
            assert retained(broker.port, f"roomagent/{agent.room}/availability") == b"online"
            assert json.loads(retained(broker.port, f"roomagent/{agent.room}/state"))["state"] == "idle"
        print(f"\nbroker restarts: the agent was back online after {', '.join(f'{t:.2f}' for t in back_s)} s")
        assert agent.alive() and agent.fds() - fds <= FDS_GROWTH_MAX
        assert "Traceback" not in agent.log()
    finally:
        agent.stop()
        broker.stop()

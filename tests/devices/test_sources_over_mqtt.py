"""Hot-plug end to end: a libudev netlink message (as udevd sends it) → the real pyudev monitor in the
agent's Qt loop → the core's state → the retained ``state`` and an ``event`` on a real mosquitto."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from roomagent import __version__
from roomagent.app import RoomAgent
from roomagent.control.mqtt import MqttControl
from roomagent.profile import MqttSection, RoomProfile
from roomagent.remote import RemoteControl
from tests.control.broker import Mosquitto, Probe

from .uevent import FakeUdevd, capture_device

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sending udev netlink messages needs root")
WAIT_MS = 15_000  # failure guard only


def test_plug_and_unplug_reach_state_and_events_over_mqtt(qtbot, tmp_path):
    tag = uuid.uuid4().hex[:10]
    card = capture_device(tag, 7)
    broker = Mosquitto(tmp_path).start()
    profile = RoomProfile(
        room={"id": "r7", "name": "Room 7"}, directory={"url": "http://127.0.0.1:9"},
        meeting={"allowed_hosts": ["127.0.0.1"]}, mqtt={"url": broker.url},
        screens=[{"id": "left", "media": True}],
        sources=[{"id": "lectern", "name": "Lectern HDMI", "match": {"ID_SERIAL": card["ID_SERIAL"]}}],
    )
    agent = RoomAgent.from_profile(profile, lambda: None, windowed=True)  # the real UdevDeviceSource
    control = MqttControl(MqttSection(url=broker.url), "r7", version=__version__)
    remote = RemoteControl(agent, control)
    probe = Probe(broker.port)
    try:
        agent.start()
        remote.start()
        probe.connect()
        probe.subscribe("roomagent/r7/state", "roomagent/r7/event")

        def lectern(present: bool) -> bool:
            states = [json.loads(m.payload) for m in probe.on("roomagent/r7/state")]
            return bool(states) and any(s["id"] == "lectern" and s["present"] is present
                                        for s in states[-1]["sources"])

        qtbot.waitUntil(lambda: lectern(False), timeout=WAIT_MS)  # configured, not plugged in yet
        with FakeUdevd() as udevd:
            udevd.send("add", card)
            qtbot.waitUntil(lambda: lectern(True), timeout=WAIT_MS)
            events = [json.loads(m.payload) for m in probe.on("roomagent/r7/event")]
            plugged = [e for e in events if e.get("event") == "source_plugged"]
            assert plugged and plugged[-1]["data"]["source"]["id"] == "lectern"
            assert plugged[-1]["data"]["source"]["device"] == card["DEVNAME"]

            udevd.send("remove", card)
            qtbot.waitUntil(lambda: lectern(False), timeout=WAIT_MS)
            qtbot.waitUntil(lambda: any(json.loads(m.payload).get("event") == "source_unplugged"
                                        for m in probe.on("roomagent/r7/event")), timeout=WAIT_MS)
    finally:
        probe.close()
        remote.stop()
        agent.stop()
        broker.stop()

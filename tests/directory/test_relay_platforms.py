"""The relay's meeting id agrees with the room's for a Jitsi host known only through ``jitsi_hosts``.

Real parts: the reference directory over HTTP with its relay on a private mosquitto, the fake Jitsi Meet,
and the real room agent (core, QtWebEngine windows, the Jitsi adapter, the MQTT edge) redeeming the code
through its real ``DirectoryClient``. The join URL ``http://127.0.0.1:<port>/Lecture101`` carries no
``jwt`` and its host does not say "jitsi": only ``jitsi_hosts`` makes it a Jitsi meeting, on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from roomagent.app import RoomAgent
from roomagent.control.mqtt import MqttControl
from roomagent.core import events as ev
from roomagent.core.state import Lifecycle
from roomagent.directory.client import DirectoryClient
from roomagent.directory.server.app import create_app
from roomagent.directory.server.main import run_in_thread
from roomagent.profile import RoomProfile
from roomagent.remote import RemoteControl
from tests.devices.fakes import FakeDeviceSource
from tests.directory.fakeroom import READY_TIMEOUT_S, new_room_id
from tests.directory.helpers import AUTH, FakeClock, create_code, http_client, settings_for
from tests.ui.conftest import NO_GPU_WARNINGS

pytestmark = pytest.mark.qt_log_ignore(*NO_GPU_WARNINGS)

#: Failure guard: a cold QtWebEngine on two busy cores joins in seconds.
WAIT_MS = 60_000


@pytest.fixture
def room_agent(qtbot, mosquitto_url: str) -> Iterator:
    """Factory: start the real agent (one screen) with ``jitsi_hosts``, redeeming at ``directory_url``."""
    running: list[tuple[RoomAgent, RemoteControl]] = []

    def start(directory_url: str, jitsi_hosts: list[str]) -> tuple[RoomAgent, list[bool]]:
        room_id = new_room_id()
        profile = RoomProfile(
            room={"id": room_id, "name": "Lecture hall 101"},
            directory={"url": directory_url},
            mqtt={"url": mosquitto_url},
            meeting={"allowed_hosts": ["127.0.0.1"], "display_name": "Room 101", "jitsi_hosts": jitsi_hosts},
            screens=[{"id": "main", "role": "main", "media": True}],
        )
        agent = RoomAgent.from_profile(profile, lambda: DirectoryClient(directory_url, room_id=room_id),
                          windowed=True, devices=FakeDeviceSource())
        agent.start()
        control = MqttControl(profile.mqtt, room_id, version="test")
        connected: list[bool] = []
        control.connection_changed.connect(connected.append)
        remote = RemoteControl(agent, control)
        remote.start()
        running.append((agent, remote))
        return agent, connected

    yield start
    for agent, remote in running:
        remote.stop()
        agent.stop()


def test_a_code_for_a_jitsi_hosts_only_room_is_commanded_through_the_relay(qtbot, room_agent, jitsi_server,
                                                                          mosquitto_url):
    settings = settings_for("memory", allowed_join_hosts=["127.0.0.1"], jitsi_hosts=["127.0.0.1"],
                            mqtt={"url": mosquitto_url})
    clock = FakeClock()
    app = create_app(settings, clock)
    with run_in_thread(settings, clock=clock, app=app) as server, http_client(server.url) as http:
        assert app.state.relay.ready_event.wait(READY_TIMEOUT_S), "relay did not connect to the broker"
        agent, connected = room_agent(server.url, ["127.0.0.1"])
        qtbot.waitUntil(lambda: True in connected, timeout=WAIT_MS)

        code = create_code(http, f"{jitsi_server.url}/Lecture101")
        agent.dispatch(ev.CodeEntered(code=code))
        qtbot.waitUntil(lambda: agent.state.lifecycle is Lifecycle.IN_MEETING, timeout=WAIT_MS)
        assert (agent.state.meeting.platform, agent.state.meeting.id) == ("jitsi", "lecture101")

        # In a thread: the agent answers on this (Qt) thread, which must keep running its event loop.
        with ThreadPoolExecutor(1) as pool:
            sent = pool.submit(http.post, "/meeting/command", json={"action": "get_state"},
                               headers={"Code": code, **AUTH})
            qtbot.waitUntil(sent.done, timeout=WAIT_MS)
        answer = sent.result()
        assert answer.status_code == 200, answer.text
        reply = answer.json()["data"]
        assert reply["status"] == "ok", reply  # before the fix: wrong_meeting (the directory said generic)
        assert reply["data"]["meeting"]["id"] == "lecture101"

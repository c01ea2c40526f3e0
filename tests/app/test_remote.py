"""Remote commands through the glue between the control edge and a real room agent (fake edge here;
the real MQTT edge against a real broker is tested in tests/control and tests/e2e)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Signal

from roomagent.app import RoomAgent
from roomagent.core import commands as cmd
from roomagent.directory.client import DirectoryClient
from roomagent.profile import RoomProfile
from roomagent.remote import RemoteControl


class FakeControl(QObject):
    command_received = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self.states: list[dict] = []
        self.replies: list[tuple[object, dict]] = []
        self.events: list[tuple[str, dict]] = []
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def publish_state(self, snapshot: dict) -> None:
        self.states.append(snapshot)

    def flush_state(self) -> None:
        self.flushed = len(self.states)

    def publish_event(self, name: str, data: dict | None = None) -> None:
        self.events.append((name, data or {}))

    def reply(self, route, reply) -> None:
        self.replies.append((route, reply.payload()))


@pytest.fixture
def remote(qtbot):
    profile = RoomProfile(room={"id": "r1", "name": "Room"}, directory={"url": "http://127.0.0.1:9"},
                          meeting={"allowed_hosts": ["127.0.0.1"]}, screens=[{"id": "left"}, {"id": "right"}])
    agent = RoomAgent.from_profile(profile, lambda: DirectoryClient(profile.directory.url), windowed=True)
    agent.start()
    control = FakeControl()
    glue = RemoteControl(agent, control)
    glue.start()
    yield agent, control
    glue.stop()
    agent.stop()


def test_state_is_published_at_start(remote):
    agent, control = remote
    assert control.started and control.states[-1]["state"] == "idle"


def test_replies_go_back_to_the_route_they_came_from(remote):
    agent, control = remote
    control.command_received.emit(cmd.GetState(id="a"), "route-a")
    control.command_received.emit(cmd.Mute(id="b"), "route-b")
    assert control.replies[0] == ("route-a", {"id": "a", "status": "ok", "data": control.states[-1]})
    assert control.replies[1] == ("route-b", {"id": "b", "status": "error", "error": {
        "code": "not_in_meeting", "message": "the room is not in a meeting"}})


def test_show_message_and_identify_reach_panel_and_screens(remote):
    agent, control = remote
    control.command_received.emit(cmd.ShowMessage(id="m", text="We start in 5 minutes", seconds=60), "r")
    control.command_received.emit(cmd.IdentifyScreens(id="i"), "r")
    assert [payload["status"] for _, payload in control.replies] == ["ok", "ok"]
    assert agent.panel.notice_label.text() == "We start in 5 minutes" and agent.panel.notice_label.isVisibleTo(agent.panel)
    assert all(w.notice_text == "We start in 5 minutes" for w in agent.windows.values())
    assert [w.identity_text for w in agent.windows.values()] == ["1\nleft", "2\nright"]


def test_panel_replies_are_not_sent_to_the_broker(remote, qtbot):
    agent, control = remote
    agent.dispatch_command(cmd.Mute(), origin="panel")
    assert control.replies == []


def test_a_notice_outlives_the_meeting_it_was_sent_in(remote, qtbot):
    agent, control = remote
    window = agent.windows["right"]
    window.open_session("about:blank", ["127.0.0.1"], False)
    control.command_received.emit(cmd.ShowMessage(id="m", text="Room closes at 18:00", seconds=60), "r")
    window.close_session()
    assert window.notice_text == "Room closes at 18:00"
    # On top of the idle card, not hidden behind it.
    assert window.childAt(window._notice.geometry().center()) is window._notice

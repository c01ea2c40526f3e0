"""Sharing a room input into the meeting, in real QtWebEngine pages with Chromium's fake camera.

The input is a fake udev device whose product name is the fake camera's label ("fake_device_0"), the
way a capture card's V4L2 card name becomes its camera label in Chromium.
"""

from __future__ import annotations

import pytest

from roomagent.core import commands as cmd
from tests.devices.fakes import FakeDeviceSource, FakeDriver, Node, device
from tests.meeting.conftest import WAIT_MS, command, jitsi_url, join, wait_log

CARD = device("video0", 2, product="fake_device_0")
SOURCES = [{"id": "lectern", "name": "Lectern HDMI", "match": {"ID_PATH": CARD.properties["ID_PATH"]}}]


@pytest.fixture
def room_with_input(make_room):
    def make(**kw):
        devices = FakeDeviceSource(CARD)
        room = make_room(sources=SOURCES, devices=devices, signal_io=FakeDriver(video0=Node(dv=0)), **kw)
        room.devices = devices
        return room

    return make


def test_bbb_share_gives_the_page_the_chosen_input_and_stop_ends_it(qtbot, room_with_input, bbb_server):
    room = room_with_input()
    qtbot.waitUntil(lambda: room.state.source("lectern") is not None and room.state.source("lectern").present,
                    timeout=WAIT_MS)
    assert room.state.source("lectern").signal is True
    join(qtbot, room, bbb_server.join_url("m1"))
    wait_log(qtbot, bbb_server, "ready", 2)
    reply = command(qtbot, room, cmd.ShareSource(id="s", source="lectern"))
    assert reply.ok and reply.data == {"sharing": "lectern"}, reply
    (started,) = wait_log(qtbot, bbb_server, "share_started")
    assert started["label"] == "fake_device_0" and started["session_name"] == "left"
    assert room.state.snapshot()["sharing"] == "lectern"
    assert command(qtbot, room, cmd.StopShare(id="t")).ok
    wait_log(qtbot, bbb_server, "share_stopped")
    qtbot.waitUntil(lambda: room.state.sharing is None, timeout=WAIT_MS)


def test_unplugged_or_unknown_inputs_are_refused_with_a_reason(qtbot, room_with_input, bbb_server):
    room = room_with_input()
    join(qtbot, room, bbb_server.join_url("m1"))
    assert command(qtbot, room, cmd.ShareSource(id="a", source="nope")).code == "unknown_source"
    room.devices.unplug(CARD)
    qtbot.waitUntil(lambda: not room.state.source("lectern").present, timeout=WAIT_MS)
    reply = command(qtbot, room, cmd.ShareSource(id="b", source="lectern"))
    assert reply.code == "unknown_source" and "not connected" in reply.message
    assert bbb_server.log("share_started") == []


def test_jitsi_share_uses_the_input_as_desktop_sharing_device(qtbot, room_with_input, jitsi_server):
    room = room_with_input(jitsi_hosts=["127.0.0.1"])
    qtbot.waitUntil(lambda: room.state.sources != (), timeout=WAIT_MS)
    join(qtbot, room, jitsi_url(jitsi_server))
    media = next(r for r in wait_log(qtbot, jitsi_server, "init", 2)
                 if r["options"]["userInfo"]["displayName"] == "Room T1")
    assert media["options"]["configOverwrite"]["_desktopSharingSourceDevice"] == "fake_device_0"
    reply = command(qtbot, room, cmd.ShareSource(id="j", source="lectern"))
    assert reply.ok and room.state.sharing == "lectern", reply
    (started,) = wait_log(qtbot, jitsi_server, "share_started")
    assert started["label"] == "fake_device_0"

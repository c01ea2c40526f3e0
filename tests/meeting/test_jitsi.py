"""Jitsi Meet in the real agent: the wrapper page drives the fake external_api.js like the real one."""

from __future__ import annotations

import uuid

from roomagent.core import commands as cmd
from roomagent.core.state import ErrorKind, Lifecycle
from tests.meeting.conftest import WAIT_MS, command, jitsi_url, join, wait_log


def unique_room(prefix: str) -> str:
    """A room name no other test uses: pages of an earlier test must never receive this test's events."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def test_join_creates_one_participant_per_screen_only_the_media_one_with_audio(qtbot, make_room, jitsi_server):
    room = make_room(jitsi_hosts=["127.0.0.1"])
    join(qtbot, room, jitsi_url(jitsi_server))
    assert room.state.meeting.platform == "jitsi" and room.state.meeting.id == "physics101"
    inits = {r["options"]["userInfo"]["displayName"]: r["options"] for r in wait_log(qtbot, jitsi_server, "init", 2)}
    assert set(inits) == {"Room T1", "Room T1 (right)"}
    media, side = inits["Room T1"], inits["Room T1 (right)"]
    assert media["roomName"] == "Physics101" and media["jwt"] == "eyJ.test.token"
    config = media["configOverwrite"]
    assert config["prejoinConfig"] == {"enabled": False} and config["disableDeepLinking"] is True
    assert config["toolbarButtons"] == []
    assert config["startWithAudioMuted"] is False and side["configOverwrite"]["startWithAudioMuted"] is True
    assert side["configOverwrite"]["startWithVideoMuted"] is True
    # lecture: the side screen shows everybody (tile view), the main screen the stage.
    tile = [r for r in wait_log(qtbot, jitsi_server, "command", 1, name="setTileView")]
    assert [r["args"] for r in tile] == [[True]]


def test_mute_tile_view_and_hangup(qtbot, make_room, jitsi_server):
    room = make_room(jitsi_hosts=["127.0.0.1"])
    join(qtbot, room, jitsi_url(jitsi_server))
    reply = command(qtbot, room, cmd.Mute(id="m"))
    assert reply.ok and room.state.muted is True
    assert len(wait_log(qtbot, jitsi_server, "command", 1, name="toggleAudio")) == 1
    assert command(qtbot, room, cmd.Unmute(id="u")).ok and room.state.muted is False

    reply = command(qtbot, room, cmd.SetLayout(id="l", layout="cameras-only"))
    assert reply.ok and room.state.layout == "cameras-only"
    tile = wait_log(qtbot, jitsi_server, "command", 2, name="setTileView")  # right already tiled; left now too
    assert [r["args"] for r in tile] == [[True], [True]]

    assert command(qtbot, room, cmd.Leave(id="x")).ok
    qtbot.waitUntil(lambda: room.state.lifecycle is Lifecycle.IDLE, timeout=WAIT_MS)
    assert len(wait_log(qtbot, jitsi_server, "command", 2, name="hangup")) == 2
    assert room.state.error is None


def test_moderator_mute_is_noticed(qtbot, make_room, jitsi_server):
    room = make_room(jitsi_hosts=["127.0.0.1"])
    name = unique_room("Mute")
    join(qtbot, room, jitsi_url(jitsi_server, room=name))
    # The fake delivers to the pages that have polled it so far; repeat until both screens' pages have.
    qtbot.waitUntil(lambda: jitsi_server._post("/_fake/remote_mute", room=name).json()["clients"] >= 2,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: room.state.muted is True, timeout=WAIT_MS)


def test_kick_and_end_return_to_idle(qtbot, make_room, jitsi_server):
    room = make_room(jitsi_hosts=["127.0.0.1"])
    kicked, ended = unique_room("Kick"), unique_room("End")
    join(qtbot, room, jitsi_url(jitsi_server, room=kicked))
    jitsi_server.kick(kicked)
    qtbot.waitUntil(lambda: room.state.lifecycle is Lifecycle.IDLE, timeout=WAIT_MS)
    assert room.state.error.kind is ErrorKind.KICKED
    assert all(w.session is None for w in room.windows.values())

    join(qtbot, room, jitsi_url(jitsi_server, room=ended))
    jitsi_server.end(ended)
    qtbot.waitUntil(lambda: room.state.lifecycle is Lifecycle.IDLE, timeout=WAIT_MS)
    assert room.state.error.kind is ErrorKind.MEETING_ENDED


def test_fatal_error_ends_the_meeting_and_a_recoverable_one_does_not(qtbot, make_room, jitsi_server):
    room = make_room(jitsi_hosts=["127.0.0.1"])
    name = unique_room("Error")
    join(qtbot, room, jitsi_url(jitsi_server, room=name))
    jitsi_server.error(name, name="conference.connectionError.notAllowed", fatal=False)
    wait_log(qtbot, jitsi_server, "event", 1, name="errorOccurred")
    assert room.state.lifecycle is Lifecycle.IN_MEETING
    jitsi_server.error(name, name="conference.connectionError.accessDenied")
    qtbot.waitUntil(lambda: room.state.lifecycle is Lifecycle.IDLE, timeout=WAIT_MS)
    assert room.state.error.kind is ErrorKind.MEETING_ENDED and "accessDenied" in room.state.error.detail


def test_generic_page_opens_once_and_cannot_be_muted(qtbot, make_room, jitsi_server):
    room = make_room()
    join(qtbot, room, f"{jitsi_server.url}/_fake/log")  # an allowed page, no known platform
    assert room.state.meeting.platform == "generic"
    assert room.windows["left"].session is not None and room.windows["right"].session is None
    assert command(qtbot, room, cmd.Mute(id="g")).code == "unsupported"
    assert command(qtbot, room, cmd.SetLayout(id="h", layout="lecture")).code == "unsupported"

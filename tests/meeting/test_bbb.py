"""BigBlueButton 3 in the real agent against the fake BBB: per-screen sessions, layouts, mute, end."""

from __future__ import annotations

from roomagent.core import commands as cmd
from roomagent.core.state import ErrorKind, Lifecycle
from tests.meeting.conftest import WAIT_MS, command, join, run_js, wait_log


def test_two_screens_get_their_own_sessions_layouts_and_exactly_one_audio(qtbot, make_room, bbb_server):
    room = make_room()
    join(qtbot, room, bbb_server.join_url("m1"))
    minted = {r["session_name"]: r for r in bbb_server.log("getJoinUrl") if r["ok"]}
    assert set(minted) == {"left", "right"}
    assert minted["left"]["enforce_layout"] == "PRESENTATION_ONLY"  # lecture: slides on the main screen
    assert minted["right"]["enforce_layout"] == "CAMERAS_ONLY"
    audio = [name for name, r in minted.items() if r["userdata"].get("bbb_auto_join_audio") == "true"]
    assert audio == ["left"]
    assert minted["right"]["userdata"]["bbb_auto_join_audio"] == "false"
    assert "pollingContainer" in minted["left"]["userdata"]["bbb_custom_style"]
    ready = wait_log(qtbot, bbb_server, "ready", 2)
    assert {r["session_name"] for r in ready} == {"left", "right"}
    # Each browser profile joined with its own cookie: the client pages could enter their sessions.
    sessions = {r["session_name"]: r for r in bbb_server.log("join") if r["ok"] and r.get("parent")}
    assert set(sessions) == {"left", "right"}
    assert room.state.layout == "lecture" and set(room.state.capabilities) == {"layout", "mute", "share"}
    qtbot.waitUntil(lambda: room.state.muted is False, timeout=WAIT_MS)  # read back from the mic button


def test_layout_switch_changes_both_windows_without_a_reload(qtbot, make_room, bbb_server):
    room = make_room()
    join(qtbot, room, bbb_server.join_url("m1"))
    wait_log(qtbot, bbb_server, "ready", 2)
    joins_before = len(bbb_server.log("join"))
    reply = command(qtbot, room, cmd.SetLayout(id="l1", layout="discussion"))
    assert reply.ok and reply.data == {"layout": "discussion", "method": "event"}
    seen = wait_log(qtbot, bbb_server, "layout", 2, event="SET_ENFORCED_LAYOUT")
    assert {(r["session_name"], r["layout"]) for r in seen} == {("left", "CAMERAS_ONLY"),
                                                                ("right", "PRESENTATION_ONLY")}
    assert len(bbb_server.log("join")) == joins_before  # no new session, no reload
    assert room.state.layout == "discussion"
    layout = run_js(qtbot, room.windows["right"].session, "document.getElementById('layout').dataset.enforcedLayout")
    assert layout == "PRESENTATION_ONLY"


def test_early_30_client_gets_the_older_event_name(qtbot, make_room, bbb30_server):
    room = make_room()
    join(qtbot, room, bbb30_server.join_url("m1"))
    wait_log(qtbot, bbb30_server, "ready", 2)
    assert command(qtbot, room, cmd.SetLayout(id="l2", layout="cameras-only")).ok
    seen = wait_log(qtbot, bbb30_server, "layout", 2, event="CHANGE_ENFORCED_LAYOUT")
    assert {r["layout"] for r in seen} == {"CAMERAS_ONLY"}


def test_layout_by_reload_mints_new_sessions(qtbot, make_room, bbb_server):
    room = make_room(options={"layout_method": "reload"})
    join(qtbot, room, bbb_server.join_url("m1"))
    reply = command(qtbot, room, cmd.SetLayout(id="l3", layout="presentation-only"))
    assert reply.ok and reply.data["method"] == "reload"
    minted = [r for r in bbb_server.log("getJoinUrl") if r["ok"]]
    assert len(minted) == 4 and {r["enforce_layout"] for r in minted[2:]} == {"PRESENTATION_ONLY"}


def test_mute_and_unmute_round_trip_into_state(qtbot, make_room, bbb_server):
    room = make_room()
    join(qtbot, room, bbb_server.join_url("m1"))
    qtbot.waitUntil(lambda: room.state.muted is False, timeout=WAIT_MS)
    reply = command(qtbot, room, cmd.Mute(id="m1"))
    assert reply.ok and reply.data == {"muted": True} and room.state.muted is True
    assert [r["session_name"] for r in wait_log(qtbot, bbb_server, "mute")] == ["left"]
    reply = command(qtbot, room, cmd.Unmute(id="m2"))
    assert reply.ok and room.state.muted is False
    assert len(wait_log(qtbot, bbb_server, "unmute")) == 1
    # A moderator mutes the room inside the meeting: the room notices without being asked.
    bbb_server.mute("left")
    qtbot.waitUntil(lambda: room.state.muted is True, timeout=WAIT_MS)


def test_room_sessions_cannot_vote_chat_or_edit_notes(qtbot, make_room, bbb_server):
    room = make_room()
    join(qtbot, room, bbb_server.join_url("m1"))
    wait_log(qtbot, bbb_server, "ready", 2)
    for window in room.windows.values():
        shown = run_js(qtbot, window.session, """[...document.querySelectorAll(
            '[data-test="pollingContainer"], [data-test="chatMessages"], [data-test="sharedNotes"]')]
            .map(e => getComputedStyle(e).display)""")
        assert shown and set(shown) == {"none"}


def test_meeting_end_returns_to_idle_and_wipes_the_sessions(qtbot, make_room, bbb_server):
    room = make_room()
    join(qtbot, room, bbb_server.join_url("m1"))
    wait_log(qtbot, bbb_server, "ready", 2)
    sessions = [w.session for w in room.windows.values()]
    bbb_server.end("m1")
    qtbot.waitUntil(lambda: room.state.lifecycle is Lifecycle.IDLE, timeout=WAIT_MS)
    assert room.state.error.kind is ErrorKind.MEETING_ENDED
    assert all(w.session is None for w in room.windows.values())
    assert all(s.closed for s in sessions)  # closing destroys the profile (QtWebEngine) / user-data-dir


def test_kick_returns_to_idle_with_its_own_message(qtbot, make_room, bbb_server):
    room = make_room()
    join(qtbot, room, bbb_server.join_url("m1"))
    wait_log(qtbot, bbb_server, "ready", 2)
    bbb_server.kick("left")
    qtbot.waitUntil(lambda: room.state.lifecycle is Lifecycle.IDLE, timeout=WAIT_MS)
    assert room.state.error.kind is ErrorKind.KICKED


def test_leave_says_goodbye_from_every_session(qtbot, make_room, bbb_server):
    room = make_room()
    join(qtbot, room, bbb_server.join_url("m1"))
    wait_log(qtbot, bbb_server, "ready", 2)
    assert command(qtbot, room, cmd.Leave(id="x")).ok
    qtbot.waitUntil(lambda: room.state.lifecycle is Lifecycle.IDLE, timeout=WAIT_MS)
    left = wait_log(qtbot, bbb_server, "left", 2)
    assert {r["session_name"] for r in left} == {"left", "right"}


def test_scalelite_in_front_is_followed_to_the_real_server(qtbot, make_room, scalelite_server):
    room = make_room()
    join(qtbot, room, scalelite_server.join_url("m7"))
    assert len(scalelite_server.log("join")) == 1
    assert {r["session_name"] for r in scalelite_server.bbb.log("getJoinUrl") if r["ok"]} == {"left", "right"}


def test_redirect_to_a_host_that_is_not_allowed_opens_nothing(qtbot, make_room, scalelite_server):
    room = make_room(allowed=("localhost",))  # Scalelite is allowed, the BBB behind it (127.0.0.1) is not
    join(qtbot, room, scalelite_server.join_url("m7"), expect=Lifecycle.IDLE)
    qtbot.waitUntil(lambda: room.state.error is not None, timeout=WAIT_MS)
    assert room.state.error.kind is ErrorKind.HOST_NOT_ALLOWED and room.state.error.detail == "127.0.0.1"
    assert scalelite_server.bbb.log("getJoinUrl") == []
    assert all(w.session is None for w in room.windows.values())


def test_bbb2_server_gets_one_session_on_the_first_screen_with_a_warning(qtbot, make_room, bbb2_server):
    room = make_room()
    join(qtbot, room, bbb2_server.join_url("m2"))
    assert room.windows["left"].session is not None and room.windows["right"].session is None
    assert room.state.layouts == () and room.state.capabilities == ("mute", "share")
    assert "getJoinUrl" in room.state.warnings[0]
    assert command(qtbot, room, cmd.SetLayout(id="l", layout="lecture")).code == "unsupported"


def test_leave_ends_by_the_grace_timer_when_no_page_says_goodbye(qtbot, make_room, bbb_server, monkeypatch):
    # Pages that never finish unloading (a hung client): the adapter's grace timer must still end the
    # leave, even though the agent let go of the adapter when it started leaving.
    import gc

    from roomagent.meeting.bbb import BbbAdapter

    monkeypatch.setattr(BbbAdapter, "_say_goodbye", lambda self, screen_id, session: None)
    room = make_room()
    join(qtbot, room, bbb_server.join_url("m1"))
    assert command(qtbot, room, cmd.Leave(id="x")).ok
    gc.collect()
    assert room.state.lifecycle is Lifecycle.LEAVING
    qtbot.waitUntil(lambda: room.state.lifecycle is Lifecycle.IDLE, timeout=WAIT_MS)
    assert all(w.session is None for w in room.windows.values())

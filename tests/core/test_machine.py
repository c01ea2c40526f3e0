"""Whole room sessions driven through the pure core with fake edges: no Qt, no network, no clock."""

from __future__ import annotations

import pytest

from roomagent.core import commands as cmd
from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core.machine import RoomRules, initial_state, transition
from roomagent.core.state import ErrorKind, Lifecycle, ScreenState, ScreenStatus

BBB_URL = "https://bbb.example.org/bigbluebutton/api/join?meetingID=m42&fullName=Room&checksum=abc"


@pytest.fixture
def rules() -> RoomRules:
    return RoomRules(
        allowed_hosts=("bbb.example.org", "*.meet.example.org"),
        screens=(ScreenState(id="left", role="main", media=True), ScreenState(id="right", role="side", media=False)),
        capabilities={"bbb": frozenset({"mute", "layout"})},
        layouts={"bbb": ("presentation", "cameras")},
    )


class Room:
    """A fake-edge harness: feeds events, records effects, answers the directory like a fake would."""

    def __init__(self, rules: RoomRules) -> None:
        self.rules = rules
        self.state = initial_state(rules)
        self.now = 1000.0
        self.effects: list[fx.Effect] = []

    def send(self, event) -> list[fx.Effect]:
        self.state, effects = transition(self.state, event, rules=self.rules, now=self.now)
        self.effects.extend(effects)
        return [e for e in effects if not isinstance(e, fx.Log)]

    def command(self, command) -> fx.Reply:
        effects = self.send(ev.CommandReceived(command=command, origin="test"))
        replies = [e for e in effects if isinstance(e, fx.Reply)]
        assert len(replies) == 1, effects
        return replies[0]

    def join(self, url: str = BBB_URL) -> None:
        (redeem,) = self.send(ev.CodeEntered(code="k7m 4qx 9tb"))
        assert isinstance(redeem, fx.RedeemCode)
        self.send(ev.CodeRedeemed(attempt=redeem.attempt, join_url=url))
        for screen in self.rules.screens:
            self.send(ev.ScreenLoaded(screen=screen.id, ok=True))


def test_whole_session_join_switch_layout_mute_leave(rules):
    room = Room(rules)
    effects = room.send(ev.CodeEntered(code="k7m-4qx9tb"))
    assert effects == [fx.RedeemCode(attempt=1, code="K7M-4QX-9TB")]
    assert room.state.lifecycle is Lifecycle.REDEEMING

    effects = room.send(ev.CodeRedeemed(attempt=1, join_url=BBB_URL))
    opened = [e for e in effects if isinstance(e, fx.OpenScreen)]
    assert [(o.screen, o.media) for o in opened] == [("left", True), ("right", False)]
    assert any(isinstance(e, fx.StartTimer) and e.name == "join" for e in effects)
    assert room.state.lifecycle is Lifecycle.JOINING
    assert room.state.meeting.id == "m42" and room.state.meeting.platform == "bbb"

    room.send(ev.ScreenLoaded(screen="left", ok=True))
    assert room.state.lifecycle is Lifecycle.JOINING
    room.send(ev.ScreenLoaded(screen="right", ok=True))
    assert room.state.lifecycle is Lifecycle.IN_MEETING
    assert room.state.layout == "presentation"

    assert room.command(cmd.SetLayout(id="1", layout="cameras")).ok
    assert room.state.layout == "cameras"
    assert fx.ApplyLayout(layout="cameras") in room.effects
    assert room.command(cmd.Mute(id="2")).ok
    assert fx.SetMuted(muted=True) in room.effects

    reply = room.command(cmd.Leave(id="3"))
    assert reply.ok and room.state.lifecycle is Lifecycle.LEAVING
    assert fx.CloseScreens() in room.effects
    room.send(ev.ScreensClosed())
    assert room.state.lifecycle is Lifecycle.IDLE
    assert room.state.meeting is None
    assert all(s.status is ScreenStatus.IDLE for s in room.state.screens)


@pytest.mark.parametrize("typed", ["", "K7M-4QX", "K7M-4QX-9TB-2", "O0I-1LK-7M4", "k7m_4qx_9tb"])
def test_malformed_code_is_refused_without_a_request(rules, typed):
    room = Room(rules)
    assert room.send(ev.CodeEntered(code=typed)) == []
    assert room.state.lifecycle is Lifecycle.IDLE
    assert room.state.error.kind is ErrorKind.CODE_MALFORMED


@pytest.mark.parametrize(
    "url, kind",
    [
        ("https://evil.example.com/bigbluebutton/api/join?meetingID=x", ErrorKind.HOST_NOT_ALLOWED),
        ("javascript:alert(1)", ErrorKind.HOST_NOT_ALLOWED),
        ("file:///etc/passwd", ErrorKind.HOST_NOT_ALLOWED),
        ("https://meet.example.org.evil.com/room", ErrorKind.HOST_NOT_ALLOWED),
        ("https://bbb.example.org/rooms/abc-def-ghi/join", ErrorKind.LINK_NOT_DIRECT),
    ],
)
def test_join_url_that_may_not_be_opened_changes_nothing(rules, url, kind):
    room = Room(rules)
    room.send(ev.CodeEntered(code="K7M4QX9TB"))
    effects = room.send(ev.CodeRedeemed(attempt=1, join_url=url))
    assert not any(isinstance(e, fx.OpenScreen) for e in effects)
    assert room.state.lifecycle is Lifecycle.IDLE
    assert room.state.error.kind is kind
    assert room.state.meeting is None


def test_rate_limit_blocks_further_attempts_until_retry_time(rules):
    room = Room(rules)
    room.send(ev.CodeEntered(code="K7M4QX9TB"))
    room.send(ev.RedeemFailed(attempt=1, kind=ErrorKind.RATE_LIMITED, retry_after_s=30))
    assert room.state.error.retry_at == 1030.0
    room.now = 1010.0
    assert room.send(ev.CodeEntered(code="K7M4QX9TB")) == []
    assert room.state.error.kind is ErrorKind.RATE_LIMITED and room.state.error.retry_at == 1030.0
    room.now = 1031.0
    assert room.send(ev.CodeEntered(code="K7M4QX9TB")) == [fx.RedeemCode(attempt=2, code="K7M-4QX-9TB")]


@pytest.mark.parametrize("kind", [ErrorKind.CODE_NOT_FOUND, ErrorKind.DIRECTORY_UNAVAILABLE,
                                  ErrorKind.DIRECTORY_BAD_RESPONSE])
def test_directory_failures_return_to_the_keypad_with_the_reason(rules, kind):
    room = Room(rules)
    room.send(ev.CodeEntered(code="K7M4QX9TB"))
    room.send(ev.RedeemFailed(attempt=1, kind=kind, detail="x"))
    assert room.state.lifecycle is Lifecycle.IDLE and room.state.error.kind is kind
    room.send(ev.ErrorDismissed())
    assert room.state.error is None


def test_late_answer_of_an_abandoned_redemption_is_ignored(rules):
    room = Room(rules)
    room.send(ev.CodeEntered(code="K7M4QX9TB"))
    assert room.command(cmd.Leave()).ok  # the teacher cancels while the directory is slow
    assert room.state.lifecycle is Lifecycle.IDLE
    assert room.send(ev.CodeRedeemed(attempt=1, join_url=BBB_URL)) == []
    assert room.state.lifecycle is Lifecycle.IDLE and room.state.meeting is None


def test_join_timeout_leaves_with_the_slow_screens_named(rules):
    room = Room(rules)
    room.send(ev.CodeEntered(code="K7M4QX9TB"))
    room.send(ev.CodeRedeemed(attempt=1, join_url=BBB_URL))
    room.send(ev.ScreenLoaded(screen="left", ok=True))
    room.send(ev.TimerFired(name="join", attempt=0))  # a stale timer of an older attempt
    assert room.state.lifecycle is Lifecycle.JOINING
    room.send(ev.TimerFired(name="join", attempt=1))
    assert room.state.lifecycle is Lifecycle.LEAVING
    assert room.state.error.kind is ErrorKind.JOIN_TIMEOUT and room.state.error.detail == "right"
    room.send(ev.ScreensClosed())
    assert room.state.lifecycle is Lifecycle.IDLE
    assert room.state.error.kind is ErrorKind.JOIN_TIMEOUT  # still shown on the keypad


def test_failed_load_while_joining_leaves(rules):
    room = Room(rules)
    room.send(ev.CodeEntered(code="K7M4QX9TB"))
    room.send(ev.CodeRedeemed(attempt=1, join_url=BBB_URL))
    effects = room.send(ev.ScreenLoaded(screen="right", ok=False, detail="connection refused"))
    assert fx.CloseScreens() in effects
    assert room.state.error.kind is ErrorKind.JOIN_FAILED


def test_meeting_end_and_crash_reports(rules):
    room = Room(rules)
    room.join()
    room.send(ev.ScreenGaveUp(screen="right", crashes=3))
    assert room.state.screen("right").status is ScreenStatus.FAILED
    assert room.state.lifecycle is Lifecycle.IN_MEETING
    room.send(ev.MeetingEnded(reason="the moderator ended the meeting"))
    assert room.state.lifecycle is Lifecycle.LEAVING and room.state.error.kind is ErrorKind.MEETING_ENDED


def test_commands_are_scoped_to_the_meeting_and_the_platform(rules):
    room = Room(rules)
    assert room.command(cmd.Mute(id="a")).code == "not_in_meeting"
    assert room.command(cmd.Leave(id="b")).code == "not_in_meeting"
    room.join()
    assert room.command(cmd.Mute(id="c", meeting="other")).code == "wrong_meeting"
    assert room.command(cmd.Mute(id="d", meeting="m42")).ok
    reply = room.command(cmd.SetLayout(id="e", layout="nope"))
    assert reply.code == "unknown_layout" and "presentation" in reply.message
    assert room.state.layout == "presentation"


def test_generic_platform_answers_unsupported_never_a_silent_ok(rules):
    room = Room(rules)
    room.join("https://x.meet.example.org/some/meeting")
    assert room.state.meeting.platform == "generic"
    assert room.command(cmd.Mute(id="1")).code == "unsupported"
    assert room.command(cmd.SetLayout(id="2", layout="presentation")).code == "unsupported"
    assert not any(isinstance(e, (fx.SetMuted, fx.ApplyLayout)) for e in room.effects)


def test_snapshot_never_contains_the_join_url(rules):
    room = Room(rules)
    room.join()
    snap = room.state.snapshot()
    assert snap["state"] == "in_meeting"
    assert snap["meeting"]["host"] == "bbb.example.org"
    assert "checksum" not in repr(snap)
    assert set(snap) == {"state", "meeting", "layout", "muted", "screens", "sources", "sharing", "version", "error"}


def test_get_state_answers_with_the_snapshot(rules):
    room = Room(rules)
    reply = room.command(cmd.GetState(id="s"))
    assert reply.ok and reply.data["state"] == "idle" and reply.command_id == "s"


def test_any_state_commands_identify_and_message(rules):
    room = Room(rules)
    assert room.command(cmd.IdentifyScreens(id="i")).ok
    assert fx.IdentifyScreens(seconds=10.0) in room.effects
    assert room.command(cmd.ShowMessage(id="m", text="We start in 5 minutes", seconds=300)).ok
    assert fx.ShowMessage(text="We start in 5 minutes", seconds=300) in room.effects
    assert room.state.lifecycle is Lifecycle.IDLE


def test_sources_are_unknown_until_the_room_has_inputs(rules):
    room = Room(rules)
    assert room.command(cmd.ShareSource(id="s", source="hdmi1")).code == "unknown_source"
    assert room.command(cmd.PreviewSource(id="p", screen="left", source="hdmi1")).code == "unknown_source"
    assert room.command(cmd.StopShare(id="x")).ok


def test_reload_one_or_every_screen_in_a_meeting(rules):
    room = Room(rules)
    assert room.command(cmd.Reload(id="r0")).code == "not_in_meeting"
    room.join()
    assert room.command(cmd.Reload(id="r1", screen="right")).ok
    assert fx.ReloadScreens(screens=("right",)) in room.effects
    assert room.command(cmd.Reload(id="r2")).ok
    assert fx.ReloadScreens(screens=("left", "right")) in room.effects
    assert room.command(cmd.Reload(id="r3", screen="back")).code == "unknown_screen"

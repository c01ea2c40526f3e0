"""Whole room sessions driven through the pure core with fake edges: no Qt, no network, no clock."""

from __future__ import annotations

import pytest

from roomagent.core import commands as cmd
from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core.machine import RoomRules, initial_state, transition
from roomagent.core.sources import SourceState
from roomagent.core.state import ErrorKind, Lifecycle, ScreenState, ScreenStatus

BBB_URL = "https://bbb.example.org/bigbluebutton/api/join?meetingID=m42&fullName=Room&checksum=abc"


@pytest.fixture
def rules() -> RoomRules:
    return RoomRules(
        allowed_hosts=("bbb.example.org", "*.meet.example.org"),
        screens=(ScreenState(id="left", role="main", media=True), ScreenState(id="right", role="side", media=False)),
        capabilities={"bbb": frozenset({"mute", "layout", "share"})},
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
        self.send(ev.JoinPlanned(attempt=redeem.attempt, screens=tuple(s.id for s in self.rules.screens),
                                 capabilities=("mute", "layout", "share")))
        for screen in self.rules.screens:
            self.send(ev.ScreenLoaded(screen=screen.id, ok=True))

    def deferred(self, command) -> list[fx.Effect]:
        """A command the core hands to the adapter: no Reply yet, one effect for the adapter."""
        effects = self.send(ev.CommandReceived(command=command, origin="test"))
        assert not any(isinstance(e, fx.Reply) for e in effects), effects
        return effects


def test_whole_session_join_switch_layout_mute_leave(rules):
    room = Room(rules)
    effects = room.send(ev.CodeEntered(code="k7m-4qx9tb"))
    assert effects == [fx.RedeemCode(attempt=1, code="K7M-4QX-9TB")]
    assert room.state.lifecycle is Lifecycle.REDEEMING

    effects = room.send(ev.CodeRedeemed(attempt=1, join_url=BBB_URL))
    (join,) = [e for e in effects if isinstance(e, fx.JoinMeeting)]
    assert [(s.id, s.media) for s in join.screens] == [("left", True), ("right", False)]
    assert join.layout == "presentation" and join.attempt == 1
    assert any(isinstance(e, fx.StartTimer) and e.name == "join" for e in effects)
    assert room.state.lifecycle is Lifecycle.JOINING
    assert room.state.meeting.id == "m42" and room.state.meeting.platform == "bbb"

    room.send(ev.JoinPlanned(attempt=1, screens=("left", "right"), capabilities=("mute", "layout")))
    room.send(ev.ScreenLoaded(screen="left", ok=True))
    assert room.state.lifecycle is Lifecycle.JOINING
    room.send(ev.ScreenLoaded(screen="right", ok=True))
    assert room.state.lifecycle is Lifecycle.IN_MEETING
    assert room.state.layout == "presentation"
    assert room.state.capabilities == ("layout", "mute")

    assert room.deferred(cmd.SetLayout(id="1", layout="cameras")) == [
        fx.ApplyLayout(layout="cameras", command_id="1", origin="test")]
    assert room.state.layout == "presentation"  # not before the adapter says it is done
    (reply,) = room.send(ev.ActionDone(action="layout", ok=True, command_id="1", origin="test", layout="cameras",
                                       method="event"))
    assert reply.ok and reply.data == {"layout": "cameras", "method": "event"}
    assert room.state.layout == "cameras"

    assert room.deferred(cmd.Mute(id="2")) == [fx.SetMuted(muted=True, command_id="2", origin="test")]
    (reply,) = room.send(ev.ActionDone(action="mute", ok=True, command_id="2", origin="test", muted=True))
    assert reply.ok and reply.data == {"muted": True} and room.state.muted is True

    reply = room.command(cmd.Leave(id="3"))
    assert reply.ok and room.state.lifecycle is Lifecycle.LEAVING
    assert fx.CloseScreens() in room.effects
    room.send(ev.ScreensClosed())
    assert room.state.lifecycle is Lifecycle.IDLE
    assert room.state.meeting is None
    assert all(s.status is ScreenStatus.IDLE for s in room.state.screens)
    assert room.state.capabilities == () and room.state.layouts == ()


def test_failed_adapter_action_answers_the_command_with_its_reason(rules):
    room = Room(rules)
    room.join()
    room.deferred(cmd.Unmute(id="9"))
    (reply,) = room.send(ev.ActionDone(action="mute", ok=False, command_id="9", origin="test", code="failed",
                                       message="the meeting client shows no microphone button"))
    assert not reply.ok and reply.code == "failed" and "microphone" in reply.message
    assert room.state.muted is None


def test_mute_read_back_from_the_client_reaches_state(rules):
    room = Room(rules)
    room.join()
    room.send(ev.MuteChanged(muted=False))
    assert room.state.muted is False
    room.send(ev.MuteChanged(muted=True))  # a moderator muted the room in the meeting
    assert room.state.muted is True and room.state.snapshot()["muted"] is True


def test_legacy_plan_shows_one_screen_without_layouts_and_warns(rules):
    room = Room(rules)
    room.send(ev.CodeEntered(code="K7M4QX9TB"))
    room.send(ev.CodeRedeemed(attempt=1, join_url=BBB_URL))
    room.send(ev.JoinPlanned(attempt=1, screens=("left",), capabilities=("mute",), warning="no getJoinUrl"))
    assert room.state.screen("right").status is ScreenStatus.IDLE
    room.send(ev.ScreenLoaded(screen="left", ok=True))
    assert room.state.lifecycle is Lifecycle.IN_MEETING
    assert room.state.layouts == () and room.state.capabilities == ("mute",)
    assert room.state.snapshot()["warnings"] == ["no getJoinUrl"]
    reply = room.command(cmd.SetLayout(id="l", layout="cameras"))
    assert reply.code == "unsupported"


def test_join_failure_from_the_adapter_leaves_with_its_reason(rules):
    room = Room(rules)
    room.send(ev.CodeEntered(code="K7M4QX9TB"))
    room.send(ev.CodeRedeemed(attempt=1, join_url=BBB_URL))
    room.send(ev.JoinFailed(attempt=0, detail="stale"))  # an older attempt's answer changes nothing
    assert room.state.lifecycle is Lifecycle.JOINING
    room.send(ev.JoinFailed(attempt=1, detail="evil.example.com", kind=ErrorKind.HOST_NOT_ALLOWED))
    assert room.state.lifecycle is Lifecycle.LEAVING
    assert room.state.error.kind is ErrorKind.HOST_NOT_ALLOWED


def test_kick_ends_the_meeting_with_its_own_reason(rules):
    room = Room(rules)
    room.join()
    room.send(ev.MeetingEnded(reason="removed", kicked=True))
    assert room.state.lifecycle is Lifecycle.LEAVING and room.state.error.kind is ErrorKind.KICKED
    room.send(ev.ScreensClosed())
    assert room.state.lifecycle is Lifecycle.IDLE and room.state.error.kind is ErrorKind.KICKED


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
    assert not any(isinstance(e, fx.JoinMeeting) for e in effects)
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


def test_a_failed_screen_that_loads_again_is_no_longer_failed(rules):
    room = Room(rules)
    room.join()
    room.send(ev.ScreenGaveUp(screen="right", crashes=3))
    room.send(ev.ScreenGaveUp(screen="left", crashes=3))
    room.send(ev.ScreenLoaded(screen="right", ok=True))
    assert room.state.screen("right").status is ScreenStatus.LOADED
    assert room.state.error.kind is ErrorKind.SCREEN_FAILED  # left is still failed
    room.send(ev.ScreenLoaded(screen="left", ok=True))
    assert [s.status for s in room.state.screens] == [ScreenStatus.LOADED, ScreenStatus.LOADED]
    assert room.state.error is None and room.state.snapshot()["error"] is None
    assert room.state.lifecycle is Lifecycle.IN_MEETING


def test_a_screen_that_loads_again_keeps_other_errors(rules):
    room = Room(rules)
    room.join()
    room.send(ev.ScreenGaveUp(screen="right", crashes=3))
    room.send(ev.HostReachability(reachable=True))  # nothing to do with the screen
    room.send(ev.ActionDone(action="mute", ok=False, message="no button"))
    room.send(ev.ScreenLoaded(screen="right", ok=True))
    assert room.state.error is None
    room.send(ev.ScreenLoaded(screen="left", ok=False, detail="gone"))
    room.send(ev.ScreenLoaded(screen="right", ok=True))  # right was not failed: the left's error stays
    assert room.state.error.kind is ErrorKind.SCREEN_FAILED and room.state.error.detail.startswith("left")


def test_commands_are_scoped_to_the_meeting_and_the_platform(rules):
    room = Room(rules)
    assert room.command(cmd.Mute(id="a")).code == "not_in_meeting"
    assert room.command(cmd.Leave(id="b")).code == "not_in_meeting"
    room.join()
    assert room.command(cmd.Mute(id="c", meeting="other")).code == "wrong_meeting"
    assert room.deferred(cmd.Mute(id="d", meeting="m42")) == [fx.SetMuted(muted=True, command_id="d", origin="test")]
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
    assert set(snap) == {"state", "meeting", "layout", "muted", "screens", "layouts", "capabilities", "warnings",
                         "sources", "sharing", "previews", "reconnecting", "engine", "rendering", "codecs",
                         "version", "error"}


def test_get_state_answers_with_the_snapshot(rules):
    room = Room(rules)
    reply = room.command(cmd.GetState(id="s"))
    assert reply.ok and reply.data["state"] == "idle" and reply.command_id == "s"


def test_any_state_commands_identify_and_message(rules):
    room = Room(rules)
    assert room.command(cmd.IdentifyScreens(id="i")).ok
    assert fx.ShowScreenNumbers(seconds=10.0) in room.effects
    assert room.command(cmd.ShowMessage(id="m", text="We start in 5 minutes", seconds=300)).ok
    assert fx.DisplayMessage(text="We start in 5 minutes", seconds=300) in room.effects
    assert room.state.lifecycle is Lifecycle.IDLE


def test_sources_are_unknown_until_the_room_has_inputs(rules):
    room = Room(rules)
    assert room.command(cmd.PreviewSource(id="p", screen="left", source="hdmi1")).code == "unknown_source"
    assert room.command(cmd.ShareSource(id="s", source="hdmi1")).code == "not_in_meeting"
    assert room.command(cmd.StopShare(id="x")).ok
    room.join()
    assert room.command(cmd.ShareSource(id="s", source="hdmi1")).code == "unknown_source"


HDMI = SourceState(id="hdmi1", name="Lectern HDMI", present=True, signal=True, device="/dev/video0",
                   label="USB Video (534d:2109)", product="USB Video")


def test_share_a_present_input_and_stop(rules):
    room = Room(rules)
    room.send(ev.SourcesChanged(sources=(HDMI,)))
    assert room.state.snapshot()["sources"][0]["id"] == "hdmi1"
    room.join()
    (share,) = room.deferred(cmd.ShareSource(id="s1", source="hdmi1"))
    assert share == fx.StartSharing(source=HDMI, command_id="s1", origin="test")
    (reply,) = room.send(ev.ActionDone(action="share", ok=True, command_id="s1", origin="test", source="hdmi1"))
    assert reply.ok and reply.data == {"sharing": "hdmi1"} and room.state.sharing == "hdmi1"
    assert room.deferred(cmd.StopShare(id="s2")) == [fx.StopSharing(command_id="s2", origin="test")]
    (reply,) = room.send(ev.ActionDone(action="stop_share", ok=True, command_id="s2", origin="test"))
    assert reply.data == {"sharing": None} and room.state.sharing is None


def test_inputs_without_picture_or_unplugged_are_refused_and_unplugging_ends_share_and_preview(rules):
    room = Room(rules)
    room.send(ev.SourcesChanged(sources=(HDMI.model_copy(update={"signal": False}),)))
    room.join()
    assert room.command(cmd.ShareSource(id="a", source="hdmi1")).code == "no_signal"
    assert room.command(cmd.PreviewSource(id="b", screen="right", source="hdmi1")).code == "no_signal"
    room.send(ev.SourcesChanged(sources=(HDMI,)))
    assert room.command(cmd.PreviewSource(id="c", screen="nope", source="hdmi1")).code == "unknown_screen"
    assert room.command(cmd.PreviewSource(id="d", screen="right", source="hdmi1")).ok
    assert fx.StartPreview(screen="right", source="hdmi1") in room.effects
    room.send(ev.ActionDone(action="share", ok=True, source="hdmi1"))
    assert room.state.sharing == "hdmi1" and room.state.previews == {"right": "hdmi1"}
    effects = room.send(ev.SourcesChanged(sources=(HDMI.model_copy(update={"present": False}),)))
    assert room.state.sharing is None and room.state.previews == {}
    assert fx.EndPreviews(screens=("right",)) in effects
    assert room.command(cmd.ShareSource(id="e", source="hdmi1")).code == "unknown_source"


def test_preview_works_idle_and_stop_preview_ends_all(rules):
    room = Room(rules)
    room.send(ev.SourcesChanged(sources=(HDMI,)))
    assert room.command(cmd.PreviewSource(id="p", screen="left", source="hdmi1")).ok
    assert room.state.previews == {"left": "hdmi1"}
    room.send(ev.PreviewEnded(screen="left", detail="VLC failed"))
    assert room.state.previews == {}
    room.command(cmd.PreviewSource(id="q", screen="right", source="hdmi1"))
    assert room.command(cmd.StopPreview(id="r")).ok and room.state.previews == {}
    assert fx.EndPreviews(screens=("right",)) in room.effects


def test_reload_one_or_every_screen_in_a_meeting(rules):
    room = Room(rules)
    assert room.command(cmd.Reload(id="r0")).code == "not_in_meeting"
    room.join()
    assert room.command(cmd.Reload(id="r1", screen="right")).ok
    assert fx.ReloadScreens(screens=("right",)) in room.effects
    assert room.command(cmd.Reload(id="r2")).ok
    assert fx.ReloadScreens(screens=("left", "right")) in room.effects
    assert room.command(cmd.Reload(id="r3", screen="back")).code == "unknown_screen"


def test_host_lost_shows_reconnecting_and_its_return_rejoins_with_the_same_link(rules):
    room = Room(rules)
    room.join()
    room.send(ev.CommandReceived(command=cmd.SetLayout(id="l", layout="cameras"), origin="test"))
    room.send(ev.ActionDone(action="layout", ok=True, layout="cameras"))
    effects = room.send(ev.HostReachability(reachable=False, detail="connect timeout"))
    assert effects == [fx.ShowReconnecting(on=True)] and room.state.reconnecting
    assert room.send(ev.HostReachability(reachable=False)) == []  # said once
    effects = room.send(ev.HostReachability(reachable=True))
    (rejoin,) = [e for e in effects if isinstance(e, fx.JoinMeeting)]
    assert fx.ShowReconnecting(on=False) in effects
    assert rejoin.meeting.join_url == BBB_URL and rejoin.layout == "cameras" and rejoin.attempt == 2
    assert room.state.lifecycle is Lifecycle.JOINING and not room.state.reconnecting
    # The meeting ended while the room was away: the adapter cannot join again → idle with the reason.
    room.send(ev.JoinFailed(attempt=2, detail="meetingNotFound", kind=ErrorKind.MEETING_ENDED))
    room.send(ev.ScreensClosed())
    assert room.state.lifecycle is Lifecycle.IDLE and room.state.error.kind is ErrorKind.MEETING_ENDED


def test_host_probes_outside_a_meeting_change_nothing(rules):
    room = Room(rules)
    before = room.state
    room.send(ev.HostReachability(reachable=False))
    assert room.state == before

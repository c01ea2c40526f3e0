"""The one place where the room's behaviour is decided: ``transition(state, event) -> (state, effects)``.

Pure: no I/O, no Qt, no clock of its own (``now`` is passed in). Edges turn what they hear into events
and carry out the effects they are handed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core.codes import normalize_code
from roomagent.core.dispatch import handle_command
from roomagent.core.hosts import url_allowed, url_host
from roomagent.core.meeting_url import NotADirectLink, describe_join_url
from roomagent.core.steps import error, set_screen, start_leaving
from roomagent.core.state import ErrorKind, Lifecycle, MeetingInfo, RoomState, ScreenState, ScreenStatus

#: A meeting page that has not finished loading on every screen after this long is given up: the
#: teacher is better served by an error and a retry than by a projector that stays grey.
JOIN_TIMEOUT_S = 45.0


class RoomRules(BaseModel):
    """The parts of the room profile the core decides with."""

    model_config = ConfigDict(frozen=True)

    allowed_hosts: tuple[str, ...]
    screens: tuple[ScreenState, ...]
    join_timeout_s: float = JOIN_TIMEOUT_S
    #: platform -> what its adapter can do ("mute", "layout"); platforms not listed can do neither.
    capabilities: dict[str, frozenset[str]] = {}
    #: platform -> the layouts it offers, first is the default.
    layouts: dict[str, tuple[str, ...]] = {}


Result = tuple[RoomState, list[fx.Effect]]


def initial_state(rules: RoomRules) -> RoomState:
    """The idle room with its configured screens."""
    return RoomState(screens=rules.screens)


def transition(state: RoomState, event: ev.Event, *, rules: RoomRules, now: float) -> Result:
    """Decide what ``event`` does to ``state``. Events that do not fit the lifecycle change nothing."""
    handler = _HANDLERS[type(event)]
    return handler(state, event, rules, now)


def _ignored(state: RoomState, why: str) -> Result:
    return state, [fx.Log(level="debug", message=f"ignored: {why} (state {state.lifecycle})")]


def _on_code_entered(state: RoomState, event: ev.CodeEntered, rules: RoomRules, now: float) -> Result:
    if state.lifecycle is not Lifecycle.IDLE:
        return _ignored(state, "code entered while busy")
    code = normalize_code(event.code)
    if code is None:
        return state.model_copy(update={"error": error(ErrorKind.CODE_MALFORMED, now)}), []
    if state.blocked_until is not None and state.blocked_until > now:
        err = error(ErrorKind.RATE_LIMITED, now, retry_at=state.blocked_until)
        return state.model_copy(update={"error": err}), []
    attempt = state.attempt + 1
    new = state.model_copy(
        update={"lifecycle": Lifecycle.REDEEMING, "attempt": attempt, "error": None, "blocked_until": None}
    )
    return new, [fx.RedeemCode(attempt=attempt, code=code), fx.Log(level="info", message="redeeming a code")]


def _on_code_redeemed(state: RoomState, event: ev.CodeRedeemed, rules: RoomRules, now: float) -> Result:
    if state.lifecycle is not Lifecycle.REDEEMING or event.attempt != state.attempt:
        return _ignored(state, "stale redemption")
    host = url_host(event.join_url)
    if host is None or not url_allowed(event.join_url, rules.allowed_hosts):
        shown = host or "(not an http(s) link)"
        err = error(ErrorKind.HOST_NOT_ALLOWED, now, detail=shown)
        log = fx.Log(level="warning", message=f"join refused: host {shown} is not on meeting.allowed_hosts")
        return state.model_copy(update={"lifecycle": Lifecycle.IDLE, "error": err}), [log]
    try:
        target = describe_join_url(event.join_url)
    except NotADirectLink as exc:
        err = error(ErrorKind.LINK_NOT_DIRECT, now, detail=str(exc))
        return state.model_copy(update={"lifecycle": Lifecycle.IDLE, "error": err}), []
    meeting = MeetingInfo(
        id=target.meeting_id, platform=target.platform, host=target.host, since=now, join_url=event.join_url
    )
    layouts = rules.layouts.get(target.platform, ())
    screens = tuple(s.model_copy(update={"status": ScreenStatus.LOADING}) for s in state.screens)
    new = state.model_copy(
        update={
            "lifecycle": Lifecycle.JOINING,
            "meeting": meeting,
            "screens": screens,
            "layouts": layouts,
            "layout": layouts[0] if layouts else None,
            "muted": None,
        }
    )
    effects: list[fx.Effect] = [
        fx.OpenScreen(screen=s.id, url=event.join_url, media=s.media, meeting=meeting) for s in screens
    ]
    effects.append(fx.StartTimer(name="join", seconds=rules.join_timeout_s, attempt=state.attempt))
    effects.append(fx.Log(level="info", message=f"joining {target.platform} meeting on {target.host}"))
    return new, effects


def _on_redeem_failed(state: RoomState, event: ev.RedeemFailed, rules: RoomRules, now: float) -> Result:
    if state.lifecycle is not Lifecycle.REDEEMING or event.attempt != state.attempt:
        return _ignored(state, "stale redemption failure")
    blocked = None
    if event.kind is ErrorKind.RATE_LIMITED:
        blocked = now + (event.retry_after_s if event.retry_after_s is not None else 60.0)
    err = error(event.kind, now, detail=event.detail, retry_at=blocked)
    new = state.model_copy(update={"lifecycle": Lifecycle.IDLE, "error": err, "blocked_until": blocked})
    return new, [fx.Log(level="info", message=f"code not redeemed: {event.kind.value}")]


def _on_screen_loaded(state: RoomState, event: ev.ScreenLoaded, rules: RoomRules, now: float) -> Result:
    if state.lifecycle not in (Lifecycle.JOINING, Lifecycle.IN_MEETING) or state.screen(event.screen) is None:
        return _ignored(state, f"load report from {event.screen}")
    if not event.ok:
        err = error(ErrorKind.JOIN_FAILED if state.lifecycle is Lifecycle.JOINING else ErrorKind.SCREEN_FAILED,
                     now, detail=f"{event.screen}: {event.detail}".strip(": "))
        if state.lifecycle is Lifecycle.JOINING:
            return start_leaving(set_screen(state, event.screen, ScreenStatus.FAILED), err)
        return set_screen(state, event.screen, ScreenStatus.FAILED).model_copy(update={"error": err}), []
    new = set_screen(state, event.screen, ScreenStatus.LOADED)
    if new.lifecycle is Lifecycle.JOINING and all(s.status is ScreenStatus.LOADED for s in new.screens):
        new = new.model_copy(update={"lifecycle": Lifecycle.IN_MEETING})
        return new, [fx.Log(level="info", message="in meeting on every screen")]
    return new, []


def _on_screen_gave_up(state: RoomState, event: ev.ScreenGaveUp, rules: RoomRules, now: float) -> Result:
    if state.screen(event.screen) is None:
        return _ignored(state, f"crash report from unknown screen {event.screen}")
    err = error(ErrorKind.SCREEN_FAILED, now, detail=f"{event.screen}: renderer crashed {event.crashes} times")
    new = set_screen(state, event.screen, ScreenStatus.FAILED).model_copy(update={"error": err})
    return new, [fx.Log(level="error", message=err.detail)]


def _on_timer(state: RoomState, event: ev.TimerFired, rules: RoomRules, now: float) -> Result:
    if event.name == "join" and state.lifecycle is Lifecycle.JOINING and event.attempt == state.attempt:
        slow = [s.id for s in state.screens if s.status is not ScreenStatus.LOADED]
        return start_leaving(state, error(ErrorKind.JOIN_TIMEOUT, now, detail=", ".join(slow)))
    return _ignored(state, f"timer {event.name}")


def _on_meeting_ended(state: RoomState, event: ev.MeetingEnded, rules: RoomRules, now: float) -> Result:
    if state.lifecycle not in (Lifecycle.JOINING, Lifecycle.IN_MEETING):
        return _ignored(state, "meeting end outside a meeting")
    return start_leaving(state, error(ErrorKind.MEETING_ENDED, now, detail=event.reason))


def _on_screens_closed(state: RoomState, event: ev.ScreensClosed, rules: RoomRules, now: float) -> Result:
    if state.lifecycle is not Lifecycle.LEAVING:
        return _ignored(state, "screens closed outside leaving")
    new = state.model_copy(
        update={
            "lifecycle": Lifecycle.IDLE,
            "meeting": None,
            "layout": None,
            "layouts": (),
            "muted": None,
            "screens": tuple(s.model_copy(update={"status": ScreenStatus.IDLE}) for s in state.screens),
        }
    )
    return new, [fx.Log(level="info", message="back to idle")]


def _on_error_dismissed(state: RoomState, event: ev.ErrorDismissed, rules: RoomRules, now: float) -> Result:
    return state.model_copy(update={"error": None}), []


def _on_command(state: RoomState, event: ev.CommandReceived, rules: RoomRules, now: float) -> Result:
    return handle_command(state, event.command, event.origin, rules, now)


_HANDLERS = {
    ev.CodeEntered: _on_code_entered,
    ev.CodeRedeemed: _on_code_redeemed,
    ev.RedeemFailed: _on_redeem_failed,
    ev.ScreenLoaded: _on_screen_loaded,
    ev.ScreenGaveUp: _on_screen_gave_up,
    ev.TimerFired: _on_timer,
    ev.MeetingEnded: _on_meeting_ended,
    ev.ScreensClosed: _on_screens_closed,
    ev.CommandReceived: _on_command,
    ev.ErrorDismissed: _on_error_dismissed,
}

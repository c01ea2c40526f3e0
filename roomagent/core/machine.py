"""The one place where the room's behaviour is decided: ``transition(state, event) -> (state, effects)``.

Pure: no I/O, no Qt, no clock of its own (``now`` is passed in). Edges turn what they hear into events
and carry out the effects they are handed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core import reachability
from roomagent.core.codes import normalize_code
from roomagent.core.commands import AdapterAction, Capability, ErrorCode, LayoutData, MutedData, SharingData
from roomagent.core.dispatch import handle_command
from roomagent.core.hosts import url_allowed, url_host
from roomagent.core.meeting_url import NotADirectLink, describe_join_url
from roomagent.core.state import ErrorKind, Lifecycle, MeetingInfo, RoomState, ScreenState, ScreenStatus
from roomagent.core.steps import error, set_screen, start_leaving

#: A meeting page that has not finished loading on every screen after this long is given up: the
#: teacher is better served by an error and a retry than by a projector that stays grey.
JOIN_TIMEOUT_S = 45.0


class RoomRules(BaseModel):
    """The parts of the room profile the core decides with."""

    model_config = ConfigDict(frozen=True)

    allowed_hosts: tuple[str, ...]
    screens: tuple[ScreenState, ...]
    join_timeout_s: float = JOIN_TIMEOUT_S
    #: platform -> what its adapter can do; platforms not listed can do nothing.
    capabilities: dict[str, frozenset[Capability]] = {}
    #: platform -> the layouts it offers, first is the default.
    layouts: dict[str, tuple[str, ...]] = {}
    #: platform -> the hosts configured for it (``configured_hosts`` of the profile's ``[meeting]``).
    platform_hosts: dict[str, tuple[str, ...]] = {}


Result = tuple[RoomState, list[fx.Effect]]


def initial_state(rules: RoomRules) -> RoomState:
    """The idle room with its configured screens."""
    return RoomState(screens=rules.screens)


def transition(state: RoomState, event: ev.Event, *, rules: RoomRules, now: float) -> Result:
    """Decide what ``event`` does to ``state``. Events that do not fit the lifecycle change nothing."""
    handler = _HANDLERS[type(event)]
    new, effects = handler(state, event, rules, now)
    return reachability.follow(state, new, effects)


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
        target = describe_join_url(event.join_url, rules.platform_hosts)
    except NotADirectLink as exc:
        err = error(ErrorKind.LINK_NOT_DIRECT, now, detail=str(exc))
        return state.model_copy(update={"lifecycle": Lifecycle.IDLE, "error": err}), []
    meeting = MeetingInfo(
        id=target.meeting_id, platform=target.platform, host=target.host, since=now, join_url=event.join_url
    )
    layouts = rules.layouts.get(target.platform, ())
    layout = layouts[0] if layouts else None
    screens = tuple(s.model_copy(update={"status": ScreenStatus.LOADING}) for s in state.screens)
    new = state.model_copy(
        update={
            "lifecycle": Lifecycle.JOINING,
            "meeting": meeting,
            "screens": screens,
            "layouts": layouts,
            "layout": layout,
            "muted": None,
            "capabilities": tuple(sorted(rules.capabilities.get(target.platform, frozenset()))),
            "warnings": (),
        }
    )
    effects: list[fx.Effect] = [
        fx.JoinMeeting(attempt=state.attempt, meeting=meeting, screens=screens, layout=layout),
        fx.StartTimer(name="join", seconds=rules.join_timeout_s, attempt=state.attempt),
        fx.Log(level="info", message=f"joining {target.platform} meeting on {target.host}"),
    ]
    return new, effects


def _on_join_planned(state: RoomState, event: ev.JoinPlanned, rules: RoomRules, now: float) -> Result:
    if state.lifecycle is not Lifecycle.JOINING or event.attempt != state.attempt:
        return _ignored(state, "stale join plan")
    planned = set(event.screens)
    screens = tuple(s if s.id in planned else s.model_copy(update={"status": ScreenStatus.IDLE})
                    for s in state.screens)
    caps = tuple(c for c in state.capabilities if c in set(event.capabilities))
    update: dict = {"screens": screens, "capabilities": caps}
    if Capability.LAYOUT not in caps:
        update.update(layouts=(), layout=None)
    effects: list[fx.Effect] = []
    if event.warning:
        update["warnings"] = (*state.warnings, event.warning)
        effects.append(fx.Log(level="warning", message=event.warning))
    return state.model_copy(update=update), effects


def _on_join_failed(state: RoomState, event: ev.JoinFailed, rules: RoomRules, now: float) -> Result:
    if state.lifecycle is not Lifecycle.JOINING or event.attempt != state.attempt:
        return _ignored(state, "stale join failure")
    return start_leaving(state, error(event.kind, now, detail=event.detail))


def _on_mute_changed(state: RoomState, event: ev.MuteChanged, rules: RoomRules, now: float) -> Result:
    if state.lifecycle not in (Lifecycle.JOINING, Lifecycle.IN_MEETING) or state.muted == event.muted:
        return state, []
    return state.model_copy(update={"muted": event.muted}), []


def _on_action_done(state: RoomState, event: ev.ActionDone, rules: RoomRules, now: float) -> Result:
    effects: list[fx.Effect] = []
    new = state
    in_meeting = state.lifecycle in (Lifecycle.JOINING, Lifecycle.IN_MEETING)
    if event.ok and in_meeting and event.action is AdapterAction.LAYOUT and event.layout in state.layouts:
        new = state.model_copy(update={"layout": event.layout})
    if event.ok and in_meeting and event.action is AdapterAction.MUTE and event.muted is not None:
        new = new.model_copy(update={"muted": event.muted})
    if event.ok and in_meeting and event.action in (AdapterAction.SHARE, AdapterAction.STOP_SHARE):
        new = new.model_copy(update={"sharing": event.source if event.action is AdapterAction.SHARE else None})
    if event.command_id or event.origin:
        data = _done_data(new, event).as_data() if event.ok else None
        effects.append(fx.Reply(command_id=event.command_id, origin=event.origin or "panel", ok=event.ok,
                                code="" if event.ok else (event.code or ErrorCode.FAILED), message=event.message,
                                data=data))
    if not event.ok:
        effects.append(fx.Log(level="warning", message=f"{event.action} failed: {event.message}"))
    return new, effects


def _done_data(state: RoomState, event: ev.ActionDone) -> LayoutData | MutedData | SharingData:
    """The data of the ``ok`` reply to the command an adapter carried out (see the registry's ``reply``)."""
    if event.action is AdapterAction.LAYOUT:
        return LayoutData(layout=state.layout, method=event.method)
    if event.action is AdapterAction.MUTE:
        return MutedData(muted=state.muted)
    return SharingData(sharing=state.sharing)


def _on_redeem_failed(state: RoomState, event: ev.RedeemFailed, rules: RoomRules, now: float) -> Result:
    if state.lifecycle is not Lifecycle.REDEEMING or event.attempt != state.attempt:
        return _ignored(state, "stale redemption failure")
    blocked = None
    if event.kind is ErrorKind.RATE_LIMITED:
        blocked = now + (event.retry_after_s if event.retry_after_s is not None else 60.0)
    err = error(event.kind, now, detail=event.detail, retry_at=blocked)
    new = state.model_copy(update={"lifecycle": Lifecycle.IDLE, "error": err, "blocked_until": blocked})
    detail = f" ({event.detail})" if event.detail else ""
    return new, [fx.Log(level="info", message=f"code not redeemed: {event.kind.value}{detail}")]


def _on_screen_loaded(state: RoomState, event: ev.ScreenLoaded, rules: RoomRules, now: float) -> Result:
    if state.lifecycle not in (Lifecycle.JOINING, Lifecycle.IN_MEETING) or state.screen(event.screen) is None:
        return _ignored(state, f"load report from {event.screen}")
    if not event.ok:
        err = error(ErrorKind.JOIN_FAILED if state.lifecycle is Lifecycle.JOINING else ErrorKind.SCREEN_FAILED,
                     now, detail=f"{event.screen}: {event.detail}".strip(": "))
        if state.lifecycle is Lifecycle.JOINING:
            return start_leaving(set_screen(state, event.screen, ScreenStatus.FAILED), err)
        return set_screen(state, event.screen, ScreenStatus.FAILED).model_copy(update={"error": err}), []
    was_failed = state.screen(event.screen).status is ScreenStatus.FAILED
    new = set_screen(state, event.screen, ScreenStatus.LOADED)
    if was_failed and new.lifecycle is Lifecycle.IN_MEETING:
        # The screen is back (a reload, the renderer recovered): its failure is over, and so is the
        # error it raised once no other screen is still failed.
        effects: list[fx.Effect] = [fx.Log(level="info", message=f"{event.screen}: shows the meeting again")]
        still_failed = any(s.status is ScreenStatus.FAILED for s in new.screens)
        if new.error is not None and new.error.kind is ErrorKind.SCREEN_FAILED and not still_failed:
            new = new.model_copy(update={"error": None})
        return new, effects
    joined = [s for s in new.screens if s.status is not ScreenStatus.IDLE]
    if new.lifecycle is Lifecycle.JOINING and joined and all(s.status is ScreenStatus.LOADED for s in joined):
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
    if event.name == reachability.TIMER:
        return reachability.on_timer(state, event, now)
    if event.name == "join" and state.lifecycle is Lifecycle.JOINING and event.attempt == state.attempt:
        slow = [s.id for s in state.screens if s.status is not ScreenStatus.LOADED]
        return start_leaving(state, error(ErrorKind.JOIN_TIMEOUT, now, detail=", ".join(slow)))
    return _ignored(state, f"timer {event.name}")


def _on_meeting_ended(state: RoomState, event: ev.MeetingEnded, rules: RoomRules, now: float) -> Result:
    if state.lifecycle not in (Lifecycle.JOINING, Lifecycle.IN_MEETING):
        return _ignored(state, "meeting end outside a meeting")
    kind = ErrorKind.KICKED if event.kicked else ErrorKind.MEETING_ENDED
    return start_leaving(state, error(kind, now, detail=event.reason))


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
            "capabilities": (),
            "warnings": (),
            "sharing": None,
            "reconnecting": False,
            "screens": tuple(s.model_copy(update={"status": ScreenStatus.IDLE}) for s in state.screens),
        }
    )
    return new, [fx.Log(level="info", message="back to idle")]


def _on_sources_changed(state: RoomState, event: ev.SourcesChanged, rules: RoomRules, now: float) -> Result:
    present = {s.id for s in event.sources if s.present}
    update: dict = {"sources": event.sources}
    effects: list[fx.Effect] = []
    if state.sharing is not None and state.sharing not in present:
        # The track ended with the device; the meeting client stops showing it by itself.
        update["sharing"] = None
        effects.append(fx.Log(level="warning", message=f"shared input {state.sharing} went away"))
    gone = tuple(screen for screen, source in state.previews.items() if source not in present)
    if gone:
        update["previews"] = {k: v for k, v in state.previews.items() if k not in gone}
        effects.append(fx.EndPreviews(screens=gone))
    return state.model_copy(update=update), effects


def _on_host_reachability(state: RoomState, event: ev.HostReachability, rules: RoomRules, now: float) -> Result:
    if state.meeting is None or state.lifecycle not in (Lifecycle.JOINING, Lifecycle.IN_MEETING):
        return _ignored(state, "host probe outside a meeting")
    if not event.reachable:
        if state.reconnecting:
            return state, []
        log = fx.Log(level="warning", message=f"meeting host {state.meeting.host} unreachable: {event.detail}")
        return state.model_copy(update={"reconnecting": True}), [fx.ShowReconnecting(on=True), log]
    if not state.reconnecting:
        return state, []
    # Back: join again with the same link (a BBB join link stays valid while the meeting runs; if it
    # has ended, the adapter's JoinFailed brings the room back to idle with the reason).
    attempt = state.attempt + 1
    screens = tuple(s.model_copy(update={"status": ScreenStatus.LOADING}) for s in state.screens)
    layouts = rules.layouts.get(state.meeting.platform, ())
    new = state.model_copy(update={"reconnecting": False, "lifecycle": Lifecycle.JOINING, "attempt": attempt,
                                   "screens": screens, "muted": None, "sharing": None, "warnings": (),
                                   "layouts": layouts,
                                   "capabilities": tuple(sorted(rules.capabilities.get(state.meeting.platform, ())))})
    layout = state.layout if state.layout in layouts else (layouts[0] if layouts else None)
    return new.model_copy(update={"layout": layout}), [
        fx.ShowReconnecting(on=False),
        fx.JoinMeeting(attempt=attempt, meeting=state.meeting, screens=screens, layout=layout),
        fx.StartTimer(name="join", seconds=rules.join_timeout_s, attempt=attempt),
        fx.Log(level="info", message=f"meeting host {state.meeting.host} is back: rejoining"),
    ]


def _on_host_probed(state: RoomState, event: ev.HostProbed, rules: RoomRules, now: float) -> Result:
    return reachability.on_probed(state, event, now, lambda s, verdict: _on_host_reachability(s, verdict, rules, now))


def _on_engine_reported(state: RoomState, event: ev.EngineReported, rules: RoomRules, now: float) -> Result:
    new = state.model_copy(update={"engine": event.engine, "rendering": dict(event.rendering),
                                   "codecs": dict(event.codecs)})
    return new, []


def _on_preview_ended(state: RoomState, event: ev.PreviewEnded, rules: RoomRules, now: float) -> Result:
    if event.screen not in state.previews:
        return state, []
    previews = {k: v for k, v in state.previews.items() if k != event.screen}
    effects: list[fx.Effect] = [fx.EndPreviews(screens=(event.screen,))]
    if event.detail:
        effects.append(fx.Log(level="warning", message=f"preview on {event.screen} ended: {event.detail}"))
    return state.model_copy(update={"previews": previews}), effects


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
    ev.JoinPlanned: _on_join_planned,
    ev.JoinFailed: _on_join_failed,
    ev.MuteChanged: _on_mute_changed,
    ev.ActionDone: _on_action_done,
    ev.SourcesChanged: _on_sources_changed,
    ev.PreviewEnded: _on_preview_ended,
    ev.HostReachability: _on_host_reachability,
    ev.EngineReported: _on_engine_reported,
    ev.ScreensClosed: _on_screens_closed,
    ev.CommandReceived: _on_command,
    ev.ErrorDismissed: _on_error_dismissed,
    ev.HostProbed: _on_host_probed,
}

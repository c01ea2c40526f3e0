"""Commands inside :func:`roomagent.core.machine.transition`: validity for this room and this meeting."""

from __future__ import annotations

from roomagent.core import commands as cmd
from roomagent.core import effects as fx
from roomagent.core.commands import ErrorCode, PreviewsData, ReplyCode, SharingData, spec_of
from roomagent.core.state import Lifecycle, RoomState
from roomagent.core.steps import start_leaving

_MEETING_STATES = (Lifecycle.JOINING, Lifecycle.IN_MEETING)
#: identify_screens shows the numbers this long: enough to walk to the back of a hall and look.
IDENTIFY_S = 10.0


def _reply(command: cmd._Command, origin: str, *, code: ReplyCode = "", message: str = "", data=None) -> fx.Reply:
    return fx.Reply(command_id=command.id, origin=origin, ok=not code, code=code, message=message, data=data)


def handle_command(state: RoomState, command, origin: str, rules, now: float):
    """Apply one command; every command gets exactly one Reply effect."""
    if command.meeting is not None:
        if state.meeting is None:
            return state, [_reply(command, origin, code=ErrorCode.NOT_IN_MEETING, message="the room is not in a meeting")]
        if command.meeting != state.meeting.id:
            return state, [_reply(command, origin, code=ErrorCode.WRONG_MEETING, message="the room is in another meeting")]

    if isinstance(command, cmd.GetState):
        return state, [_reply(command, origin, data=state.snapshot())]

    # Commands that make sense in any state.
    if isinstance(command, cmd.IdentifyScreens):
        return state, [fx.ShowScreenNumbers(seconds=IDENTIFY_S), _reply(command, origin)]
    if isinstance(command, cmd.ShowMessage):
        return state, [fx.DisplayMessage(text=command.text, seconds=command.seconds), _reply(command, origin)]
    if isinstance(command, cmd.PreviewSource):
        return _preview(state, command, origin)
    if isinstance(command, cmd.StopPreview):
        screens = tuple(state.previews)
        effects = [fx.EndPreviews(screens=screens)] if screens else []
        data = PreviewsData(previews={}).as_data()
        return state.model_copy(update={"previews": {}}), [*effects, _reply(command, origin, data=data)]
    if isinstance(command, cmd.StopShare):
        if state.sharing is None or state.lifecycle not in _MEETING_STATES:
            # Nothing shared: already so.
            return state, [_reply(command, origin, data=SharingData(sharing=None).as_data())]
        return state, [fx.StopSharing(command_id=command.id, origin=origin)]

    if isinstance(command, cmd.Leave):
        if state.lifecycle in _MEETING_STATES:
            new, effects = start_leaving(state, None)
            return new, [*effects, _reply(command, origin)]
        if state.lifecycle is Lifecycle.REDEEMING:
            # Abandon the redemption: bumping the attempt makes its late answer stale.
            new = state.model_copy(update={"lifecycle": Lifecycle.IDLE, "attempt": state.attempt + 1})
            return new, [_reply(command, origin)]
        return state, [_reply(command, origin, code=ErrorCode.NOT_IN_MEETING, message="the room is not in a meeting")]

    if state.lifecycle is not Lifecycle.IN_MEETING or state.meeting is None:
        return state, [_reply(command, origin, code=ErrorCode.NOT_IN_MEETING, message="the room is not in a meeting")]
    if isinstance(command, (cmd.Mute, cmd.Unmute)):
        if (refusal := _unsupported(state, command, origin)) is not None:
            return state, [refusal]
        # The reply comes with ActionDone, once the meeting client's microphone state was read back.
        return state, [fx.SetMuted(muted=isinstance(command, cmd.Mute), command_id=command.id, origin=origin)]

    if isinstance(command, cmd.Reload):
        ids = [s.id for s in state.screens]
        if command.screen is not None and command.screen not in ids:
            return state, [_reply(command, origin, code=ErrorCode.UNKNOWN_SCREEN,
                                  message=f"no screen {command.screen!r}; screens: {', '.join(ids)}")]
        targets = (command.screen,) if command.screen else tuple(ids)
        return state, [fx.ReloadScreens(screens=targets), _reply(command, origin)]

    if isinstance(command, cmd.ShareSource):
        source, refusal = _usable_source(state, command, origin)
        if refusal is not None:
            return state, [refusal]
        if (refusal := _unsupported(state, command, origin)) is not None:
            return state, [refusal]
        return state, [fx.StartSharing(source=source, command_id=command.id, origin=origin)]

    if isinstance(command, cmd.SetLayout):
        if (refusal := _unsupported(state, command, origin)) is not None:
            return state, [refusal]
        if command.layout not in state.layouts:
            return state, [
                _reply(command, origin, code=ErrorCode.UNKNOWN_LAYOUT,
                       message=f"unknown layout {command.layout!r}; available: {', '.join(state.layouts)}")
            ]
        return state, [fx.ApplyLayout(layout=command.layout, command_id=command.id, origin=origin)]

    raise AssertionError(f"unhandled command {command!r}")


def _unsupported(state: RoomState, command, origin: str) -> fx.Reply | None:
    """The refusal of a command whose capability (see the registry) this meeting does not offer, else None."""
    spec = spec_of(command)
    if spec.capability is None or spec.capability in state.capabilities:
        return None
    platform = state.meeting.platform if state.meeting is not None else "no"
    return _reply(command, origin, code=ErrorCode.UNSUPPORTED,
                  message=f"{spec.feature} is not supported for {platform} meetings")


def _usable_source(state: RoomState, command, origin: str):
    """The input a command names, or the reply refusing it: unknown, unplugged, or without a picture."""
    source = state.source(command.source)
    if source is None:
        known = ", ".join(s.id for s in state.sources) or "none"
        return None, _reply(command, origin, code=ErrorCode.UNKNOWN_SOURCE,
                            message=f"this room has no input called {command.source!r} (inputs: {known})")
    if not source.present:
        return None, _reply(command, origin, code=ErrorCode.UNKNOWN_SOURCE, message=f"{source.name} is not connected")
    if source.signal is False:
        return None, _reply(command, origin, code=ErrorCode.NO_SIGNAL,
                            message=f"{source.name} has no picture: is the laptop connected and switched on?")
    return source, None


def _preview(state: RoomState, command, origin: str):
    if state.screen(command.screen) is None:
        ids = ", ".join(s.id for s in state.screens)
        return state, [_reply(command, origin, code=ErrorCode.UNKNOWN_SCREEN,
                              message=f"no screen {command.screen!r}; screens: {ids}")]
    source, refusal = _usable_source(state, command, origin)
    if refusal is not None:
        return state, [refusal]
    previews = {**state.previews, command.screen: source.id}
    return state.model_copy(update={"previews": previews}), [
        fx.StartPreview(screen=command.screen, source=source.id),
        _reply(command, origin, data=PreviewsData(previews=previews).as_data()),
    ]

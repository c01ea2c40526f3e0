"""Commands inside :func:`roomagent.core.machine.transition`: validity for this room and this meeting."""

from __future__ import annotations

from roomagent.core import commands as cmd
from roomagent.core import effects as fx
from roomagent.core.state import Lifecycle, RoomState
from roomagent.core.steps import start_leaving

_MEETING_STATES = (Lifecycle.JOINING, Lifecycle.IN_MEETING)
#: identify_screens shows the numbers this long: enough to walk to the back of a hall and look.
IDENTIFY_S = 10.0


def _reply(command: cmd._Command, origin: str, *, code: str = "", message: str = "", data=None) -> fx.Reply:
    return fx.Reply(command_id=command.id, origin=origin, ok=not code, code=code, message=message, data=data)


def handle_command(state: RoomState, command, origin: str, rules, now: float):
    """Apply one command; every command gets exactly one Reply effect."""
    if command.meeting is not None:
        if state.meeting is None:
            return state, [_reply(command, origin, code="not_in_meeting", message="the room is not in a meeting")]
        if command.meeting != state.meeting.id:
            return state, [_reply(command, origin, code="wrong_meeting", message="the room is in another meeting")]

    if isinstance(command, cmd.GetState):
        return state, [_reply(command, origin, data=state.snapshot())]

    # Commands that make sense in any state.
    if isinstance(command, cmd.IdentifyScreens):
        return state, [fx.IdentifyScreens(seconds=IDENTIFY_S), _reply(command, origin)]
    if isinstance(command, cmd.ShowMessage):
        return state, [fx.ShowMessage(text=command.text, seconds=command.seconds), _reply(command, origin)]
    if isinstance(command, cmd.PreviewSource):
        return _preview(state, command, origin)
    if isinstance(command, cmd.StopPreview):
        screens = tuple(state.previews)
        effects = [fx.StopPreview(screens=screens)] if screens else []
        return state.model_copy(update={"previews": {}}), [*effects, _reply(command, origin, data={"previews": {}})]
    if isinstance(command, cmd.StopShare):
        if state.sharing is None or state.lifecycle not in _MEETING_STATES:
            return state, [_reply(command, origin, data={"sharing": None})]  # nothing shared: already so
        return state, [fx.StopShare(command_id=command.id, origin=origin)]

    if isinstance(command, cmd.Leave):
        if state.lifecycle in _MEETING_STATES:
            new, effects = start_leaving(state, None)
            return new, [*effects, _reply(command, origin)]
        if state.lifecycle is Lifecycle.REDEEMING:
            # Abandon the redemption: bumping the attempt makes its late answer stale.
            new = state.model_copy(update={"lifecycle": Lifecycle.IDLE, "attempt": state.attempt + 1})
            return new, [_reply(command, origin)]
        return state, [_reply(command, origin, code="not_in_meeting", message="the room is not in a meeting")]

    if state.lifecycle is not Lifecycle.IN_MEETING or state.meeting is None:
        return state, [_reply(command, origin, code="not_in_meeting", message="the room is not in a meeting")]
    caps = frozenset(state.capabilities)

    if isinstance(command, (cmd.Mute, cmd.Unmute)):
        if "mute" not in caps:
            return state, [_unsupported(command, origin, state.meeting.platform, "muting the room")]
        # The reply comes with ActionDone, once the meeting client's microphone state was read back.
        return state, [fx.SetMuted(muted=isinstance(command, cmd.Mute), command_id=command.id, origin=origin)]

    if isinstance(command, cmd.Reload):
        ids = [s.id for s in state.screens]
        if command.screen is not None and command.screen not in ids:
            return state, [_reply(command, origin, code="unknown_screen",
                                  message=f"no screen {command.screen!r}; screens: {', '.join(ids)}")]
        targets = (command.screen,) if command.screen else tuple(ids)
        return state, [fx.ReloadScreens(screens=targets), _reply(command, origin)]

    if isinstance(command, cmd.ShareSource):
        source, refusal = _usable_source(state, command, origin)
        if refusal is not None:
            return state, [refusal]
        if "share" not in caps:
            return state, [_unsupported(command, origin, state.meeting.platform, "sharing a room input")]
        return state, [fx.ShareSource(source=source, command_id=command.id, origin=origin)]

    if isinstance(command, cmd.SetLayout):
        if "layout" not in caps:
            return state, [_unsupported(command, origin, state.meeting.platform, "layouts")]
        if command.layout not in state.layouts:
            return state, [
                _reply(command, origin, code="unknown_layout",
                       message=f"unknown layout {command.layout!r}; available: {', '.join(state.layouts)}")
            ]
        return state, [fx.ApplyLayout(layout=command.layout, command_id=command.id, origin=origin)]

    raise AssertionError(f"unhandled command {command!r}")


def _unsupported(command, origin: str, platform: str, what: str) -> fx.Reply:
    return _reply(command, origin, code="unsupported", message=f"{what} is not supported for {platform} meetings")


def _usable_source(state: RoomState, command, origin: str):
    """The input a command names, or the reply refusing it: unknown, unplugged, or without a picture."""
    source = state.source(command.source)
    if source is None:
        known = ", ".join(s.id for s in state.sources) or "none"
        return None, _reply(command, origin, code="unknown_source",
                            message=f"this room has no input called {command.source!r} (inputs: {known})")
    if not source.present:
        return None, _reply(command, origin, code="unknown_source", message=f"{source.name} is not connected")
    if source.signal is False:
        return None, _reply(command, origin, code="no_signal",
                            message=f"{source.name} has no picture: is the laptop connected and switched on?")
    return source, None


def _preview(state: RoomState, command, origin: str):
    if state.screen(command.screen) is None:
        ids = ", ".join(s.id for s in state.screens)
        return state, [_reply(command, origin, code="unknown_screen",
                              message=f"no screen {command.screen!r}; screens: {ids}")]
    source, refusal = _usable_source(state, command, origin)
    if refusal is not None:
        return state, [refusal]
    previews = {**state.previews, command.screen: source.id}
    return state.model_copy(update={"previews": previews}), [
        fx.StartPreview(screen=command.screen, source=source.id),
        _reply(command, origin, data={"previews": previews}),
    ]

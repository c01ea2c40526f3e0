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
    if isinstance(command, (cmd.ShareSource, cmd.PreviewSource)):
        # The room's inputs are not configured yet (HDMI capture comes with the devices edge).
        return state, [_reply(command, origin, code="unknown_source",
                              message=f"this room has no input called {command.source!r}")]
    if isinstance(command, (cmd.StopShare, cmd.StopPreview)):
        return state, [_reply(command, origin, data={"sharing": None})]  # nothing shared: already so

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
    caps = rules.capabilities.get(state.meeting.platform, frozenset())

    if isinstance(command, (cmd.Mute, cmd.Unmute)):
        if "mute" not in caps:
            return state, [_unsupported(command, origin, state.meeting.platform, "muting the room")]
        return state, [fx.SetMuted(muted=isinstance(command, cmd.Mute)), _reply(command, origin)]

    if isinstance(command, cmd.Reload):
        ids = [s.id for s in state.screens]
        if command.screen is not None and command.screen not in ids:
            return state, [_reply(command, origin, code="unknown_screen",
                                  message=f"no screen {command.screen!r}; screens: {', '.join(ids)}")]
        targets = (command.screen,) if command.screen else tuple(ids)
        return state, [fx.ReloadScreens(screens=targets), _reply(command, origin)]

    if isinstance(command, cmd.SetLayout):
        if "layout" not in caps:
            return state, [_unsupported(command, origin, state.meeting.platform, "layouts")]
        if command.layout not in state.layouts:
            return state, [
                _reply(command, origin, code="unknown_layout",
                       message=f"unknown layout {command.layout!r}; available: {', '.join(state.layouts)}")
            ]
        new = state.model_copy(update={"layout": command.layout})
        return new, [fx.ApplyLayout(layout=command.layout), _reply(command, origin)]

    raise AssertionError(f"unhandled command {command!r}")


def _unsupported(command, origin: str, platform: str, what: str) -> fx.Reply:
    return _reply(command, origin, code="unsupported", message=f"{what} is not supported for {platform} meetings")

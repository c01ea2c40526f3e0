"""Events: everything the edges hear, turned into immutable values for :func:`transition`."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from roomagent.core.commands import AdapterAction, Capability, Command, ReplyCode
from roomagent.core.sources import SourceState
from roomagent.core.state import ErrorKind


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class CodeEntered(_Event):
    """The teacher submitted a code on the panel."""

    type: Literal["code_entered"] = "code_entered"
    code: str


class CodeRedeemed(_Event):
    """The directory answered with a join URL for attempt ``attempt``."""

    type: Literal["code_redeemed"] = "code_redeemed"
    attempt: int
    join_url: str


class RedeemFailed(_Event):
    """The directory refused or could not be reached for attempt ``attempt``."""

    type: Literal["redeem_failed"] = "redeem_failed"
    attempt: int
    kind: ErrorKind
    detail: str = ""
    retry_after_s: float | None = None


class ScreenLoaded(_Event):
    """A screen's browser finished loading (``ok`` False: the page failed to load)."""

    type: Literal["screen_loaded"] = "screen_loaded"
    screen: str
    ok: bool
    detail: str = ""


class ScreenGaveUp(_Event):
    """A screen's renderer kept crashing and its window stopped reloading."""

    type: Literal["screen_gave_up"] = "screen_gave_up"
    screen: str
    crashes: int


class TimerFired(_Event):
    """A timer the core scheduled ran out (``attempt`` guards against stale timers)."""

    type: Literal["timer_fired"] = "timer_fired"
    name: str
    attempt: int


class MeetingEnded(_Event):
    """The meeting platform ended the meeting (``kicked``: removed the room from it)."""

    type: Literal["meeting_ended"] = "meeting_ended"
    reason: str = ""
    kicked: bool = False


class JoinPlanned(_Event):
    """The adapter knows which screens get a session in this meeting and what it can do there."""

    type: Literal["join_planned"] = "join_planned"
    attempt: int
    screens: tuple[str, ...]
    capabilities: tuple[Capability, ...] = ()
    warning: str = ""


class JoinFailed(_Event):
    """The adapter could not join (e.g. a redirect to a host that is not allowed, a refused session)."""

    type: Literal["join_failed"] = "join_failed"
    attempt: int
    detail: str
    kind: ErrorKind = ErrorKind.JOIN_FAILED


class MuteChanged(_Event):
    """The media session's microphone changed state (read back from the meeting client)."""

    type: Literal["mute_changed"] = "mute_changed"
    muted: bool | None


class ActionDone(_Event):
    """An adapter finished a request (an :class:`~roomagent.core.effects.AdapterEffect`): the outcome, and the
    command it answers."""

    type: Literal["action_done"] = "action_done"
    action: AdapterAction
    ok: bool
    command_id: str = ""
    origin: str = ""
    #: An ErrorCode when it failed (the core answers ``failed`` when none is given); ``""`` when ok.
    code: ReplyCode = ""
    message: str = ""
    layout: str | None = None
    muted: bool | None = None
    method: str = ""
    source: str | None = None


class SourcesChanged(_Event):
    """The room's inputs changed: plugged, unplugged, or a picture appeared or went away."""

    type: Literal["sources_changed"] = "sources_changed"
    sources: tuple[SourceState, ...]


class HostReachability(_Event):
    """Whether the meeting host answers (probed while in a meeting)."""

    type: Literal["host_reachability"] = "host_reachability"
    reachable: bool
    detail: str = ""


class EngineReported(_Event):
    """What the screen engine is: its name, the rendering path chosen at start, the codecs it plays."""

    type: Literal["engine_reported"] = "engine_reported"
    engine: str
    rendering: dict[str, str] = {}
    codecs: dict[str, dict] = {}


class PreviewEnded(_Event):
    """A local preview stopped on its own (the player failed or the input went away)."""

    type: Literal["preview_ended"] = "preview_ended"
    screen: str
    detail: str = ""


class ScreensClosed(_Event):
    """Every window was torn down and every browser profile destroyed."""

    type: Literal["screens_closed"] = "screens_closed"


class CommandReceived(_Event):
    """A person asked for something (panel button or remote command)."""

    type: Literal["command"] = "command"
    command: Command
    origin: str = "panel"


class ErrorDismissed(_Event):
    """The panel cleared the error message (the teacher started typing again)."""

    type: Literal["error_dismissed"] = "error_dismissed"


class HostProbed(_Event):
    """One probe of the meeting host came back (asked for by ProbeHost of watch ``watch``)."""

    type: Literal["host_probed"] = "host_probed"
    reachable: bool
    detail: str = ""
    watch: int = 0


Event = Annotated[
    Union[
        CodeEntered,
        CodeRedeemed,
        RedeemFailed,
        ScreenLoaded,
        ScreenGaveUp,
        TimerFired,
        MeetingEnded,
        JoinPlanned,
        JoinFailed,
        MuteChanged,
        ActionDone,
        SourcesChanged,
        PreviewEnded,
        HostReachability,
        EngineReported,
        ScreensClosed,
        CommandReceived,
        ErrorDismissed,
        HostProbed,
    ],
    Field(discriminator="type"),
]

"""Events: everything the edges hear, turned into immutable values for :func:`transition`."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from roomagent.core.commands import Command
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
    """The meeting platform ended the meeting or removed the room from it."""

    type: Literal["meeting_ended"] = "meeting_ended"
    reason: str = ""


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


Event = Annotated[
    Union[
        CodeEntered,
        CodeRedeemed,
        RedeemFailed,
        ScreenLoaded,
        ScreenGaveUp,
        TimerFired,
        MeetingEnded,
        ScreensClosed,
        CommandReceived,
        ErrorDismissed,
    ],
    Field(discriminator="type"),
]

"""Commands: what a person asks the room to do, from the panel or over MQTT.

Both paths build the same models, so a button and a remote command are handled by one code path. The
JSON Schema shipped in ``roomagent/control/schemas/`` is generated from these models.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from roomagent.core.ids import NAME_PATTERN

#: The largest command payload accepted anywhere (MQTT, the directory relay).
MAX_COMMAND_BYTES = 64 * 1024
_ID = NAME_PATTERN


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Request id chosen by the sender, echoed in the reply.
    id: str = Field(default="", max_length=128)
    #: When set, the command only applies to this meeting (stale remote commands are refused).
    meeting: str | None = Field(default=None, max_length=256)


class Leave(_Command):
    """Leave the meeting: close every window and wipe every profile."""

    action: Literal["leave"] = "leave"


class Mute(_Command):
    """Mute the room microphone."""

    action: Literal["mute"] = "mute"


class Unmute(_Command):
    """Unmute the room microphone."""

    action: Literal["unmute"] = "unmute"


class SetLayout(_Command):
    """Switch the room's screens to another layout."""

    action: Literal["set_layout"] = "set_layout"
    layout: str = Field(min_length=1, max_length=64)


class ShareSource(_Command):
    """Share one of the room's inputs (e.g. an HDMI capture card) into the meeting as content."""

    action: Literal["share_source"] = "share_source"
    source: str = Field(pattern=_ID)


class StopShare(_Command):
    """Stop sharing a room input."""

    action: Literal["stop_share"] = "stop_share"


class PreviewSource(_Command):
    """Show a room input full-screen on one room screen, locally (no meeting needed)."""

    action: Literal["preview_source"] = "preview_source"
    screen: str = Field(pattern=_ID)
    source: str = Field(pattern=_ID)


class StopPreview(_Command):
    """End every local preview; the screens show what they showed before."""

    action: Literal["stop_preview"] = "stop_preview"


class Reload(_Command):
    """Reload one screen's page, or every screen's when ``screen`` is omitted."""

    action: Literal["reload"] = "reload"
    screen: str | None = Field(default=None, pattern=_ID)


class IdentifyScreens(_Command):
    """Show a big number and the screen's name on every screen for a few seconds."""

    action: Literal["identify_screens"] = "identify_screens"


class ShowMessage(_Command):
    """Show a notice on the panel and every screen, e.g. "we start in 5 minutes"."""

    action: Literal["show_message"] = "show_message"
    text: str = Field(min_length=1, max_length=280)
    seconds: float = Field(default=30, ge=1, le=3600)


class GetState(_Command):
    """Answer with the current state snapshot."""

    action: Literal["get_state"] = "get_state"


Command = Annotated[
    Union[Leave, Mute, Unmute, SetLayout, ShareSource, StopShare, PreviewSource, StopPreview, Reload,
          IdentifyScreens, ShowMessage, GetState],
    Field(discriminator="action"),
]

#: Validates a whole command payload: ``COMMAND.validate_json(raw)``.
COMMAND = TypeAdapter(Command)


class ErrorCode(StrEnum):
    """Why a command was refused. ``unsupported``: this platform cannot; never a silent ok."""

    INVALID = "invalid"
    TOO_LARGE = "too_large"
    NOT_IN_MEETING = "not_in_meeting"
    WRONG_MEETING = "wrong_meeting"
    UNSUPPORTED = "unsupported"
    UNKNOWN_LAYOUT = "unknown_layout"
    UNKNOWN_SOURCE = "unknown_source"
    NO_SIGNAL = "no_signal"
    UNKNOWN_SCREEN = "unknown_screen"
    BUSY = "busy"
    FAILED = "failed"
    TIMEOUT = "timeout"


class ReplyError(BaseModel):
    """What went wrong, for a program (``code``) and for a person (``message``)."""

    model_config = ConfigDict(frozen=True)

    code: ErrorCode
    message: str


class CommandReply(BaseModel):
    """The answer to every command: ``{"id", "status": "ok"|"error", "data"?, "error"?}``."""

    model_config = ConfigDict(frozen=True)

    id: str
    status: Literal["ok", "error"]
    data: dict[str, Any] | None = None
    error: ReplyError | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON object to send, without the keys that do not apply."""
        return self.model_dump(mode="json", exclude_none=True)

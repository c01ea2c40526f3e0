"""The command registry: what a person asks the room to do, from the panel or over MQTT, defined once.

Each action has one :class:`Action` name, one pydantic model (below), and one :class:`CommandSpec` record in
:data:`COMMANDS` saying what else it needs: the :class:`Capability` a meeting must offer, the data of its ``ok``
reply, its panel use, and help for ``roomagent ctl`` (whose arguments are derived from the model's fields).
The discriminated union :data:`Command`, the ``ctl`` sub-commands and the JSON Schema shipped in
``roomagent/control/schemas/`` are all derived from this table. Both paths (panel, MQTT) build the same
models, so a button and a remote command are handled by one code path.

Action, capability and error-code names are enums (``StrEnum``: they compare equal to, and serialise as,
their strings), so a typo is an ``AttributeError`` at import rather than a refusal nobody understands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from roomagent.core.ids import NAME_PATTERN
from roomagent.core.state import StateSnapshot

#: The largest command payload accepted anywhere (MQTT, the directory relay).
MAX_COMMAND_BYTES = 64 * 1024
#: Unicode's explicit direction controls: embeddings and overrides (U+202A-202E), isolates (U+2066-2069)
#: and the invisible marks (LRM, RLM, ALM). In a notice they turn "pay 100" into "001 yap" on the screens
#: (Trojan Source, CVE-2021-42574); text without them is still laid out right-to-left where its letters are.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_NO_BIDI = str.maketrans(dict.fromkeys(map(ord, BIDI_CONTROLS)))


def without_bidi_controls(text: str) -> str:
    """``text`` with every character of :data:`BIDI_CONTROLS` removed."""
    return text.translate(_NO_BIDI)
_ID = NAME_PATTERN


class Action(StrEnum):
    """The ``action`` of every command (the MQTT contract's names)."""

    LEAVE = "leave"
    MUTE = "mute"
    UNMUTE = "unmute"
    SET_LAYOUT = "set_layout"
    SHARE_SOURCE = "share_source"
    STOP_SHARE = "stop_share"
    PREVIEW_SOURCE = "preview_source"
    STOP_PREVIEW = "stop_preview"
    RELOAD = "reload"
    IDENTIFY_SCREENS = "identify_screens"
    SHOW_MESSAGE = "show_message"
    GET_STATE = "get_state"


class Capability(StrEnum):
    """What a meeting adapter can do in a meeting (``state.capabilities``, ``Platform.capabilities``)."""

    MUTE = "mute"
    LAYOUT = "layout"
    SHARE = "share"


class AdapterAction(StrEnum):
    """What a meeting adapter is asked to do for a command; its outcome is ``ActionDone(action=...)``."""

    MUTE = "mute"
    LAYOUT = "layout"
    SHARE = "share"
    STOP_SHARE = "stop_share"


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
    #: The command's id was used by another command a short while ago (roomagent/control/dedup.py).
    DUPLICATE_ID = "duplicate_id"


#: A reply's code: an :class:`ErrorCode`, or ``""`` for ``ok`` (anything else fails validation).
ReplyCode = ErrorCode | Literal[""]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Request id chosen by the sender, echoed in the reply.
    id: str = Field(default="", max_length=128)
    #: When set, the command only applies to this meeting (stale remote commands are refused).
    meeting: str | None = Field(default=None, max_length=256)


#: Fields every command has; the rest of a model's fields are its arguments (``ctl``'s too).
COMMON_FIELDS = frozenset({"action", *_Command.model_fields})


class Leave(_Command):
    """Leave the meeting: close every window and wipe every profile."""

    action: Literal[Action.LEAVE] = Action.LEAVE


class Mute(_Command):
    """Mute the room microphone."""

    action: Literal[Action.MUTE] = Action.MUTE


class Unmute(_Command):
    """Unmute the room microphone."""

    action: Literal[Action.UNMUTE] = Action.UNMUTE


class SetLayout(_Command):
    """Switch the room's screens to another layout."""

    action: Literal[Action.SET_LAYOUT] = Action.SET_LAYOUT
    layout: str = Field(min_length=1, max_length=64)


class ShareSource(_Command):
    """Share one of the room's inputs (e.g. an HDMI capture card) into the meeting as content."""

    action: Literal[Action.SHARE_SOURCE] = Action.SHARE_SOURCE
    source: str = Field(pattern=_ID)


class StopShare(_Command):
    """Stop sharing a room input."""

    action: Literal[Action.STOP_SHARE] = Action.STOP_SHARE


class PreviewSource(_Command):
    """Show a room input full-screen on one room screen, locally (no meeting needed)."""

    action: Literal[Action.PREVIEW_SOURCE] = Action.PREVIEW_SOURCE
    screen: str = Field(pattern=_ID)
    source: str = Field(pattern=_ID)


class StopPreview(_Command):
    """End every local preview; the screens show what they showed before."""

    action: Literal[Action.STOP_PREVIEW] = Action.STOP_PREVIEW


class Reload(_Command):
    """Reload one screen's page, or every screen's when ``screen`` is omitted."""

    action: Literal[Action.RELOAD] = Action.RELOAD
    screen: str | None = Field(default=None, pattern=_ID)


class IdentifyScreens(_Command):
    """Show a big number and the screen's name on every screen for a few seconds."""

    action: Literal[Action.IDENTIFY_SCREENS] = Action.IDENTIFY_SCREENS


class ShowMessage(_Command):
    """Show a notice on the panel and every screen, e.g. "we start in 5 minutes"."""

    action: Literal[Action.SHOW_MESSAGE] = Action.SHOW_MESSAGE
    text: str = Field(min_length=1, max_length=280)
    seconds: float = Field(default=30, ge=1, le=3600)

    @field_validator("text")
    @classmethod
    def _no_direction_controls(cls, value: str) -> str:
        # Removed, not refused: a notice pasted from a right-to-left editor may carry them innocently.
        value = without_bidi_controls(value)
        if not value:
            raise ValueError("the message has only direction controls (U+202A-202E, U+2066-2069), no text")
        return value


class GetState(_Command):
    """Answer with the current state snapshot."""

    action: Literal[Action.GET_STATE] = Action.GET_STATE


# ----- the data of ``ok`` replies (``CommandReply.data``) ----------------------------------------------
class _ReplyData(BaseModel):
    model_config = ConfigDict(frozen=True)

    def as_data(self) -> dict[str, Any]:
        """The reply's ``data`` object."""
        return self.model_dump(mode="json")


class MutedData(_ReplyData):
    """``mute``/``unmute``: the microphone as the meeting client shows it afterwards."""

    muted: bool | None


class LayoutData(_ReplyData):
    """``set_layout``: the layout shown now, and how it was switched ("event", "command", "reload")."""

    layout: str | None
    method: str


class SharingData(_ReplyData):
    """``share_source``/``stop_share``: the input shared now, if any."""

    sharing: str | None


class PreviewsData(_ReplyData):
    """``preview_source``/``stop_preview``: room screen id -> the input previewed on it."""

    previews: dict[str, str]


# ----- the registry ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CommandSpec:
    """Everything about one action besides its model's fields."""

    #: The model (its ``action`` literal is the action's name).
    model: type[_Command]
    #: The capability the meeting must offer; ``None``: the command needs none.
    capability: Capability | None = None
    #: What the refusal says is unsupported ("{feature} is not supported for {platform} meetings").
    feature: str = ""
    #: The model of an ``ok`` reply's ``data``; ``None``: an ``ok`` carries no data.
    reply: type[BaseModel] | None = None
    #: How the panel sends it ("" when only remote callers do).
    panel: str = ""
    #: ``roomagent ctl`` help per argument (field name -> text); arguments come from the model's fields.
    ctl_help: Mapping[str, str] = field(default_factory=dict)

    @property
    def action(self) -> Action:
        """The action this record describes."""
        return self.model.model_fields["action"].default

    def arguments(self) -> dict[str, Any]:
        """The model's own fields (not ``id``/``meeting``/``action``): name -> pydantic ``FieldInfo``."""
        return {name: info for name, info in self.model.model_fields.items() if name not in COMMON_FIELDS}


#: Every command, in the order of the union (and of ``roomagent ctl --help``).
COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(Leave, panel="Leave / Cancel buttons"),
    CommandSpec(Mute, Capability.MUTE, "muting the room", MutedData, panel="mute button (when unmuted)"),
    CommandSpec(Unmute, Capability.MUTE, "muting the room", MutedData, panel="mute button (when muted)"),
    CommandSpec(SetLayout, Capability.LAYOUT, "layouts", LayoutData, panel="one button per layout"),
    CommandSpec(ShareSource, Capability.SHARE, "sharing a room input", SharingData,
                panel="Share button of an input"),
    CommandSpec(StopShare, reply=SharingData, panel="Stop sharing button"),
    CommandSpec(PreviewSource, reply=PreviewsData, panel="Preview button of an input"),
    CommandSpec(StopPreview, reply=PreviewsData, panel="Stop preview button"),
    CommandSpec(Reload, ctl_help={"screen": "only this screen (default: every screen)"}),
    CommandSpec(IdentifyScreens),
    CommandSpec(ShowMessage, ctl_help={"seconds": "how long (default 30)"}),
    CommandSpec(GetState, reply=StateSnapshot),
)

#: action -> its record.
SPECS: Mapping[Action, CommandSpec] = {spec.action: spec for spec in COMMANDS}

Command = Annotated[Union[tuple(spec.model for spec in COMMANDS)], Field(discriminator="action")]

#: Validates a whole command payload: ``COMMAND.validate_json(raw)``.
COMMAND = TypeAdapter(Command)


def spec_of(command: _Command) -> CommandSpec:
    """The registry record of ``command``."""
    return SPECS[command.action]


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

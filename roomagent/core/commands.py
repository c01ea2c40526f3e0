"""Commands: what a person asks the room to do, from the panel or (later) over MQTT.

Both paths build the same models, so a button and a remote command are handled by one code path.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


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


class GetState(_Command):
    """Answer with the current state snapshot."""

    action: Literal["get_state"] = "get_state"


Command = Annotated[Union[Leave, Mute, Unmute, SetLayout, GetState], Field(discriminator="action")]

"""Effects: what the core asks the edges to do. Edges carry them out and report back with events.

Effect names say what the edge does (``StartSharing``, ``ShowScreenNumbers``); they never repeat a command's
name from :mod:`roomagent.core.commands`, which says what a person asked for (``ShareSource``, ``IdentifyScreens``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from roomagent.core.commands import AdapterAction, ReplyCode
from roomagent.core.sources import SourceState
from roomagent.core.state import MeetingInfo, ScreenState


class _Effect(BaseModel):
    model_config = ConfigDict(frozen=True)


class RedeemCode(_Effect):
    """Ask the directory for the join URL behind ``code`` (canonical form)."""

    attempt: int
    code: str


class JoinMeeting(_Effect):
    """Join ``meeting`` on the room's screens through the platform's adapter, starting with ``layout``.

    The adapter answers with JoinPlanned (which screens get a session), then ScreenLoaded per screen,
    or JoinFailed.
    """

    attempt: int
    meeting: MeetingInfo
    screens: tuple[ScreenState, ...]
    layout: str | None


class CloseScreens(_Effect):
    """Leave the meeting, close every window's session and destroy its profile; answer with ScreensClosed."""


class AdapterEffect(_Effect):
    """A command's effect that the meeting adapter carries out; answered by ``ActionDone(action=step)``."""

    #: What the adapter is asked to do.
    step: ClassVar[AdapterAction]
    #: Whether "no meeting adapter" (the meeting is being torn down) already is the outcome asked for.
    done_without_meeting: ClassVar[bool] = False
    command_id: str = ""
    origin: str = ""


class SetMuted(AdapterEffect):
    """Mute or unmute the room microphone in the media session; answered by ActionDone(action="mute")."""

    step: ClassVar[AdapterAction] = AdapterAction.MUTE
    muted: bool


class ApplyLayout(AdapterEffect):
    """Switch every screen to ``layout``; answered by ActionDone(action="layout")."""

    step: ClassVar[AdapterAction] = AdapterAction.LAYOUT
    layout: str


class StartSharing(AdapterEffect):
    """Share ``source`` into the meeting as content from the media session; answered by ActionDone("share")."""

    step: ClassVar[AdapterAction] = AdapterAction.SHARE
    source: SourceState


class StopSharing(AdapterEffect):
    """Stop sharing; answered by ActionDone("stop_share"). Without a meeting nothing is shared: done."""

    step: ClassVar[AdapterAction] = AdapterAction.STOP_SHARE
    done_without_meeting: ClassVar[bool] = True


class StartPreview(_Effect):
    """Show ``source`` full-screen on room screen ``screen`` with the local player."""

    screen: str
    source: str


class EndPreviews(_Effect):
    """End the local previews on these screens; each shows again what it showed before."""

    screens: tuple[str, ...]


class ShowReconnecting(_Effect):
    """Show (or clear) the "Reconnecting…" notice on every screen."""

    on: bool


class StartTimer(_Effect):
    """Fire TimerFired(name, attempt) after ``seconds`` unless a newer attempt supersedes it."""

    name: str
    seconds: float
    attempt: int


class Reply(_Effect):
    """Answer a command: ``ok`` with optional data, or an error code and message."""

    command_id: str
    origin: str
    ok: bool
    #: An ErrorCode when refused; ``""`` for ok (a typo is a validation error where the effect is made).
    code: ReplyCode = ""
    message: str = ""
    data: dict | None = None

    @model_validator(mode="after")
    def _code_matches_ok(self) -> Reply:
        if self.ok == bool(self.code):
            raise ValueError("an ok reply has no code; an error reply needs one")
        return self


class ReloadScreens(_Effect):
    """Reload the pages of these screens."""

    screens: tuple[str, ...]


class ShowScreenNumbers(_Effect):
    """Show each screen's number and name for ``seconds``."""

    seconds: float


class DisplayMessage(_Effect):
    """Show ``text`` on the panel and every screen for ``seconds``."""

    text: str
    seconds: float


class Log(_Effect):
    """A transition worth a log line (transitions are logged, ticks are not)."""

    level: str
    message: str


class ProbeHost(_Effect):
    """Ask ``url`` (the meeting host's root) whether it answers; reply with HostProbed(watch=``watch``)."""

    url: str
    watch: int


Effect = (RedeemCode | JoinMeeting | CloseScreens | ShowReconnecting | StartSharing | StopSharing | StartPreview
          | EndPreviews | SetMuted | ApplyLayout | StartTimer | Reply | ReloadScreens | ShowScreenNumbers
          | DisplayMessage | Log | ProbeHost)

"""Effects: what the core asks the edges to do. Edges carry them out and report back with events."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

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


class SetMuted(_Effect):
    """Mute or unmute the room microphone in the media session; answered by ActionDone(action="mute")."""

    muted: bool
    command_id: str = ""
    origin: str = ""


class ApplyLayout(_Effect):
    """Switch every screen to ``layout``; answered by ActionDone(action="layout")."""

    layout: str
    command_id: str = ""
    origin: str = ""


class ShareSource(_Effect):
    """Share ``source`` into the meeting as content from the media session; answered by ActionDone("share")."""

    source: SourceState
    command_id: str = ""
    origin: str = ""


class StopShare(_Effect):
    """Stop sharing; answered by ActionDone("stop_share")."""

    command_id: str = ""
    origin: str = ""


class StartPreview(_Effect):
    """Show ``source`` full-screen on room screen ``screen`` with the local player."""

    screen: str
    source: str


class StopPreview(_Effect):
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
    code: str = ""
    message: str = ""
    data: dict | None = None


class ReloadScreens(_Effect):
    """Reload the pages of these screens."""

    screens: tuple[str, ...]


class IdentifyScreens(_Effect):
    """Show each screen's number and name for ``seconds``."""

    seconds: float


class ShowMessage(_Effect):
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


Effect = (RedeemCode | JoinMeeting | CloseScreens | ShowReconnecting | ShareSource | StopShare | StartPreview | StopPreview | SetMuted | ApplyLayout | StartTimer | Reply | ReloadScreens
          | IdentifyScreens | ShowMessage | Log | ProbeHost)

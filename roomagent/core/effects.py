"""Effects: what the core asks the edges to do. Edges carry them out and report back with events."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from roomagent.core.state import MeetingInfo


class _Effect(BaseModel):
    model_config = ConfigDict(frozen=True)


class RedeemCode(_Effect):
    """Ask the directory for the join URL behind ``code`` (canonical form)."""

    attempt: int
    code: str


class OpenScreen(_Effect):
    """Open a fresh, locked-down browser session for ``screen`` on the meeting."""

    screen: str
    url: str
    media: bool
    meeting: MeetingInfo


class CloseScreens(_Effect):
    """Close every window's session and destroy its profile; answer with ScreensClosed."""


class SetMuted(_Effect):
    """Mute or unmute the room microphone in the media session."""

    muted: bool


class ApplyLayout(_Effect):
    """Switch every screen to ``layout``."""

    layout: str


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


Effect = (RedeemCode | OpenScreen | CloseScreens | SetMuted | ApplyLayout | StartTimer | Reply | ReloadScreens
          | IdentifyScreens | ShowMessage | Log)

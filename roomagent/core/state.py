"""The room's state: one explicit lifecycle plus what the room shows, as immutable pydantic models.

This is what the panel draws and what the control edge publishes as retained ``state``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from roomagent import __version__
from roomagent.core.sources import SourceState


class Lifecycle(StrEnum):
    """Where the room is in its one lifecycle."""

    IDLE = "idle"
    REDEEMING = "redeeming"
    JOINING = "joining"
    IN_MEETING = "in_meeting"
    LEAVING = "leaving"


class ErrorKind(StrEnum):
    """Every way a join can fail, in terms the panel can explain to a teacher."""

    CODE_MALFORMED = "code_malformed"
    CODE_NOT_FOUND = "code_not_found"
    RATE_LIMITED = "rate_limited"
    DIRECTORY_UNAVAILABLE = "directory_unavailable"
    DIRECTORY_BAD_RESPONSE = "directory_bad_response"
    HOST_NOT_ALLOWED = "host_not_allowed"
    LINK_NOT_DIRECT = "link_not_direct"
    JOIN_FAILED = "join_failed"
    JOIN_TIMEOUT = "join_timeout"
    SCREEN_FAILED = "screen_failed"
    MEETING_ENDED = "meeting_ended"
    KICKED = "kicked"
    UNSUPPORTED = "unsupported"


class RoomError(BaseModel):
    """The last error: a machine-readable kind, a detail for logs/operators, when, and for rate limits
    until when the panel must wait."""

    model_config = ConfigDict(frozen=True)

    kind: ErrorKind
    detail: str = ""
    at: float
    retry_at: float | None = None


class MeetingInfo(BaseModel):
    """The meeting the room is in. ``join_url`` is a secret: never published, only used by the edges."""

    model_config = ConfigDict(frozen=True)

    id: str
    platform: str
    host: str
    since: float
    join_url: str


class ScreenStatus(StrEnum):
    """What one room screen shows."""

    IDLE = "idle"
    LOADING = "loading"
    LOADED = "loaded"
    FAILED = "failed"


class ScreenState(BaseModel):
    """One configured screen of the room."""

    model_config = ConfigDict(frozen=True)

    id: str
    role: str
    media: bool
    status: ScreenStatus = ScreenStatus.IDLE


class MeetingSnapshot(BaseModel):
    """The public part of the meeting: never the join URL (a secret)."""

    id: str
    platform: str
    host: str
    since: float


class ErrorSnapshot(BaseModel):
    """The last error as published."""

    code: ErrorKind
    message: str
    at: float


class StateSnapshot(BaseModel):
    """The retained ``state`` message (DESIGN.md §3.2); its JSON Schema ships with the agent."""

    state: Lifecycle
    meeting: MeetingSnapshot | None
    layout: str | None
    muted: bool | None
    screens: list[ScreenState]
    layouts: list[str]
    capabilities: list[str]
    warnings: list[str]
    sources: list[SourceState]
    sharing: str | None
    previews: dict[str, str]
    reconnecting: bool
    engine: str
    rendering: dict[str, str]
    codecs: dict[str, dict]
    version: str
    error: ErrorSnapshot | None


class HostWatch(BaseModel):
    """The core's watch over the meeting host (see ``roomagent.core.reachability``)."""

    model_config = ConfigDict(frozen=True)

    #: Numbers each stretch of watching, so a timer or probe result of an earlier one is ignored.
    number: int = 0
    #: Probes in a row that found the host unreachable.
    misses: int = 0
    #: When the probe now under way was asked for (None: none is).
    sent_at: float | None = None


class RoomState(BaseModel):
    """Everything the room is, as one immutable value. ``transition`` returns a new one per event."""

    model_config = ConfigDict(frozen=True)

    lifecycle: Lifecycle = Lifecycle.IDLE
    meeting: MeetingInfo | None = None
    layout: str | None = None
    layouts: tuple[str, ...] = ()
    muted: bool | None = None
    screens: tuple[ScreenState, ...] = ()
    #: What the meeting's adapter can do in this meeting ("mute", "layout", "share").
    capabilities: tuple[str, ...] = ()
    #: Things an operator should know about this meeting (e.g. a server without per-screen sessions).
    warnings: tuple[str, ...] = ()
    #: The room's video inputs (HDMI capture, document cameras) as the devices edge sees them.
    sources: tuple[SourceState, ...] = ()
    #: The input shared into the meeting as content, if any.
    sharing: str | None = None
    #: Local previews: room screen id -> the input shown full-screen on it.
    previews: dict[str, str] = {}
    #: The meeting host stopped answering; the screens say so and the room rejoins when it is back.
    reconnecting: bool = False
    #: The screen engine ("qtwebengine" | "chromium"), its rendering path and what codecs it plays.
    engine: str = "qtwebengine"
    rendering: dict[str, str] = {}
    codecs: dict[str, dict] = {}
    error: RoomError | None = None
    #: Increments with each redemption/join attempt so late answers of an abandoned attempt are ignored.
    attempt: int = 0
    #: A directory rate limit in force until this time (no request is sent before it).
    blocked_until: float | None = None
    #: Host reachability bookkeeping; not part of the snapshot.
    host_watch: HostWatch = HostWatch()

    def source(self, source_id: str) -> SourceState | None:
        """The input with this id, if known."""
        return next((s for s in self.sources if s.id == source_id), None)

    def screen(self, screen_id: str) -> ScreenState | None:
        """The screen with this id, if configured."""
        return next((s for s in self.screens if s.id == screen_id), None)

    def snapshot(self) -> dict:
        """The public JSON snapshot (DESIGN.md §3.2): no join URL, no code."""
        meeting = None
        if self.meeting is not None:
            meeting = MeetingSnapshot(id=self.meeting.id, platform=self.meeting.platform, host=self.meeting.host,
                                      since=self.meeting.since)
        error = None
        if self.error is not None:
            error = ErrorSnapshot(code=self.error.kind, message=self.error.detail, at=self.error.at)
        return StateSnapshot(
            state=self.lifecycle, meeting=meeting, layout=self.layout, muted=self.muted, screens=list(self.screens),
            layouts=list(self.layouts), capabilities=list(self.capabilities), warnings=list(self.warnings),
            sources=list(self.sources), sharing=self.sharing, previews=dict(self.previews),
            reconnecting=self.reconnecting, engine=self.engine, rendering=dict(self.rendering),
            codecs=dict(self.codecs), version=__version__,
            error=error,
        ).model_dump(mode="json")

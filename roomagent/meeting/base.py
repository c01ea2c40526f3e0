"""What every meeting adapter offers, and what it is given.

An adapter is the edge between the core and one meeting platform's client pages. It is handed a
:class:`JoinRequest` and a :class:`SessionHost` (which opens a locked-down browser session on a room
screen), and it reports back only through core events via ``emit``:

==========================  ==================================================================
adapter notion              core event
==========================  ==================================================================
joined (per screen)         ``ScreenLoaded(screen, ok=True)``
error (per screen / all)    ``ScreenLoaded(ok=False, detail)`` / ``JoinFailed(attempt, detail)``
which screens, what it can  ``JoinPlanned(attempt, screens, capabilities, warning)``
muted_changed               ``MuteChanged(muted)``
ended(reason) / kicked      ``MeetingEnded(reason, kicked)``
a command's outcome         ``ActionDone(action, ok, command_id, origin, …)``
==========================  ==================================================================

Adapters use only the screen-session interface (:class:`roomagent.ui.session.ScreenSession`: load,
load_html, add_script, enable_bridge + message, run_json, reload, unload, close), so they run unchanged
on any screen engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core.commands import AdapterAction, Capability, ErrorCode, ReplyCode
from roomagent.core.hosts import url_host
from roomagent.core.layouts import Layout
from roomagent.core.sources import SourceState
from roomagent.core.state import ErrorKind, MeetingInfo, ScreenState

if TYPE_CHECKING:
    from roomagent.ui.session import ScreenSession

log = logging.getLogger("roomagent.meeting")

#: How long a leaving page may take to say goodbye (pagehide beacons, Jitsi's hangup) before its
#: window is closed anyway: long enough for one round trip to the meeting server, short enough that
#: the teacher does not notice.
LEAVE_GRACE_S = 1.5
#: Once every page is blank, what their ``pagehide`` handlers sent (BigBlueButton's and the fakes' leave
#: beacons) gets this long to leave the browser before its process is ended (a SIGTERM drops requests
#: still in flight). Within LEAVE_GRACE_S.
LEAVE_SETTLE_S = 0.3
#: How long a mute request waits for the client to show the new microphone state.
MUTE_READBACK_S = 3.0
#: How long a share request waits for the input's track: opening a capture card takes a second or two.
SHARE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class JoinRequest:
    """Everything an adapter needs to join one meeting."""

    attempt: int
    meeting: MeetingInfo
    screens: tuple[ScreenState, ...]
    layout: Layout | None
    allowed_hosts: tuple[str, ...]
    display_name: str
    share_camera: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    #: The room's inputs when the meeting is joined (Jitsi fixes the one it may share at join).
    sources: tuple[SourceState, ...] = ()

    @property
    def media_screen(self) -> ScreenState:
        """The screen whose session carries the room microphone (exactly one)."""
        return next((s for s in self.screens if s.media), self.screens[0])


class SessionHost(Protocol):
    """Opens and closes browser sessions on the room's screens (implemented by the composition root)."""

    def open_session(self, screen_id: str, media: bool) -> ScreenSession:
        """A fresh, locked-down session shown on ``screen_id``; nothing loaded yet."""

    def close_session(self, screen_id: str) -> None:
        """Close the session on ``screen_id`` and destroy its profile."""


Emit = Callable[[ev.Event], None]


def js_asset(name: str) -> str:
    """The text of a script or page shipped in ``roomagent/meeting/js/``."""
    return resources.files("roomagent.meeting").joinpath("js", name).read_text(encoding="utf-8")


class MeetingAdapter(QObject):
    """Base class: worker-thread plumbing, session bookkeeping and a graceful leave."""

    #: What this platform's adapter can do at best.
    capabilities: frozenset[Capability] = frozenset()
    #: Results of worker-thread jobs come back to the Qt thread through this queued signal.
    _job_done = Signal(object)

    def __init__(self, request: JoinRequest, host: SessionHost, emit: Emit, *, net: Executor | None = None) -> None:
        super().__init__()
        self.request = request
        self._host = host
        self._emit = emit
        self._net = net
        self.sessions: dict[str, ScreenSession] = {}
        self.joined: set[str] = set()
        self.closing = False
        self._job_done.connect(self._on_job_done)

    # -- what the composition root calls ------------------------------------------------------------
    def join(self) -> None:
        """Start joining; report with JoinPlanned / ScreenLoaded / JoinFailed."""
        raise NotImplementedError

    def carry_out(self, effect: fx.AdapterEffect, layout: Layout | None = None) -> None:
        """Carry out a command's effect (``layout``: the room layout an ApplyLayout names); every effect is
        answered with ActionDone(action=effect.step), ``unsupported`` when this adapter has no way to do it."""
        if isinstance(effect, fx.SetMuted):
            self.set_muted(effect.muted, effect.command_id, effect.origin)
        elif isinstance(effect, fx.ApplyLayout) and layout is not None:
            self.set_layout(layout, effect.command_id, effect.origin)
        elif isinstance(effect, fx.StartSharing):
            self.share_source(effect.source, effect.command_id, effect.origin)
        elif isinstance(effect, fx.StopSharing):
            self.stop_share(effect.command_id, effect.origin)
        else:
            self._unsupported(effect.step, effect.command_id, effect.origin, str(effect.step))

    def set_layout(self, layout: Layout, command_id: str = "", origin: str = "") -> None:
        """Show ``layout`` on every screen; report with ActionDone(action="layout")."""
        self._unsupported(AdapterAction.LAYOUT, command_id, origin, "layouts")

    def set_muted(self, muted: bool, command_id: str = "", origin: str = "") -> None:
        """Mute or unmute the room microphone; report with ActionDone(action="mute")."""
        self._unsupported(AdapterAction.MUTE, command_id, origin, "muting")

    def share_source(self, source, command_id: str = "", origin: str = "") -> None:
        """Share ``source`` (a SourceState) as content; report with ActionDone(action="share")."""
        self._unsupported(AdapterAction.SHARE, command_id, origin, "sharing")

    def stop_share(self, command_id: str = "", origin: str = "") -> None:
        """Stop sharing; report with ActionDone(action="stop_share")."""
        self._done(AdapterAction.STOP_SHARE, command_id, origin, ok=True)

    def _unsupported(self, action: AdapterAction, command_id: str, origin: str, what: str) -> None:
        self._done(action, command_id, origin, ok=False, code=ErrorCode.UNSUPPORTED,
                   message=f"{what} is not supported for {self.request.meeting.platform} meetings")

    def leave(self, done: Callable[[], None]) -> None:
        """Say goodbye to the meeting (pages unload), then call ``done`` (at most LEAVE_GRACE_S later)."""
        self.closing = True
        pending = {sid for sid, s in self.sessions.items() if not s.closed}
        if not pending:
            QTimer.singleShot(0, self, done)
            return
        finished = False

        def finish() -> None:
            nonlocal finished
            if not finished:
                finished = True
                done()

        def on_loaded(ok: bool, url: str, sid: str) -> None:
            if url == "about:blank":
                pending.discard(sid)
                if not pending:
                    QTimer.singleShot(int(LEAVE_SETTLE_S * 1000), self, finish)

        for sid in list(pending):
            session = self.sessions[sid]
            session.loaded.connect(lambda ok, url, s=sid: on_loaded(ok, url, s))
            self._say_goodbye(sid, session)
        QTimer.singleShot(int(LEAVE_GRACE_S * 1000), self, finish)

    def abandon(self) -> None:
        """Stop reporting and release resources without touching the pages (a rejoin replaces them)."""
        self.closing = True

    def _say_goodbye(self, screen_id: str, session: ScreenSession) -> None:
        """Platform hook: what a page does before it is closed (default: unload it)."""
        session.unload()

    # -- helpers for subclasses ---------------------------------------------------------------------
    def open(self, screen_id: str, media: bool) -> ScreenSession:
        """Open a session on ``screen_id`` through the host and remember it."""
        session = self._host.open_session(screen_id, media)
        self.sessions[screen_id] = session
        session.navigation_refused.connect(lambda url, s=screen_id: self._on_navigation_refused(s, url))
        return session

    def _on_navigation_refused(self, screen_id: str, url: str) -> None:
        """A screen that has not joined yet was sent to a page the room may not open (a join redirect to a
        host off the allow-list): that screen will never load the meeting, so the join fails now rather
        than at the join timeout, and the teacher is told which host it was."""
        if screen_id in self.joined or self.closing:
            return  # in a meeting a refused navigation (a link in the page) leaves the meeting shown
        host = url_host(url) or url[:80]
        log.warning("screen %s: the meeting redirected to %s, which is not on meeting.allowed_hosts", screen_id, host)
        self.emit(ev.JoinFailed(attempt=self.request.attempt, detail=host, kind=ErrorKind.HOST_NOT_ALLOWED))

    def run_in_worker(self, job: Callable[[], Any], then: Callable[[Any, BaseException | None], None]) -> None:
        """Run ``job`` off the Qt thread (HTTP), then ``then(result, error)`` back on it."""
        if self._net is None:
            raise RuntimeError("this adapter was built without a worker pool")

        def work() -> None:
            try:
                result, error = job(), None
            except BaseException as exc:  # noqa: BLE001 - handed to the Qt thread, which decides what it means
                result, error = None, exc
            self._job_done.emit(lambda: then(result, error))

        self._net.submit(work)

    def _on_job_done(self, callback: Callable[[], None]) -> None:
        if not self.closing:
            callback()

    def emit(self, event: ev.Event) -> None:
        """Report to the core (ignored once leaving: the core has moved on)."""
        if not self.closing:
            self._emit(event)

    def screen_loaded(self, screen_id: str, ok: bool, detail: str = "") -> None:
        """Report a screen's join outcome; a screen that joined already reports again when it shows the
        meeting after a reload (a crash, a moderator's ``reload``), which ends a failure the core recorded."""
        if ok:
            self.joined.add(screen_id)
        self.emit(ev.ScreenLoaded(screen=screen_id, ok=ok, detail=detail))

    def _done(self, action: AdapterAction, command_id: str, origin: str, *, ok: bool, code: ReplyCode = "",
              message: str = "", **extra: Any) -> None:
        self._emit(ev.ActionDone(action=action, ok=ok, command_id=command_id, origin=origin, code=code,
                                 message=message, **extra))

"""Composition root: the only module that imports every edge. Builds the room from its profile and runs
Qt's event loop; the core decides, this module carries out the effects and feeds back the events."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core.machine import RoomRules, initial_state, transition
from roomagent.core.state import ErrorKind, RoomState, ScreenState
from roomagent.directory.client import (
    BadResponse,
    CodeNotFound,
    DirectoryClient,
    DirectoryError,
    DirectoryUnavailable,
    RateLimited,
)
from roomagent.profile import RoomProfile
from roomagent.ui.browser import EngineWarmUp
from roomagent.ui.panel import Panel
from roomagent.ui.placement import place_screens
from roomagent.ui.screen import ScreenWindow

log = logging.getLogger("roomagent")



def rules_from_profile(profile: RoomProfile) -> RoomRules:
    """The core's view of the profile."""
    media = profile.media_screen.id
    return RoomRules(
        allowed_hosts=profile.meeting.allowed_hosts,
        screens=tuple(ScreenState(id=s.id, role=s.role, media=s.id == media) for s in profile.screens),
    )


def redeem_event(client: DirectoryClient, attempt: int, code: str) -> ev.Event:
    """Run one redemption (in a worker thread) and turn its outcome into an event."""
    try:
        ticket = client.redeem(code)
    except CodeNotFound:
        return ev.RedeemFailed(attempt=attempt, kind=ErrorKind.CODE_NOT_FOUND)
    except RateLimited as exc:
        return ev.RedeemFailed(attempt=attempt, kind=ErrorKind.RATE_LIMITED, retry_after_s=exc.retry_after)
    except DirectoryUnavailable as exc:
        return ev.RedeemFailed(attempt=attempt, kind=ErrorKind.DIRECTORY_UNAVAILABLE, detail=str(exc))
    except (BadResponse, DirectoryError) as exc:
        return ev.RedeemFailed(attempt=attempt, kind=ErrorKind.DIRECTORY_BAD_RESPONSE, detail=str(exc))
    return ev.CodeRedeemed(attempt=attempt, join_url=ticket.join_url)


class RoomAgent(QObject):
    """The running room: core state, panel, one window per screen, the directory client."""

    state_changed = Signal(object)
    #: Chromium's helper processes are up (see EngineWarmUp); the first join no longer pays for them.
    engine_ready = Signal()
    #: A Reply effect for a command that did not come from the panel (the control edge answers it).
    remote_reply = Signal(object)
    #: Worker threads hand events to the main thread through this queued signal.
    _event_from_worker = Signal(object)

    def __init__(self, profile: RoomProfile, directory: Callable[[], DirectoryClient], *,
                 clock: Callable[[], float] = time.time, windowed: bool = False) -> None:
        super().__init__()
        self.profile = profile
        self.rules = rules_from_profile(profile)
        self.state: RoomState = initial_state(self.rules)
        # Built in the worker thread: creating an httpx client (TLS context, CA bundle) costs ~0.1 s
        # that the keypad should not wait for (tests/bench/bench_join.py).
        self._directory_factory = directory
        self._directory: DirectoryClient | None = None
        self._warm_up: EngineWarmUp | None = None
        self.engine_warm = False
        self._clock = clock
        self._windowed = windowed
        self._queue: deque[ev.Event] = deque()
        self._dispatching = False
        self._pool: ThreadPoolExecutor | None = None
        self.windows: dict[str, ScreenWindow] = {}
        self.panel: Panel | None = None
        self._panel_host: QWidget | None = None

    # ----- life -----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Create the windows and the panel and show them on their displays."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="directory")
        self._event_from_worker.connect(self.dispatch)
        room = self.profile.room
        for screen in self.profile.screens:
            window = ScreenWindow(screen.id, room.name, language=room.language)
            window.setWindowTitle(f"roomagent screen {screen.id}")
            self.windows[screen.id] = window
        separate_panel = self._windowed or self.profile.panel.output is not None
        first = self.windows[self.profile.screens[0].id]
        self.panel = Panel(room.name, room.language, compact=not separate_panel, clock=self._clock,
                           parent=None if separate_panel else first)
        self.panel.code_submitted.connect(self._on_code_submitted)
        self.panel.command_requested.connect(self._on_command_requested)
        self.panel.error_dismissed.connect(lambda: self.dispatch(ev.ErrorDismissed()))
        if not separate_panel:
            self._panel_host = first
            first.installEventFilter(self)
        app = QGuiApplication.instance()
        app.screenAdded.connect(self._on_screens_changed)
        app.screenRemoved.connect(self._on_screens_changed)
        self._place_all()
        self._render()
        self._pool.submit(self._directory_client)
        # Chromium's processes start while the keypad waits, not after the code is typed.
        self._warm_up = EngineWarmUp(self)
        self._warm_up.done.connect(self._on_warm_up_done)
        QTimer.singleShot(0, self._warm_up.start)

    def _on_warm_up_done(self) -> None:
        self._warm_up = None
        self.engine_warm = True
        self.engine_ready.emit()

    def _directory_client(self) -> DirectoryClient:
        """The directory client; only ever called in the worker thread."""
        if self._directory is None:
            self._directory = self._directory_factory()
        return self._directory

    def _redeem(self, attempt: int, code: str) -> ev.Event:
        try:
            return redeem_event(self._directory_client(), attempt, code)
        except Exception as exc:  # a bug must not leave the panel spinning in "redeeming" forever
            log.exception("redeeming a code failed unexpectedly")
            return ev.RedeemFailed(attempt=attempt, kind=ErrorKind.DIRECTORY_UNAVAILABLE, detail=repr(exc))

    def stop(self) -> None:
        """Close every session and window; used on SIGTERM and by tests."""
        if self._warm_up is not None:
            self._warm_up.dispose()
        for window in self.windows.values():
            window.close_session()
            window.close()
        # Sessions delete view, page and then profile through deferred deletes, each step posted by the
        # previous one; run them now, since the event loop may not turn again after stop().
        for _ in range(3):
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        if self.panel is not None:
            self.panel.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._directory is not None:
            self._directory.close()

    # ----- placement ------------------------------------------------------------------------------------
    def _place_all(self) -> None:
        screens = QGuiApplication.screens()
        names = [s.name() for s in screens]
        reserved: frozenset[int] = frozenset()
        panel_output = self.profile.panel.output
        if panel_output and panel_output in names and not self._windowed:
            reserved = frozenset({names.index(panel_output)})
        wanted = [(s.id, s.output) for s in self.profile.screens]
        for index, placement in enumerate(place_screens(wanted, names, reserved)):
            window = self.windows[placement.screen_id]
            if placement.warning:
                log.warning("screen %s: %s", placement.screen_id, placement.warning)
            if self._windowed:
                window.resize(960, 540)
                window.move(40 + index * 1000, 40)
                window.show()
            elif placement.display is not None:
                window.place_on(screens[placement.display])
            else:
                window.hide()
        if self.panel is not None and self._panel_host is None:
            if reserved and not self._windowed:
                self._show_fullscreen(self.panel, screens[next(iter(reserved))])
            else:
                self.panel.resize(860, 760)
                self.panel.show()
            self.panel.activateWindow()
        elif self.panel is not None:
            self._reposition_overlay()
            self.panel.show()
            self.panel.raise_()
            self.panel.setFocus()

    @staticmethod
    def _show_fullscreen(widget: QWidget, screen: QScreen) -> None:
        widget.setGeometry(screen.geometry())
        widget.showFullScreen()

    def _reposition_overlay(self) -> None:
        if self._panel_host is not None and self.panel is not None:
            self.panel.setGeometry(self.panel.overlay_rect(self._panel_host.rect()))
            self.panel.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Keep the overlay panel placed when its host window is resized."""
        if watched is self._panel_host and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self._reposition_overlay()
        return False

    def _on_screens_changed(self, screen: QScreen) -> None:
        log.warning("displays changed (%s): placing the room screens again", screen.name())
        self._place_all()

    # ----- the loop: events in, effects out -------------------------------------------------------------
    def dispatch(self, event: ev.Event) -> None:
        """Feed one event to the core. Re-entrant calls (an effect that reports back at once) queue up."""
        self._queue.append(event)
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._queue:
                current = self._queue.popleft()
                before = self.state
                self.state, effects = transition(before, current, rules=self.rules, now=self._clock())
                if self.state.lifecycle is not before.lifecycle:
                    log.info("state %s -> %s", before.lifecycle.value, self.state.lifecycle.value)
                for effect in effects:
                    self._apply(effect)
                if self.state != before:
                    self._render()
        finally:
            self._dispatching = False

    def _render(self) -> None:
        if self.panel is not None:
            self.panel.render(self.state)
            self._reposition_overlay()
        self.state_changed.emit(self.state)

    def _apply(self, effect: fx.Effect) -> None:
        if isinstance(effect, fx.Log):
            log.log(logging.getLevelName(effect.level.upper()), "%s", effect.message)
        elif isinstance(effect, fx.RedeemCode):
            assert self._pool is not None
            future = self._pool.submit(self._redeem, effect.attempt, effect.code)
            future.add_done_callback(lambda f: self._event_from_worker.emit(f.result()))
        elif isinstance(effect, fx.OpenScreen):
            self._open_screen(effect)
        elif isinstance(effect, fx.CloseScreens):
            for window in self.windows.values():
                window.close_session()
            self._queue.append(ev.ScreensClosed())
        elif isinstance(effect, fx.StartTimer):
            QTimer.singleShot(int(effect.seconds * 1000), self,
                              lambda e=effect: self.dispatch(ev.TimerFired(name=e.name, attempt=e.attempt)))
        elif isinstance(effect, fx.Reply):
            if not effect.ok:
                log.info("command %s refused: %s %s", effect.command_id, effect.code, effect.message)
            if effect.origin != "panel":
                self.remote_reply.emit(effect)
            elif not effect.ok and self.panel is not None:
                self.panel.show_reply_error(effect.message)
        elif isinstance(effect, fx.ReloadScreens):
            for screen_id in effect.screens:
                session = self.windows[screen_id].session
                if session is not None:
                    session.reload()
        elif isinstance(effect, fx.IdentifyScreens):
            for number, window in enumerate(self.windows.values(), start=1):
                window.identify(number, effect.seconds)
        elif isinstance(effect, fx.ShowMessage):
            for window in self.windows.values():
                window.show_message(effect.text, effect.seconds)
            if self.panel is not None:
                self.panel.show_message(effect.text, effect.seconds)
        elif isinstance(effect, (fx.SetMuted, fx.ApplyLayout)):
            # The core only asks for these on platforms whose adapter can do them; none is wired yet.
            log.error("no meeting adapter can carry out %r", effect)
        else:  # pragma: no cover - a new effect type must be wired here
            raise AssertionError(f"unhandled effect {effect!r}")

    def _open_screen(self, effect: fx.OpenScreen) -> None:
        window = self.windows[effect.screen]
        session = window.open_session(effect.url, list(self.profile.meeting.allowed_hosts), effect.media)
        screen_id = effect.screen
        session.loaded.connect(lambda ok, url, s=screen_id: self.dispatch(
            ev.ScreenLoaded(screen=s, ok=ok, detail="" if ok else "the page did not load")))
        session.gave_up.connect(lambda crashes, s=screen_id: self.dispatch(ev.ScreenGaveUp(screen=s, crashes=crashes)))
        session.refused.connect(lambda kind, detail, s=screen_id: log.warning("screen %s refused %s: %s", s, kind, detail))
        self._reposition_overlay()

    # ----- panel input ----------------------------------------------------------------------------------
    def _on_code_submitted(self, code: str) -> None:
        self.dispatch(ev.CodeEntered(code=code))

    def _on_command_requested(self, command) -> None:
        self.dispatch_command(command)

    def dispatch_command(self, command, origin: str = "panel") -> None:
        """Run a command through the core (the panel's buttons and remote commands share this path)."""
        self.dispatch(ev.CommandReceived(command=command, origin=origin))

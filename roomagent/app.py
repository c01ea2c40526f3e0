"""Composition root: the only module that imports every edge. Builds the room from its profile and runs
Qt's event loop; the core decides, this module carries out the effects and feeds back the events."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core.commands import Capability, ErrorCode
from roomagent.core.layouts import Layout, offered_names
from roomagent.core.machine import RoomRules, initial_state, transition
from roomagent.core.platforms import PLATFORMS, configured_hosts
from roomagent.core.state import ErrorKind, Lifecycle, RoomState, ScreenState
from roomagent.devices.discovery import DeviceSource, UdevDeviceSource
from roomagent.devices.inputs import InputSources, SignalMonitor
from roomagent.directory.client import (
    BadResponse,
    CodeNotFound,
    DirectoryClient,
    DirectoryError,
    DirectoryUnavailable,
    RateLimited,
)
from roomagent.layouts import room_layouts
from roomagent.meeting import adapter_class
from roomagent.meeting.base import JoinRequest, MeetingAdapter
from roomagent.meeting.reachability import HOST_PROBE_S, MISSES_BEFORE_LOST, host_root, probe_host
from roomagent.profile import RoomProfile
from roomagent.ui.browser import EngineWarmUp
from roomagent.ui.chromium.process import wipe_stale_profiles
from roomagent.ui.codecs import CodecProbe
from roomagent.ui.engine import SessionFactory, resolve_engine
from roomagent.ui.engine import session_factory as engine_session_factory
from roomagent.ui.i18n import tr
from roomagent.ui.lifetime import delete_later
from roomagent.ui.panel import Panel
from roomagent.ui.placement import place_screens
from roomagent.ui.rendering import RenderingChoice
from roomagent.ui.screen import ScreenWindow

log = logging.getLogger("roomagent")



def rules_from_profile(profile: RoomProfile, layouts: dict[str, Layout] | None = None,
                       default_layout: str | None = None) -> RoomRules:
    """The core's view of the profile (``layouts``: the room's layouts, see :func:`room_layouts`)."""
    if layouts is None:
        layouts, default_layout, _ = room_layouts(profile)
    media = profile.media_screen.id
    roles = [s.role for s in profile.screens]
    offered = offered_names(layouts.values(), roles, default_layout)
    capabilities: dict[str, frozenset[str]] = {}
    by_platform: dict[str, tuple[str, ...]] = {}
    for platform in PLATFORMS:
        capabilities[platform.name] = platform.capabilities
        if Capability.LAYOUT in platform.capabilities:
            by_platform[platform.name] = offered
    return RoomRules(
        allowed_hosts=profile.meeting.allowed_hosts,
        screens=tuple(ScreenState(id=s.id, role=s.role, media=s.id == media) for s in profile.screens),
        capabilities=capabilities,
        layouts=by_platform,
        platform_hosts=configured_hosts(profile.meeting),
    )


class _HostProbed(NamedTuple):
    """A meeting-host probe's outcome on its way from the worker to the Qt thread."""

    reachable: bool
    detail: str


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
                 clock: Callable[[], float] = time.time, windowed: bool = False,
                 devices: DeviceSource | None = None, signal_io=None,
                 rendering: RenderingChoice | None = None, session_factory: SessionFactory | None = None) -> None:
        super().__init__()
        self.profile = profile
        self.layouts, default_layout, _ = room_layouts(profile)
        self.rules = rules_from_profile(profile, self.layouts, default_layout)
        #: Extra adapter options (e.g. {"layout_method": "reload"} for the benchmark).
        self.adapter_options: dict = {}
        self.adapter: MeetingAdapter | None = None
        # Adapters saying goodbye to their meeting (see _leave).
        self._leaving: set[MeetingAdapter] = set()
        self._stopped = False
        self._net: ThreadPoolExecutor | None = None
        # The room's inputs: udev unless a test hands in another DeviceSource (and V4L2 probe).
        self._devices = devices
        self._signal_io = signal_io
        self.inputs: InputSources | None = None
        # The screen engine (issue: QtWebEngine cannot show full-screen video smoothly without a GPU).
        # "auto" decides from the rendering probe, and keeps a keypad that shares a screen uncovered.
        self.engine = resolve_engine(profile.kiosk, rendering,
                                     separate_panel=windowed or profile.panel.output is not None)
        self.rendering = rendering or RenderingChoice(mode="software", reason="not probed (embedded agent)")
        self._session_factory = session_factory or engine_session_factory(profile.kiosk, self.rendering,
                                                                          engine=self.engine)
        # The codec probe needs no window: Chromium runs it headless.
        self._codec_factory = session_factory or engine_session_factory(profile.kiosk, self.rendering,
                                                                        engine=self.engine, headless=True)
        self._codec_probe: CodecProbe | None = None
        # Probes the meeting host while in a meeting (see roomagent.meeting.reachability).
        self._host_timer: QTimer | None = None
        self._host_misses = 0
        self._host_probing = False
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
        # Meeting-server HTTP (BBB's join redirects and getJoinUrl) must never wait behind the directory.
        self._net = ThreadPoolExecutor(max_workers=2, thread_name_prefix="meeting")
        self._event_from_worker.connect(self.dispatch)
        room = self.profile.room
        for screen in self.profile.screens:
            window = ScreenWindow(screen.id, room.name, language=room.language, session_factory=self._session_factory)
            window.setWindowTitle(f"roomagent screen {screen.id}")
            self.windows[screen.id] = window
        separate_panel = self._windowed or self.profile.panel.output is not None
        first = self.windows[self.profile.screens[0].id]
        # Local previews from the panel go to the last screen: the side projector, not the one with the keypad.
        preview_screen = self.profile.screens[-1].id if self.profile.sources else None
        self.panel = Panel(room.name, room.language, compact=not separate_panel, clock=self._clock,
                           parent=None if separate_panel else first, preview_screen=preview_screen)
        self.panel.layout_titles = {name: layout.title_in(room.language) for name, layout in self.layouts.items()}
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
        self._start_inputs()
        self._host_timer = QTimer(self)
        self._host_timer.setInterval(int(HOST_PROBE_S * 1000))
        self._host_timer.timeout.connect(self._on_host_timer_timeout)
        self.dispatch(ev.EngineReported(engine=self.engine.engine, rendering=self._rendering_state()))
        if self.engine.engine == "chromium":
            wipe_stale_profiles()  # user-data-dirs a killed agent left behind
            QTimer.singleShot(0, self, self._on_warm_up_done)  # each Chromium session is its own browser process
            return
        # Chromium's processes start while the keypad waits, not after the code is typed.
        self._warm_up = EngineWarmUp(self)
        self._warm_up.done.connect(self._on_warm_up_done)
        QTimer.singleShot(0, self._warm_up.start)

    def _start_inputs(self) -> None:
        try:
            devices = self._devices if self._devices is not None else UdevDeviceSource()
            self.inputs = InputSources(self.profile.sources, devices, SignalMonitor(self._signal_io), self)
            self.inputs.sources_changed.connect(lambda states: self.dispatch(ev.SourcesChanged(sources=states)))
            self.inputs.start()
        except Exception:  # no udev at all (a container): the room works, it just has no inputs
            log.exception("room inputs are not available")
            self.inputs = None

    def _on_warm_up_done(self) -> None:
        self._warm_up = None
        if self._stopped:  # stop() disposed of an unfinished warm-up: nothing new may start now
            return
        self.engine_warm = True
        self.engine_ready.emit()
        # Once, after the warm-up (not beside it: start-up on two cores is busy enough).
        self._codec_probe = CodecProbe(self._codec_factory, self)
        self._codec_probe.done.connect(self._on_codecs)
        self._codec_probe.start()

    def _on_codecs(self, codecs: dict) -> None:
        self._codec_probe = None
        self.dispatch(ev.EngineReported(engine=self.engine.engine, rendering=self._rendering_state(),
                                        codecs=codecs))

    def _rendering_state(self) -> dict[str, str]:
        # The engine's reason travels with the rendering path it was chosen from (state "rendering").
        return {**self.rendering.as_state(), "engine_reason": self.engine.reason}

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
        """Close every session and window; used on SIGTERM and by tests. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        app = QGuiApplication.instance()
        if app is not None and self._pool is not None:  # started
            app.screenAdded.disconnect(self._on_screens_changed)
            app.screenRemoved.disconnect(self._on_screens_changed)
        if self._warm_up is not None:
            self._warm_up.dispose()
        if self._codec_probe is not None:
            self._codec_probe.stop()
            self._codec_probe = None
        for adapter in [self.adapter, *self._leaving]:
            if adapter is not None:
                adapter.abandon()
                delete_later(adapter)
        self.adapter = None
        self._leaving.clear()
        if self.inputs is not None:
            self.inputs.stop()
        if self._host_timer is not None:
            self._host_timer.stop()
            self._host_timer = None
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
        if self._net is not None:
            self._net.shutdown(wait=True, cancel_futures=True)
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

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
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
        if isinstance(event, _HostProbed):  # a probe result, not an event for the core
            self._on_host_probed(event.reachable, event.detail)
            return
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
                    self._watch_host()
        finally:
            self._dispatching = False

    def _watch_host(self) -> None:
        """Probe the meeting host while the room is (or is getting back) in a meeting."""
        active = self.state.meeting is not None and (self.state.lifecycle is Lifecycle.IN_MEETING
                                                     or self.state.reconnecting)
        if self._host_timer is None or active == self._host_timer.isActive():
            return
        self._host_misses = 0
        if active:
            self._host_timer.start()
        else:
            self._host_timer.stop()

    def _on_host_timer_timeout(self) -> None:
        if self._host_probing or self.state.meeting is None or self._net is None:
            return
        self._host_probing = True
        url = host_root(self.state.meeting.join_url)
        future = self._net.submit(probe_host, url)
        future.add_done_callback(lambda f: self._event_from_worker.emit(_HostProbed(*f.result())))

    def _on_host_probed(self, reachable: bool, detail: str) -> None:
        self._host_probing = False
        self._host_misses = 0 if reachable else self._host_misses + 1
        if reachable:
            self.dispatch(ev.HostReachability(reachable=True, detail=detail))
        elif self._host_misses >= MISSES_BEFORE_LOST:
            self.dispatch(ev.HostReachability(reachable=False, detail=detail))

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
        elif isinstance(effect, fx.JoinMeeting):
            self._join(effect)
        elif isinstance(effect, fx.CloseScreens):
            self._leave()
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
        elif isinstance(effect, fx.ShowScreenNumbers):
            for number, window in enumerate(self.windows.values(), start=1):
                window.identify(number, effect.seconds)
        elif isinstance(effect, fx.DisplayMessage):
            for window in self.windows.values():
                window.show_message(effect.text, effect.seconds)
            if self.panel is not None:
                self.panel.show_message(effect.text, effect.seconds)
        elif isinstance(effect, fx.AdapterEffect):
            self._to_adapter(effect)
        elif isinstance(effect, fx.ShowReconnecting):
            for window in self.windows.values():
                if effect.on:
                    window.show_notice(tr(self.profile.room.language, "notice.reconnecting"))
                else:
                    window.clear_notice()
        elif isinstance(effect, fx.StartPreview):
            self._start_preview(effect.screen, effect.source)
        elif isinstance(effect, fx.EndPreviews):
            for screen_id in effect.screens:
                self.windows[screen_id].stop_preview()
        else:  # pragma: no cover - a new effect type must be wired here
            raise AssertionError(f"unhandled effect {effect!r}")

    # ----- meetings -------------------------------------------------------------------------------------
    def _join(self, effect: fx.JoinMeeting) -> None:
        meeting = self.profile.meeting
        options = dict(self.adapter_options)
        present = [src for src in self.state.sources if src.present]
        if present:  # Jitsi fixes the input it may share when the participant joins
            options.setdefault("share_device", present[0].label or present[0].product)
        request = JoinRequest(
            attempt=effect.attempt, meeting=effect.meeting, screens=effect.screens,
            layout=self.layouts.get(effect.layout) if effect.layout else None,
            allowed_hosts=tuple(meeting.allowed_hosts),
            display_name=meeting.display_name or self.profile.room.name,
            share_camera=meeting.share_camera, options=options,
        )
        if self.adapter is not None:  # a rejoin: the old pages' late reports must not reach the core
            self.adapter.abandon()
            delete_later(self.adapter)
        adapter = adapter_class(effect.meeting.platform)(request, self, self._from_adapter, net=self._net)
        self.adapter = adapter
        log.info("meeting adapter: %s", type(adapter).__name__)
        adapter.join()

    def _to_adapter(self, effect: fx.AdapterEffect) -> None:
        """Hand a command's effect to the meeting adapter; without one (the meeting is being torn down)
        the command is answered at once, so nobody waits for a reply that never comes."""
        adapter = self.adapter
        layout = self.layouts.get(effect.layout) if isinstance(effect, fx.ApplyLayout) else None
        if adapter is None or (isinstance(effect, fx.ApplyLayout) and layout is None):
            # Nothing shared is what stop_share asks for; everything else could not be done.
            ok = effect.done_without_meeting
            self._queue.append(ev.ActionDone(action=effect.step, ok=ok, command_id=effect.command_id,
                                             origin=effect.origin, code="" if ok else ErrorCode.NOT_IN_MEETING,
                                             message="" if ok else "no meeting"))
        else:
            adapter.carry_out(effect, layout)

    def _start_preview(self, screen_id: str, source_id: str) -> None:
        mrl = self.inputs.mrl(source_id) if self.inputs is not None else None
        if mrl is None:
            self._queue.append(ev.PreviewEnded(screen=screen_id, detail=f"no player address for input {source_id}"))
            return
        preview = self.windows[screen_id].show_preview(mrl)
        preview.error.connect(lambda why, s=screen_id: self.dispatch(ev.PreviewEnded(screen=s, detail=why)))

    def _from_adapter(self, event: ev.Event) -> None:
        self.dispatch(event)

    def _leave(self) -> None:
        adapter, self.adapter = self.adapter, None

        def closed() -> None:
            # Held until here: the adapter's grace timer is what ends a leave whose pages never answer.
            self._leaving.discard(adapter)
            delete_later(adapter)
            for window in self.windows.values():
                window.close_session()
            self.dispatch(ev.ScreensClosed())

        if adapter is None:
            closed()
        else:
            self._leaving.add(adapter)
            adapter.leave(closed)

    def open_session(self, screen_id: str, media: bool):
        """Open a locked-down session on a room screen (nothing loaded yet)."""
        window = self.windows[screen_id]
        session = window.open_session(None, list(self.profile.meeting.allowed_hosts), media)
        session.gave_up.connect(lambda crashes, s=screen_id: self.dispatch(ev.ScreenGaveUp(screen=s, crashes=crashes)))
        session.refused.connect(lambda kind, detail, s=screen_id: log.warning("screen %s refused %s: %s", s, kind, detail))
        self._reposition_overlay()
        return session

    def close_session(self, screen_id: str) -> None:
        """Close one screen's session (profile destroyed)."""
        self.windows[screen_id].close_session()

    # ----- panel input ----------------------------------------------------------------------------------
    def _on_code_submitted(self, code: str) -> None:
        self.dispatch(ev.CodeEntered(code=code))

    def _on_command_requested(self, command) -> None:
        self.dispatch_command(command)

    def dispatch_command(self, command, origin: str = "panel") -> None:
        """Run a command through the core (the panel's buttons and remote commands share this path)."""
        self.dispatch(ev.CommandReceived(command=command, origin=origin))

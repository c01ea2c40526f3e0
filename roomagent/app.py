"""Composition root: the only module that imports every edge. Builds the room from its profile and runs
Qt's event loop; the core decides, this module carries out the effects and feeds back the events.

The windows and their placement are :mod:`roomagent.ui.room_windows`, the worker threads
:mod:`roomagent.workers`, the engine's warm-up and codec probe :mod:`roomagent.ui.engine_start`;
:func:`room_setup` works out from the profile what the room is built from.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core.commands import Capability, ErrorCode
from roomagent.core.layouts import Layout, offered_names
from roomagent.core.machine import RoomRules, initial_state, transition
from roomagent.core.platforms import PLATFORMS, configured_hosts
from roomagent.core.reachability import visible_change
from roomagent.core.state import RoomState, ScreenState
from roomagent.devices.discovery import DeviceSource, UdevDeviceSource
from roomagent.devices.inputs import InputSources, SignalMonitor
from roomagent.directory.client import DirectoryClient
from roomagent.layouts import room_layouts
from roomagent.meeting import adapter_class
from roomagent.meeting.base import JoinRequest, MeetingAdapter
from roomagent.profile import RoomProfile
from roomagent.ui.engine import EngineChoice, SessionFactory, resolve_engine
from roomagent.ui.engine import session_factory as engine_session_factory
from roomagent.ui.engine_start import EngineStart
from roomagent.ui.i18n import tr
from roomagent.ui.lifetime import delete_later
from roomagent.ui.panel import Panel
from roomagent.ui.rendering import RenderingChoice
from roomagent.ui.room_windows import RoomWindows
from roomagent.ui.screen import ScreenWindow
from roomagent.ui.session import ScreenSession
from roomagent.workers import RoomWorkers

log = logging.getLogger("roomagent")


def rules_from_profile(profile: RoomProfile, layouts: dict[str, Layout], default_layout: str | None) -> RoomRules:
    """The core's view of the profile, with the room's layouts (see :func:`room_layouts`)."""
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


@dataclass(frozen=True)
class RoomSetup:
    """What a room is built from, worked out from its profile by :func:`room_setup`."""

    profile: RoomProfile
    #: The room's layouts by name (see :func:`roomagent.layouts.room_layouts`).
    layouts: dict[str, Layout]
    rules: RoomRules
    engine: EngineChoice
    rendering: RenderingChoice
    #: Opens the screens' browser sessions.
    session_factory: SessionFactory
    #: Opens the codec probe's session (headless: it needs no window).
    codec_factory: SessionFactory
    #: Tiled windows instead of full-screen ones on their displays.
    windowed: bool = False


def room_setup(profile: RoomProfile, *, windowed: bool = False, rendering: RenderingChoice | None = None,
               session_factory: SessionFactory | None = None) -> RoomSetup:
    """Read the room's layouts, choose its screen engine and build the engine's session factories.

    Raises :class:`roomagent.ui.engine.EngineError` for an engine that cannot run here.
    """
    layouts, default_layout, _ = room_layouts(profile)
    # The screen engine (issue: QtWebEngine cannot show full-screen video smoothly without a GPU).
    # "auto" decides from the rendering probe, and keeps a keypad that shares a screen uncovered.
    engine = resolve_engine(profile.kiosk, rendering, separate_panel=windowed or profile.panel.output is not None)
    rendering = rendering or RenderingChoice(mode="software", reason="not probed (embedded agent)")
    return RoomSetup(
        profile=profile, layouts=layouts, rules=rules_from_profile(profile, layouts, default_layout),
        engine=engine, rendering=rendering, windowed=windowed,
        session_factory=session_factory or engine_session_factory(profile.kiosk, rendering, engine=engine),
        codec_factory=session_factory or engine_session_factory(profile.kiosk, rendering, engine=engine,
                                                                headless=True),
    )


class RoomAgent(QObject):
    """The running room: core state, panel, one window per screen, the directory client.

    Build it with :meth:`from_profile`; the constructor only stores what it is given.
    """

    state_changed = Signal(object)
    #: Chromium's helper processes are up (see EngineWarmUp); the first join no longer pays for them.
    engine_ready = Signal()
    #: A Reply effect for a command that did not come from the panel (the control edge answers it).
    remote_reply = Signal(object)

    def __init__(self, setup: RoomSetup, directory: Callable[[], DirectoryClient], *,
                 clock: Callable[[], float] = time.time, devices: DeviceSource | None = None,
                 signal_io=None) -> None:
        super().__init__()
        self.setup = setup
        self.profile = setup.profile
        self.layouts = setup.layouts
        self.rules = setup.rules
        self.engine = setup.engine
        self.rendering = setup.rendering
        #: Extra adapter options (e.g. {"layout_method": "reload"} for the benchmark).
        self.adapter_options: dict = {}
        self.adapter: MeetingAdapter | None = None
        # Adapters saying goodbye to their meeting (see _leave).
        self._leaving: set[MeetingAdapter] = set()
        self._stopped = False
        # The room's inputs: udev unless a test hands in another DeviceSource (and V4L2 probe).
        self._devices = devices
        self._signal_io = signal_io
        self.inputs: InputSources | None = None
        self.state: RoomState = initial_state(setup.rules)
        self.engine_warm = False
        self._clock = clock
        self._queue: deque[ev.Event] = deque()
        self._dispatching = False
        self._room_windows = RoomWindows(setup.profile, windowed=setup.windowed)
        self._workers = RoomWorkers(directory, self.dispatch)
        self._engine_start = EngineStart(setup.engine.engine, setup.codec_factory)

    @classmethod
    def from_profile(cls, profile: RoomProfile, directory: Callable[[], DirectoryClient], *,
                     clock: Callable[[], float] = time.time, windowed: bool = False,
                     devices: DeviceSource | None = None, signal_io=None, rendering: RenderingChoice | None = None,
                     session_factory: SessionFactory | None = None) -> RoomAgent:
        """The room of ``profile`` (see :func:`room_setup`), not started yet."""
        setup = room_setup(profile, windowed=windowed, rendering=rendering, session_factory=session_factory)
        return cls(setup, directory, clock=clock, devices=devices, signal_io=signal_io)

    @property
    def windows(self) -> dict[str, ScreenWindow]:
        """The screen windows by room screen id (empty until :meth:`start`)."""
        return self._room_windows.windows

    @property
    def panel(self) -> Panel | None:
        """The keypad panel (None until :meth:`start`)."""
        return self._room_windows.panel

    # ----- life -----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Create the windows and the panel and show them on their displays."""
        self._workers.start()
        panel = self._room_windows.create(self.setup.session_factory, self._clock, self.layouts)
        panel.code_submitted.connect(self._on_code_submitted)
        panel.command_requested.connect(self._on_command_requested)
        panel.error_dismissed.connect(lambda: self.dispatch(ev.ErrorDismissed()))
        self._room_windows.show()
        self._render()
        self._start_inputs()
        self.dispatch(ev.EngineReported(engine=self.engine.engine, rendering=self._rendering_state()))
        self._engine_start.ready.connect(self._on_engine_ready)
        self._engine_start.codecs.connect(self._on_codecs)
        self._engine_start.start()

    def _start_inputs(self) -> None:
        try:
            devices = self._devices if self._devices is not None else UdevDeviceSource()
            self.inputs = InputSources(self.profile.sources, devices, SignalMonitor(self._signal_io), self)
            self.inputs.sources_changed.connect(lambda states: self.dispatch(ev.SourcesChanged(sources=states)))
            self.inputs.start()
        except Exception:  # no udev at all (a container): the room works, it just has no inputs
            log.exception("room inputs are not available")
            self.inputs = None

    def _on_engine_ready(self) -> None:
        self.engine_warm = True
        self.engine_ready.emit()

    def _on_codecs(self, codecs: dict) -> None:
        self.dispatch(ev.EngineReported(engine=self.engine.engine, rendering=self._rendering_state(),
                                        codecs=codecs))

    def _rendering_state(self) -> dict[str, str]:
        # The engine's reason travels with the rendering path it was chosen from (state "rendering").
        return {**self.rendering.as_state(), "engine_reason": self.engine.reason}

    def stop(self) -> None:
        """Close every session and window; used on SIGTERM and by tests. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._engine_start.stop()
        for adapter in [self.adapter, *self._leaving]:
            if adapter is not None:
                adapter.abandon()
                delete_later(adapter)
        self.adapter = None
        self._leaving.clear()
        if self.inputs is not None:
            self.inputs.stop()
        self._room_windows.close()
        self._workers.stop()

    def _reposition_overlay(self) -> None:
        self._room_windows.reposition_overlay()

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
                if visible_change(before, self.state):  # not the host probes' bookkeeping
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
            self._workers.redeem(effect.attempt, effect.code)
        elif isinstance(effect, fx.JoinMeeting):
            self._join(effect)
        elif isinstance(effect, fx.CloseScreens):
            self._leave()
        elif isinstance(effect, fx.ProbeHost):
            self._workers.probe_host(effect)
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
        request = JoinRequest(
            attempt=effect.attempt, meeting=effect.meeting, screens=effect.screens,
            layout=self.layouts.get(effect.layout) if effect.layout else None,
            allowed_hosts=tuple(meeting.allowed_hosts),
            display_name=meeting.display_name or self.profile.room.name,
            share_camera=meeting.share_camera, options=dict(self.adapter_options), sources=self.state.sources,
        )
        if self.adapter is not None:  # a rejoin: the old pages' late reports must not reach the core
            self.adapter.abandon()
            delete_later(self.adapter)
        adapter = adapter_class(effect.meeting.platform)(request, self, self._from_adapter, net=self._workers.net)
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

    def open_session(self, screen_id: str, media: bool) -> ScreenSession:
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

"""The room's video inputs, kept current: discovered devices + the profile's ``[[sources]]`` + signal.

:class:`SignalMonitor` asks each present input whether it carries a picture (:mod:`.v4l2`) on a modest
timer and whenever the device set changes, and reports only changes. :class:`InputSources` joins it with a
:class:`~roomagent.devices.discovery.DeviceSource` and hands out :class:`~roomagent.core.sources.SourceState`
tuples for the core to publish; deciding anything about them is the core's business.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from PySide6.QtCore import QObject, QTimer, Signal

from roomagent.core.sources import SourceSpec, SourceState, resolve_sources, source_mrl
from roomagent.devices.discovery import DeviceSource
from roomagent.devices.v4l2 import OsV4l2Io, V4l2Io, probe_signal

log = logging.getLogger(__name__)

#: How often present inputs are asked about their signal. A lecturer who plugs in a laptop should see the
#: panel say "signal" within a couple of seconds, and a probe is one open, two or three ioctls and a close
#: per input (no streaming, no frames), so two seconds is responsive and costs nothing noticeable.
SIGNAL_PROBE_INTERVAL_S = 2.0


class SignalMonitor(QObject):
    """Probes the watched device nodes; ``signal_changed(devnode, True|False|None)`` only on a change.

    A node starts as unknown (``None``); the timer runs only while there is something to watch.
    """

    signal_changed = Signal(str, object)

    def __init__(self, io: V4l2Io | None = None, *, interval_s: float = SIGNAL_PROBE_INTERVAL_S,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._io = io if io is not None else OsV4l2Io()
        self._values: dict[str, bool | None] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(round(interval_s * 1000))
        self._timer.timeout.connect(self._on_timer_timeout)

    def watch(self, devnodes: Iterable[str]) -> None:
        """Probe exactly these nodes from now on, all of them right away (the device set just changed)."""
        wanted = [node for node in dict.fromkeys(devnodes) if node]
        self._values = {node: self._values.get(node) for node in wanted}
        self.probe_now()
        if wanted and not self._timer.isActive():
            self._timer.start()
        elif not wanted:
            self._timer.stop()

    def probe_now(self) -> None:
        """Ask every watched node once."""
        for node in list(self._values):
            value = probe_signal(node, self._io)
            if node in self._values and self._values[node] != value:
                self._values[node] = value
                log.info("signal on %s: %s", node, {True: "picture", False: "none"}.get(value, "unknown"))
                self.signal_changed.emit(node, value)

    def values(self) -> dict[str, bool | None]:
        """The last result per watched node."""
        return dict(self._values)

    @property
    def active(self) -> bool:
        """True while the re-probe timer runs."""
        return self._timer.isActive()

    def stop(self) -> None:
        """Stop probing and forget every node."""
        self._timer.stop()
        self._values = {}

    def _on_timer_timeout(self) -> None:
        self.probe_now()


class InputSources(QObject):
    """The room's inputs as :class:`SourceState` tuples.

    ``sources_changed(tuple)`` whenever any input's state differs from the last one handed out;
    ``source_plugged(state)`` / ``source_unplugged(state)`` for the ``event`` topic ("source plugged").
    """

    sources_changed = Signal(object)
    source_plugged = Signal(object)
    source_unplugged = Signal(object)

    def __init__(self, configured: Sequence[SourceSpec], devices: DeviceSource, signals: SignalMonitor,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._configured = tuple(configured)
        self._devices = devices
        self._signals = signals
        self._states: tuple[SourceState, ...] = ()
        self._watching = False
        self._started = False

    @property
    def states(self) -> tuple[SourceState, ...]:
        """The inputs as last handed out (configured ones first, in profile order)."""
        return self._states

    def mrl(self, source_id: str) -> str | None:
        """What the local preview plays for ``source_id``; None for an unknown or unplugged input."""
        state = next((s for s in self._states if s.id == source_id), None)
        return source_mrl(state, self._configured) if state is not None else None

    def start(self) -> None:
        """Start discovery and probing; the first ``sources_changed`` carries the initial inputs."""
        if self._started:
            return
        self._started = True
        self._devices.devices_changed.connect(self._on_devices_changed)
        self._signals.signal_changed.connect(self._on_signal_changed)
        self._devices.start()
        self._on_devices_changed()

    def stop(self) -> None:
        """Stop following devices and signal."""
        if not self._started:
            return
        self._started = False
        self._devices.devices_changed.disconnect(self._on_devices_changed)
        self._signals.signal_changed.disconnect(self._on_signal_changed)
        self._devices.stop()
        self._signals.stop()

    def _on_devices_changed(self) -> None:
        present = resolve_sources(self._configured, self._devices.devices())
        # Re-probe on hot-plug; the changes this reports are folded into the one refresh below.
        self._watching = True
        try:
            self._signals.watch(s.device for s in present if s.present)
        finally:
            self._watching = False
        self._refresh()

    def _on_signal_changed(self, devnode: str, value: object) -> None:
        if not self._watching:
            self._refresh()

    def _refresh(self) -> None:
        states = resolve_sources(self._configured, self._devices.devices(), self._signals.values())
        before = {s.id: s for s in self._states if s.present}
        after = {s.id: s for s in states if s.present}
        self._states, changed = states, states != self._states
        for source_id, state in before.items():
            if source_id not in after:
                self.source_unplugged.emit(state.model_copy(update={"present": False, "signal": None}))
        for source_id, state in after.items():
            if source_id not in before:
                self.source_plugged.emit(state)
        if changed:
            self.sources_changed.emit(states)

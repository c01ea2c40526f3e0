"""Getting the screen engine ready while the keypad waits: the warm-up, then the codec probe."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from roomagent.ui.browser import EngineWarmUp
from roomagent.ui.chromium.process import wipe_stale_profiles
from roomagent.ui.codecs import CodecProbe
from roomagent.ui.engine import SessionFactory


class EngineStart(QObject):
    """Warms up ``engine`` ("qtwebengine" | "chromium"), then probes its codecs once with ``codec_factory``.

    ``ready`` fires when the first join no longer pays for the engine's start-up, ``codecs`` with what
    the probe found. Nothing new starts after :meth:`stop`.
    """

    ready = Signal()
    codecs = Signal(dict)

    def __init__(self, engine: str, codec_factory: SessionFactory) -> None:
        super().__init__()
        self._engine = engine
        self._codec_factory = codec_factory
        self._warm_up: EngineWarmUp | None = None
        self._codec_probe: CodecProbe | None = None
        self._stopped = False

    def start(self) -> None:
        """Start warming up on the next turn of the event loop."""
        if self._engine == "chromium":
            wipe_stale_profiles()  # user-data-dirs a killed agent left behind
            QTimer.singleShot(0, self, self._on_warm_up_done)  # each Chromium session is its own browser process
            return
        # Chromium's processes start while the keypad waits, not after the code is typed.
        self._warm_up = EngineWarmUp(self)
        self._warm_up.done.connect(self._on_warm_up_done)
        QTimer.singleShot(0, self._warm_up.start)

    def _on_warm_up_done(self) -> None:
        self._warm_up = None
        if self._stopped:  # stop() disposed of an unfinished warm-up: nothing new may start now
            return
        self.ready.emit()
        # Once, after the warm-up (not beside it: start-up on two cores is busy enough).
        self._codec_probe = CodecProbe(self._codec_factory, self)
        self._codec_probe.done.connect(self._on_codecs)
        self._codec_probe.start()

    def _on_codecs(self, codecs: dict) -> None:
        self._codec_probe = None
        self.codecs.emit(codecs)

    def stop(self) -> None:
        """Dispose of an unfinished warm-up and stop a running codec probe."""
        self._stopped = True
        if self._warm_up is not None:
            self._warm_up.dispose()
        if self._codec_probe is not None:
            self._codec_probe.stop()
            self._codec_probe = None

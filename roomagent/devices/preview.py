"""Local preview of a video input: libVLC draws an MRL into a Qt widget's native X window.

The lecturer sees on the room screen what the capture card receives, before (or without) sharing it
into the meeting. ``v4l2:///dev/videoN`` is the default MRL; a profile entry may override it. libVLC is
loaded only when a preview starts, so the agent runs (without previews) where it is missing.

libVLC reports from its own threads; those reports cross into the Qt thread as queued signals, and every
signal of :class:`VlcPreview` arrives through the event loop, never from inside :meth:`VlcPreview.play`,
so a caller can connect right after starting a preview.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

#: libVLC options of a kiosk preview: Qt owns Xlib (``--no-xlib``), the room's speakers belong to the
#: meeting (``--no-audio``), and nothing but the picture shows (no file-name title, no OSD, no stats).
VLC_ARGS = ("--no-xlib", "--quiet", "--no-audio", "--no-video-title-show", "--no-osd", "--no-stats",
            "--no-snapshot-preview")

MISSING_PLUGINS = ("libVLC could not start (no usable plugins): install vlc-plugin-base and "
                   "vlc-plugin-video-output")
MISSING_LIBVLC = "libVLC is not installed: install libvlc5, vlc-plugin-base and vlc-plugin-video-output"


def default_instance(args: Sequence[str]) -> Any:
    """``vlc.Instance(args)``; the import happens here so a machine without libVLC can still start."""
    import vlc

    return vlc.Instance(list(args))


class VlcPreview(QWidget):
    """A widget showing one MRL through libVLC. Signals: ``playing()`` once a picture is on screen,
    ``error(str)`` when it cannot play, ``stopped()`` when playback ends or :meth:`stop` is called."""

    playing = Signal()
    error = Signal(str)
    stopped = Signal()
    #: From libVLC's threads and from :meth:`play`: (playback number, kind, detail), always delivered queued.
    _report = Signal(int, str, str)

    def __init__(self, parent: QWidget | None = None, *, fill_parent: bool = False,
                 instance_factory: Callable[[Sequence[str]], Any] = default_instance,
                 vlc_args: Sequence[str] = VLC_ARGS) -> None:
        super().__init__(parent)
        self.setObjectName("preview")
        self.setStyleSheet("QWidget#preview { background: #000000; }")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        # VLC needs an X window of its own. Asking for it now (not at the first winId()) makes Qt create
        # the siblings' native windows before the parent stacks the preview above them.
        self.setAttribute(Qt.WidgetAttribute.WA_NativeWindow, True)
        self._instance_factory = instance_factory
        self._vlc_args = tuple(vlc_args)
        self._instance: Any = None
        self._player: Any = None
        self._events: Any = None
        self._attached: list[Any] = []
        self._mrl = ""
        self._active = False
        self._shown = False
        #: Counts play() calls, so a late report of an earlier playback is not taken for the current one.
        self._playback = 0
        self._report.connect(self._on_report, Qt.ConnectionType.QueuedConnection)
        if fill_parent and parent is not None:
            self._follow = _FollowParent(self)
            parent.installEventFilter(self._follow)
            self.setGeometry(parent.rect())

    @property
    def mrl(self) -> str:
        """What is (or was last) played."""
        return self._mrl

    @property
    def active(self) -> bool:
        """True from :meth:`play` until the preview stops or fails."""
        return self._active

    def play(self, mrl: str) -> None:
        """Play ``mrl`` in this widget (stopping what played before). Failures arrive as ``error``."""
        self.stop()
        self._playback += 1
        self._mrl = mrl
        self._active = True
        self._shown = False
        player = self._make_player()
        if player is None:
            return
        player.set_xwindow(int(self.winId()))  # VLC draws into this widget's own X window
        media = self._instance.media_new(mrl)
        player.set_media(media)
        media.release()
        if player.play() != 0:
            self._report.emit(self._playback, "error", f"VLC cannot play {mrl}")
            return
        log.info("preview of %s started", mrl)

    def stop(self) -> None:
        """Stop playing; VLC no longer touches the window afterwards. ``stopped`` follows if it played."""
        player, self._player = self._player, None
        if player is not None:
            # Detach first: no report of this player may arrive after this point.
            for kind in self._attached:
                self._events.event_detach(kind)
            self._attached, self._events = [], None
            player.stop()  # synchronous in libVLC 3: the video output is gone when it returns
            player.release()
        if self._active:
            self._active = False
            self._report.emit(self._playback, "stopped", "")

    def _make_player(self) -> Any:
        if self._instance is None:
            try:
                self._instance = self._instance_factory(self._vlc_args)
            except (ImportError, OSError, NotImplementedError) as exc:  # python-vlc without libvlc.so
                log.error("preview: %s (%s)", MISSING_LIBVLC, exc)
                self._fail(MISSING_LIBVLC)
                return None
            if self._instance is None:  # libvlc_new() gives NULL when it finds no plugins
                log.error("preview: %s", MISSING_PLUGINS)
                self._fail(MISSING_PLUGINS)
                return None
        import vlc

        player = self._instance.media_player_new()
        # Taps and keys go to Qt, not to VLC's window.
        player.video_set_mouse_input(False)
        player.video_set_key_input(False)
        self._events = player.event_manager()  # keep it: it holds the ctypes callback alive
        number, report = self._playback, self._report.emit
        handlers = {
            vlc.EventType.MediaPlayerVout: lambda e: report(number, "vout", str(e.u.new_count)),
            vlc.EventType.MediaPlayerEncounteredError: lambda e: report(number, "error", ""),
            vlc.EventType.MediaPlayerEndReached: lambda e: report(number, "end", ""),
        }
        for kind, handler in handlers.items():
            self._events.event_attach(kind, handler)
            self._attached.append(kind)
        self._player = player
        return player

    def _fail(self, message: str) -> None:
        self._active = False
        self._report.emit(self._playback, "error", message)

    def _on_report(self, playback: int, kind: str, detail: str) -> None:
        if kind == "stopped":
            self.stopped.emit()  # the end of that playback, whichever it was
            return
        if playback != self._playback:
            return  # a late report of an earlier playback
        if kind == "vout" and self._active and int(detail) > 0 and not self._shown:
            self._shown = True
            self.playing.emit()
        elif kind == "error" and (self._active or detail):
            message = detail or f"VLC could not play {self._mrl}"
            log.warning("preview: %s", message)
            self._active = False
            self.error.emit(message)
        elif kind == "end" and self._active:
            self.stop()

    def hideEvent(self, event: QHideEvent) -> None:
        # A hidden (or closing) window must not be drawn into: stop before Qt destroys the X window.
        self.stop()
        super().hideEvent(event)


class _FollowParent(QObject):
    """Keeps a preview as large as its parent (the parent's layout does not manage it)."""

    def __init__(self, preview: VlcPreview) -> None:
        super().__init__(preview)
        self._preview = preview

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Follow the parent's resizes."""
        if event.type() == QEvent.Type.Resize:
            self._preview.setGeometry(watched.rect())
        return False

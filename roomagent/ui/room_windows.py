"""The room's windows: one per room screen plus the keypad panel, and which display each is shown on.

Which screen goes on which display is decided by :func:`roomagent.ui.placement.place_screens` (pure);
this module builds the windows, shows them there, keeps the overlay panel placed over its host window
and places everything again when displays come or go.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

from roomagent.core.layouts import Layout
from roomagent.profile import RoomProfile
from roomagent.ui.engine import SessionFactory
from roomagent.ui.panel import Panel
from roomagent.ui.placement import place_screens
from roomagent.ui.screen import ScreenWindow

log = logging.getLogger("roomagent")


class RoomWindows(QObject):
    """The screen windows and the panel of one room (``windowed``: tiled windows, not full screen)."""

    def __init__(self, profile: RoomProfile, *, windowed: bool = False) -> None:
        super().__init__()
        self.profile = profile
        self.windowed = windowed
        self.windows: dict[str, ScreenWindow] = {}
        self.panel: Panel | None = None
        #: The screen window the panel is laid over (None: the panel is a window of its own).
        self._panel_host: QWidget | None = None
        self._following = False

    @property
    def separate_panel(self) -> bool:
        """Whether the panel is a window of its own (its own output, or tiled windows) or an overlay."""
        return self.windowed or self.profile.panel.output is not None

    def create(self, session_factory: SessionFactory, clock: Callable[[], float], layouts: dict[str, Layout]) -> Panel:
        """Build the screen windows and the panel (not shown yet); returns the panel."""
        room = self.profile.room
        for screen in self.profile.screens:
            window = ScreenWindow(screen.id, room.name, language=room.language, session_factory=session_factory)
            window.setWindowTitle(f"roomagent screen {screen.id}")
            self.windows[screen.id] = window
        separate = self.separate_panel
        first = self.windows[self.profile.screens[0].id]
        # Local previews from the panel go to the last screen: the side projector, not the one with the keypad.
        preview_screen = self.profile.screens[-1].id if self.profile.sources else None
        self.panel = Panel(room.name, room.language, compact=not separate, clock=clock,
                           parent=None if separate else first, preview_screen=preview_screen)
        self.panel.layout_titles = {name: layout.title_in(room.language) for name, layout in layouts.items()}
        if not separate:
            self._panel_host = first
            first.installEventFilter(self)
        return self.panel

    def show(self) -> None:
        """Show every window on its display, and follow displays that come and go."""
        app = QGuiApplication.instance()
        app.screenAdded.connect(self._on_screens_changed)
        app.screenRemoved.connect(self._on_screens_changed)
        self._following = True
        self.place_all()

    def place_all(self) -> None:
        """Put each screen window on its display (hidden without one) and the panel where it belongs."""
        screens = QGuiApplication.screens()
        names = [s.name() for s in screens]
        reserved: frozenset[int] = frozenset()
        panel_output = self.profile.panel.output
        if panel_output and panel_output in names and not self.windowed:
            reserved = frozenset({names.index(panel_output)})
        wanted = [(s.id, s.output) for s in self.profile.screens]
        for index, placement in enumerate(place_screens(wanted, names, reserved)):
            window = self.windows[placement.screen_id]
            if placement.warning:
                log.warning("screen %s: %s", placement.screen_id, placement.warning)
            if self.windowed:
                window.resize(960, 540)
                window.move(40 + index * 1000, 40)
                window.show()
            elif placement.display is not None:
                window.place_on(screens[placement.display])
            else:
                window.hide()
        if self.panel is not None and self._panel_host is None:
            if reserved and not self.windowed:
                _show_fullscreen(self.panel, screens[next(iter(reserved))])
            else:
                self.panel.resize(860, 760)
                self.panel.show()
            self.panel.activateWindow()
        elif self.panel is not None:
            self.reposition_overlay()
            self.panel.show()
            self.panel.raise_()
            self.panel.setFocus()

    def reposition_overlay(self) -> None:
        """Lay the overlay panel over its host window again (after a resize or a new session)."""
        if self._panel_host is not None and self.panel is not None:
            self.panel.setGeometry(self.panel.overlay_rect(self._panel_host.rect()))
            self.panel.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keep the overlay panel placed when its host window is resized."""
        if watched is self._panel_host and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.reposition_overlay()
        return False

    def _on_screens_changed(self, screen: QScreen) -> None:
        log.warning("displays changed (%s): placing the room screens again", screen.name())
        self.place_all()

    def close(self) -> None:
        """Close every session and window, then the panel."""
        app = QGuiApplication.instance()
        if app is not None and self._following:
            app.screenAdded.disconnect(self._on_screens_changed)
            app.screenRemoved.disconnect(self._on_screens_changed)
            self._following = False
        for window in self.windows.values():
            window.close_session()
            window.close()
        # Sessions delete view, page and then profile through deferred deletes, each step posted by the
        # previous one; run them now, since the event loop may not turn again after this.
        for _ in range(3):
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        if self.panel is not None:
            self.panel.close()


def _show_fullscreen(widget: QWidget, screen: QScreen) -> None:
    widget.setGeometry(screen.geometry())
    widget.showFullScreen()

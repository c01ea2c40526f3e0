"""One frameless full-screen window per room screen: the idle card, or the meeting's browser session.

The window owns at most one :class:`~roomagent.ui.session.ScreenSession` at a time (of the room's
engine, see :mod:`roomagent.ui.engine`), stacked over the idle card; closing the session destroys its profile and brings the idle card back. A banner
(``show_notice``) can sit on top of either, e.g. "Reconnecting…".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QFont, QResizeEvent, QScreen
from PySide6.QtWidgets import QLayout, QStackedLayout, QWidget

from roomagent.devices.preview import VlcPreview
from roomagent.ui.browser import BrowserSession
from roomagent.ui.engine import SessionFactory
from roomagent.ui.i18n import tr
from roomagent.ui.idle_card import FONT_FAMILY, IdleCard
from roomagent.ui.labels import plain_label
from roomagent.ui.session import ScreenSession

log = logging.getLogger(__name__)


class ScreenWindow(QWidget):
    """The window on one room screen (projector, monitor) — see the module docstring."""

    def __init__(
        self,
        screen_id: str,
        room_name: str,
        *,
        language: str = "en",
        clock: Callable[[], datetime] = datetime.now,
        parent: QWidget | None = None,
        session_factory: SessionFactory = BrowserSession,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint)
        self.screen_id = screen_id
        # The room's engine (roomagent.ui.engine): BrowserSession unless told otherwise.
        self._session_factory = session_factory
        self.language = language
        self.setObjectName(f"screen:{screen_id}")
        # The title lets operators (and xdotool in the end-to-end test) find the window.
        self.setWindowTitle(f"roomagent – {room_name} – {screen_id}")
        self.setCursor(Qt.CursorShape.BlankCursor)  # nobody points at a projector
        self.setStyleSheet("ScreenWindow { background: #0d1b2e; }")
        self._session: ScreenSession | None = None
        self._sessions_opened = 0
        self._own_notice: str | None = None
        self._preview: VlcPreview | None = None

        self._idle = IdleCard(room_name, screen_id, language=language, clock=clock, parent=self)
        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        # The screen's size is dictated by the screen; a layout-imposed minimum would only fight it.
        self._stack.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self._stack.addWidget(self._idle)

        self._notice = plain_label(parent=self)
        self._notice.setObjectName("screen-notice")
        self._notice.setWordWrap(True)
        self._notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._notice.setStyleSheet(
            "QLabel#screen-notice { color: #ffffff; background: rgba(10, 16, 28, 225);"
            " border: 3px solid #ffd166; border-radius: 18px; padding: 18px 36px; }"
        )
        self._notice.hide()
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self._on_notice_timer_timeout)
        self._identity = plain_label(parent=self)
        self._identity.setObjectName("screen-identity")
        self._identity.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._identity.setStyleSheet(
            "QLabel#screen-identity { color: #101826; background: rgba(255, 209, 102, 235); border-radius: 36px; }"
        )
        self._identity.hide()
        self._identity_timer = QTimer(self)
        self._identity_timer.setSingleShot(True)
        self._identity_timer.timeout.connect(self._identity.hide)

    # -- placement -------------------------------------------------------------------------------

    def place_on(self, screen: QScreen) -> None:
        """Cover ``screen`` completely: move there, take its geometry and go full screen."""
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self.showFullScreen()
        log.info("screen %s placed on %s %s", self.screen_id, screen.name(), _rect(screen.geometry()))

    # -- sessions --------------------------------------------------------------------------------

    @property
    def session(self) -> ScreenSession | None:
        """The open browser session, or ``None`` while the idle card shows."""
        return self._session

    @property
    def idle_card(self) -> IdleCard:
        """The idle card widget (shown whenever there is no session)."""
        return self._idle

    @property
    def showing_idle(self) -> bool:
        """True while the idle card is the visible page of the window."""
        return self._stack.currentWidget() is self._idle

    def open_session(self, url: str | None, allowed_hosts: list[str], media: bool) -> ScreenSession:
        """Open a fresh locked-down session over the idle card (closing any previous one) and load ``url``
        (``None``: load nothing yet — a meeting adapter prepares the session and loads it)."""
        self.close_session()
        self._sessions_opened += 1
        session = self._session_factory(f"{self.screen_id}-{self._sessions_opened}", allowed_hosts, media, self)
        session.crashed.connect(self._on_session_crashed)
        session.loaded.connect(self._on_session_loaded)
        session.gave_up.connect(self._on_session_gave_up)
        self._session = session
        self._stack.addWidget(session.widget)
        self._stack.setCurrentWidget(session.widget)
        if self._notice.isVisibleTo(self):
            self._layout_notice()
        self._notice.raise_()
        if url is not None:
            session.load(url)
        return session

    def close_session(self) -> None:
        """Destroy the session (widget, page and profile) and show the idle card again."""
        session, self._session = self._session, None
        if session is None:
            return
        self._stack.removeWidget(session.widget)
        session.close()
        self._stack.setCurrentWidget(self._idle)
        # The stack raised the idle card; a notice or identity still current stays on top of it.
        self._layout_notice()
        self._notice.raise_()
        self._identity.raise_()
        if self._own_notice is not None:
            self.clear_notice()

    # -- local preview of a video input ----------------------------------------------------------

    @property
    def preview(self) -> VlcPreview | None:
        """The preview covering the window, or ``None``."""
        return self._preview

    def show_preview(self, mrl: str) -> VlcPreview:
        """Play ``mrl`` (e.g. ``v4l2:///dev/video0``) over the whole window, above the idle card or the
        session, until :meth:`stop_preview`. Notices stay on top. Connect to the returned widget's
        ``playing``/``error``/``stopped``: they arrive through the event loop, never during this call."""
        self.stop_preview()
        # Not a page of the stack: the page underneath stays exactly as it is and comes back unchanged.
        preview = VlcPreview(self, fill_parent=True)
        self._preview = preview
        preview.show()
        self._raise_preview()
        # A session opened or closed meanwhile is raised by the stack; the preview stays above it.
        self._stack.currentChanged.connect(self._on_stack_current_changed)
        preview.play(mrl)
        return preview

    def stop_preview(self) -> None:
        """Stop and remove the preview; what the window showed underneath is visible again."""
        preview, self._preview = self._preview, None
        if preview is None:
            return
        self._stack.currentChanged.disconnect(self._on_stack_current_changed)
        preview.stop()
        preview.hide()
        preview.deleteLater()

    def _raise_preview(self) -> None:
        if self._preview is not None:
            # Qt skips restacking a child it already lists last, yet the X server may stack the siblings
            # that turned native with the preview above it; lowering first forces a real restack.
            self._preview.lower()
            self._preview.raise_()
        self._notice.raise_()
        self._identity.raise_()

    def _on_stack_current_changed(self, index: int) -> None:
        self._raise_preview()

    # -- notice banner ---------------------------------------------------------------------------

    def show_notice(self, text: str) -> None:
        """Show ``text`` in a banner over whatever the screen shows, until :meth:`clear_notice`."""
        self._own_notice = None
        self._set_notice(text)

    def show_message(self, text: str, seconds: float) -> None:
        """A moderator's or operator's notice ("we start in 5 minutes"), hidden after ``seconds``."""
        self.show_notice(text)
        self._notice_timer.start(int(seconds * 1000))

    def identify(self, number: int, seconds: float) -> None:
        """Show this screen's number and id big in the middle, so an operator can tell projectors apart."""
        font = QFont(FONT_FAMILY)
        font.setPixelSize(max(24, round(max(self.height(), 240) * 0.12)))
        font.setBold(True)
        self._identity.setFont(font)
        self._identity.setText(f"{number}\n{self.screen_id}")
        w, h = round(self.width() * 0.5), round(self.height() * 0.5)
        self._identity.setGeometry(QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h))
        self._identity.show()
        self._identity.raise_()
        self._identity_timer.start(int(seconds * 1000))

    @property
    def identity_text(self) -> str | None:
        """What :meth:`identify` shows now, or None."""
        return self._identity.text() if self._identity.isVisibleTo(self) else None

    def _on_notice_timer_timeout(self) -> None:
        if self._own_notice is None:
            self.clear_notice()

    def clear_notice(self) -> None:
        """Hide the banner."""
        self._own_notice = None
        self._notice.hide()
        self._notice.clear()

    @property
    def notice_text(self) -> str | None:
        """The banner text, or ``None`` when no banner shows."""
        return self._notice.text() if self._notice.isVisibleTo(self) else None

    def _set_notice(self, text: str) -> None:
        self._notice.setText(text)
        self._notice.show()
        self._layout_notice()
        self._notice.raise_()

    def _show_own_notice(self, key: str) -> None:
        # Remember which banner the window raised itself, so it never clears somebody else's.
        text = tr(self.language, key)
        self._set_notice(text)
        self._own_notice = text

    def _layout_notice(self) -> None:
        h = max(self.height(), 240)
        font = QFont(FONT_FAMILY)
        font.setPixelSize(max(12, round(h * 0.042)))
        font.setBold(True)
        self._notice.setFont(font)
        # As wide as the text needs, at most 80 % of the screen (longer text wraps).
        margins = self._notice.contentsMargins()
        text_w = self._notice.fontMetrics().horizontalAdvance(self._notice.text())
        width = min(round(self.width() * 0.8), text_w + margins.left() + margins.right() + 8)
        height = self._notice.heightForWidth(width)
        # Over the idle card the banner sits below the clock; over a meeting, near the top edge.
        top = round(h * (0.16 if self.showing_idle else 0.06))
        self._notice.setGeometry(QRect((self.width() - width) // 2, top, width, max(height, 1)))

    # -- slots and events ------------------------------------------------------------------------

    def _on_session_crashed(self, status: str, exit_code: int) -> None:
        self._show_own_notice("notice.reconnecting")

    def _on_session_loaded(self, ok: bool, url: str) -> None:
        if ok and self._own_notice is not None and self._own_notice == self._notice.text():
            self.clear_notice()

    def _on_session_gave_up(self, crashes: int) -> None:
        self._show_own_notice("notice.gave_up")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._notice.isVisibleTo(self):
            self._layout_notice()

    def closeEvent(self, event: QCloseEvent) -> None:
        # A closing window must not leave a profile behind with cookies of the meeting.
        self.close_session()
        super().closeEvent(event)


def _rect(r: QRect) -> str:
    return f"{r.width()}x{r.height()}+{r.x()}+{r.y()}"

"""The touch panel: a code keypad when idle, meeting controls in a meeting.

It draws a :class:`~roomagent.core.state.RoomState` and turns taps and key presses into signals; it decides
nothing itself. Buttons build the same command models a remote moderator sends.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from roomagent.core import commands as cmd
from roomagent.core.codes import ALPHABET, LENGTH, format_code
from roomagent.core.state import ErrorKind, Lifecycle, RoomState
from roomagent.ui.i18n import tr
from roomagent.ui.labels import plain_label
from roomagent.ui.sources_bar import SourcesBar

#: Minimum edge of anything a finger must hit (issue: touch targets >= 64 px).
TOUCH_PX = 64
KEYS_PER_ROW = 8
#: Layout buttons per row on the meeting page (titles like "Presentation only" must fit on a 7" panel).
LAYOUT_COLUMNS = 3
#: The panel's content card: big enough for 64 px keys, small enough to stay within thumb reach.
CARD_MAX_W, CARD_MAX_H = 900, 820
#: The countdown of a rate limit is redrawn once a second; nothing ticks otherwise.
COUNTDOWN_TICK_S = 1.0

_STYLE = f"""
QWidget#panel {{ background: #101820; }}
QWidget#panel[mode="compact"] {{ background: transparent; }}
QLabel#room {{ color: #ffd166; font-size: 22px; }}
QLabel#notice {{ color: #101826; background: #ffd166; border-radius: 10px; padding: 10px 16px;
                font-size: 24px; font-weight: bold; }}
QWidget {{ color: #f2f4f5; font-family: 'DejaVu Sans'; font-size: 22px; }}
QLabel#title {{ font-size: 30px; font-weight: bold; }}
QLabel#hint {{ color: #b8c4cc; font-size: 19px; }}
QLabel#code {{ font-family: 'DejaVu Sans Mono'; font-size: 54px; font-weight: bold; letter-spacing: 4px;
              background: #1d2a35; border-radius: 10px; padding: 8px 18px; }}
QLabel#error {{ color: #ffb4a8; font-size: 20px; }}
QLabel#info {{ color: #9fe2bf; font-size: 20px; }}
QPushButton {{ background: #2b3d4c; border: none; border-radius: 10px; min-height: {TOUCH_PX}px;
               min-width: {TOUCH_PX}px; font-size: 26px; font-weight: bold; }}
QPushButton:pressed {{ background: #46627a; }}
QPushButton:disabled {{ color: #6b7a85; background: #1d2a35; }}
QPushButton#join {{ background: #1f7a4d; }}
QPushButton#join:disabled {{ background: #1d2a35; color: #6b7a85; }}
QPushButton#leave {{ background: #b3261e; }}
QPushButton#layout {{ font-size: 20px; padding: 0 10px; }}
QPushButton#layout:checked {{ background: #2f6fab; }}
QProgressBar {{ min-height: 14px; max-height: 14px; border-radius: 7px; background: #1d2a35; }}
QProgressBar::chunk {{ background: #4aa3df; border-radius: 7px; }}
"""


class Panel(QWidget):
    """The keypad and meeting controls. ``compact`` is the overlay mode on the first room screen (no
    separate panel display): during a meeting it shrinks to a small Leave control."""

    code_submitted = Signal(str)
    command_requested = Signal(object)
    error_dismissed = Signal()

    def __init__(self, room_name: str, language: str = "en", *, compact: bool = False,
                 clock: Callable[[], float] = time.time, parent: QWidget | None = None,
                 preview_screen: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.setWindowTitle(f"roomagent panel — {room_name}")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_STYLE)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._language = language
        self._room_name = room_name
        self.compact = compact
        #: The room screen the inputs section shows an input on locally (None: no local preview button).
        self.preview_screen = preview_screen
        self._clock = clock
        self._symbols = ""
        self._state = RoomState()
        self._notice = ""
        self._countdown = QTimer(self)
        self._countdown.setInterval(int(COUNTDOWN_TICK_S * 1000))
        self._countdown.timeout.connect(self._on_countdown_timeout)

        self._pages = QStackedWidget(self)
        self._keypad_page = self._build_keypad()
        self._busy_page = self._build_busy()
        self._meeting_page = self._build_meeting()
        self._compact_page = self._build_compact()
        for page in (self._keypad_page, self._busy_page, self._meeting_page, self._compact_page):
            self._pages.addWidget(page)
        # The pages keep a touch-friendly size and stay centred however large the panel's display is.
        self._pages.setMaximumSize(CARD_MAX_W, CARD_MAX_H)
        self._pages.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self._pages, 100)
        row.addStretch(1)
        # Notices from moderators and operators ("we start in 5 minutes") sit above every page.
        self.notice_label = plain_label(objectName="notice", wordWrap=True, alignment=Qt.AlignmentFlag.AlignCenter)
        self.notice_label.hide()
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.notice_label.hide)  # (the timer also says "a notice is up")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 20)
        outer.addWidget(self.notice_label)
        outer.addStretch(1)
        outer.addLayout(row, 100)
        outer.addStretch(1)
        self.render(self._state)

    # ----- text -----------------------------------------------------------------------------------------
    def _t(self, key: str, **values: object) -> str:
        return tr(self._language, key, **values)

    # ----- construction ---------------------------------------------------------------------------------
    def _build_keypad(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.setSpacing(12)
        room = plain_label(self._room_name, objectName="room")
        title = plain_label(self._t("title"), objectName="title")
        hint = plain_label(self._t("hint"), objectName="hint", wordWrap=True)
        self.code_label = plain_label(objectName="code", alignment=Qt.AlignmentFlag.AlignCenter)
        self.message_label = plain_label(objectName="error", wordWrap=True)
        self.message_label.setMinimumHeight(56)
        grid = QGridLayout()
        grid.setSpacing(8)
        self.key_buttons: dict[str, QPushButton] = {}
        for index, symbol in enumerate(ALPHABET):
            button = QPushButton(symbol)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.clicked.connect(lambda _=False, s=symbol: self.type_symbol(s))
            grid.addWidget(button, index // KEYS_PER_ROW, index % KEYS_PER_ROW)
            self.key_buttons[symbol] = button
        self.backspace_button = self._button(self._t("backspace"), self.backspace)
        self.backspace_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        grid.addWidget(self.backspace_button, len(ALPHABET) // KEYS_PER_ROW, len(ALPHABET) % KEYS_PER_ROW)
        actions = QHBoxLayout()
        self.clear_button = self._button(self._t("clear"), self.clear_code)
        self.join_button = self._button(self._t("join"), self.submit, name="join")
        actions.addWidget(self.clear_button, 1)
        actions.addWidget(self.join_button, 2)
        for widget in (room, title, hint, self.code_label, self.message_label):
            box.addWidget(widget)
        box.addLayout(grid, 1)
        box.addLayout(actions)
        self.idle_sources = SourcesBar(self._language, self.preview_screen)
        self.idle_sources.command_requested.connect(self._request)
        box.addWidget(self.idle_sources)
        return page

    def _build_busy(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.addStretch(1)
        self.busy_label = plain_label(objectName="title", alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # indeterminate: the directory and the page give no percentages
        self.progress.setTextVisible(False)
        self.cancel_button = self._button(self._t("cancel"), lambda: self._request(cmd.Leave()))
        box.addWidget(self.busy_label)
        box.addWidget(self.progress)
        box.addSpacing(24)
        box.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignCenter)
        box.addStretch(1)
        return page

    def _build_meeting(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.setSpacing(14)
        room = plain_label(self._room_name, objectName="room")
        self.connected_label = plain_label(objectName="title", wordWrap=True)
        self.since_label = plain_label(objectName="hint")
        self.screens_label = plain_label(objectName="hint", wordWrap=True)
        self.caps_label = plain_label(self._t("no_controls"), objectName="hint", wordWrap=True)
        self.mute_button = self._button(self._t("mute"), self._on_mute_clicked)
        self.mute_label = plain_label(objectName="hint")
        self.layout_title = plain_label(self._t("layout"), objectName="hint")
        # A grid, not a row: five layout titles do not fit side by side on a 7" panel.
        self.layout_row = QGridLayout()
        self.layout_row.setSpacing(10)
        self.layout_buttons: dict[str, QPushButton] = {}
        #: Layout name -> the title shown on its button (set by the composition root).
        self.layout_titles: dict[str, str] = {}
        self.meeting_message = plain_label(objectName="error", wordWrap=True)
        self.meeting_sources = SourcesBar(self._language, self.preview_screen)
        self.meeting_sources.command_requested.connect(self._request)
        self.leave_button = self._button(self._t("leave"), lambda: self._request(cmd.Leave()), name="leave")
        for widget in (room, self.connected_label, self.since_label, self.screens_label, self.caps_label,
                       self.mute_button,
                       self.mute_label, self.layout_title):
            box.addWidget(widget)
        box.addLayout(self.layout_row)
        box.addWidget(self.meeting_sources)
        box.addStretch(1)
        box.addWidget(self.meeting_message)
        box.addWidget(self.leave_button)
        return page

    def _build_compact(self) -> QWidget:
        page = QWidget()
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        self.compact_leave = self._button(self._t("leave_short"), lambda: self._request(cmd.Leave()), name="leave")
        row.addWidget(self.compact_leave)
        return page

    def _button(self, text: str, slot: Callable[[], None], name: str = "") -> QPushButton:
        button = QPushButton(text)
        if name:
            button.setObjectName(name)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(lambda _=False: slot())
        return button

    # ----- typing ---------------------------------------------------------------------------------------
    @property
    def typed(self) -> str:
        """The symbols typed so far, without dashes."""
        return self._symbols

    def type_symbol(self, symbol: str) -> None:
        """Add one symbol; the ninth submits the code (teachers should not hunt for a Join button)."""
        if self._state.lifecycle is not Lifecycle.IDLE or symbol not in ALPHABET:
            return
        if len(self._symbols) >= LENGTH:
            return
        self._symbols += symbol
        self._dismiss_error()
        self._draw_code()
        if len(self._symbols) == LENGTH:
            self.submit()

    def backspace(self) -> None:
        """Remove the last symbol."""
        self._symbols = self._symbols[:-1]
        self._dismiss_error()
        self._draw_code()

    def clear_code(self) -> None:
        """Forget everything typed."""
        self._symbols = ""
        self._dismiss_error()
        self._draw_code()

    def submit(self) -> None:
        """Hand the code to the core (which validates it; the panel only counts)."""
        if self._state.lifecycle is Lifecycle.IDLE and not self._rate_limited_s():
            self.code_submitted.emit(format_code(self._symbols))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """A physical keyboard types like the keypad."""
        key = event.key()
        if key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            self.backspace()
        elif key == Qt.Key.Key_Escape:
            self.clear_code()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        elif event.text() and event.text().strip() and event.text() not in "- ":
            char = event.text().upper()
            if char in ALPHABET:
                self.type_symbol(char)
            elif self._state.lifecycle is Lifecycle.IDLE:
                self._notice = self._t("not_symbol", symbol=event.text())
                self._draw_message()
        else:
            super().keyPressEvent(event)

    def _dismiss_error(self) -> None:
        self._notice = ""
        if self._state.error is not None and self._state.error.kind is not ErrorKind.RATE_LIMITED:
            self.error_dismissed.emit()
        self._draw_message()

    def _request(self, command) -> None:
        self.command_requested.emit(command)

    def _on_mute_clicked(self) -> None:
        self._request(cmd.Unmute() if self._state.muted else cmd.Mute())

    # ----- drawing --------------------------------------------------------------------------------------
    def render(self, state: RoomState) -> None:
        """Show ``state``. Called by the composition root after every transition."""
        previous = self._state.lifecycle
        self._state = state
        life = state.lifecycle
        if life is Lifecycle.IDLE:
            self._pages.setCurrentWidget(self._keypad_page)
            if previous is not Lifecycle.IDLE and previous is not Lifecycle.REDEEMING:
                self._symbols = ""  # a meeting happened: the old code is spent
            self.idle_sources.render(state)
        elif life in (Lifecycle.REDEEMING, Lifecycle.JOINING, Lifecycle.LEAVING):
            key = {"redeeming": "redeeming", "joining": "joining", "leaving": "leaving"}[life.value]
            self.busy_label.setText(self._t(key, n=len(state.screens)))
            self.cancel_button.setVisible(life is not Lifecycle.LEAVING)
            self._pages.setCurrentWidget(self._busy_page)
        else:
            self._draw_meeting(state)
            self._pages.setCurrentWidget(self._compact_page if self.compact else self._meeting_page)
        # Over a running meeting the compact panel is only its Leave button: no backdrop around it.
        mode = "compact" if self._compact_meeting() else "full"
        self.notice_label.setVisible(self._notice_timer.isActive() and mode == "full")
        if self.property("mode") != mode:
            self.setProperty("mode", mode)
            self.style().unpolish(self)
            self.style().polish(self)
        if self._rate_limited_s():
            self._countdown.start()
        self._draw_code()
        self._draw_message()

    def _draw_code(self) -> None:
        shown = self._symbols + self._t("placeholder") * (LENGTH - len(self._symbols))
        self.code_label.setText(format_code(shown))
        idle = self._state.lifecycle is Lifecycle.IDLE
        blocked = self._rate_limited_s() > 0
        self.join_button.setEnabled(idle and not blocked and len(self._symbols) == LENGTH)
        for button in self.key_buttons.values():
            button.setEnabled(idle and len(self._symbols) < LENGTH)
        self.backspace_button.setEnabled(idle and bool(self._symbols))
        self.clear_button.setEnabled(idle and bool(self._symbols))

    def _rate_limited_s(self) -> int:
        err = self._state.error
        if err is None or err.kind is not ErrorKind.RATE_LIMITED or err.retry_at is None:
            return 0
        return max(0, math.ceil(err.retry_at - self._clock()))

    def error_text(self) -> str:
        """The teacher-facing sentence for the current error ('' when there is none)."""
        err = self._state.error
        if err is None:
            return ""
        if err.kind is ErrorKind.RATE_LIMITED:
            return self._t("err.rate_limited", seconds=self._rate_limited_s())
        return self._t(f"err.{err.kind.value}", detail=err.detail)

    def _draw_message(self) -> None:
        text = self._notice or self.error_text()
        ended = self._state.error is not None and self._state.error.kind is ErrorKind.MEETING_ENDED
        self.message_label.setObjectName("info" if ended and not self._notice else "error")
        self.message_label.setStyleSheet("")  # re-polish after the object name changed
        self.message_label.setText(text)

    def _draw_meeting(self, state: RoomState) -> None:
        meeting = state.meeting
        host = meeting.host if meeting else ""
        self.connected_label.setText(self._t("connected", host=host))
        since = time.strftime("%H:%M", time.localtime(meeting.since)) if meeting else ""
        self.since_label.setText(self._t("connected_since", time=since))
        marks = {"loaded": "✓", "loading": "…", "failed": "✗", "idle": "–"}
        self.screens_label.setText(self._t("screens") + "  " + "   ".join(
            f"{screen.id} {marks[screen.status.value]}" for screen in state.screens))
        can_mute = state.muted is not None
        self.mute_button.setVisible(can_mute)
        self.mute_label.setVisible(can_mute)
        self.caps_label.setVisible(not can_mute and not state.layouts)
        self.mute_button.setText(self._t("unmute" if state.muted else "mute"))
        self.mute_label.setText(self._t("muted" if state.muted else "unmuted"))
        self._draw_layouts(state)
        self.meeting_sources.render(state)
        err = state.error
        self.meeting_message.setText(self.error_text() if err is not None else "")

    def _draw_layouts(self, state: RoomState) -> None:
        if tuple(self.layout_buttons) != state.layouts:
            for button in self.layout_buttons.values():
                button.deleteLater()
            self.layout_buttons = {}
            for name in state.layouts:
                button = self._button(self.layout_titles.get(name) or name.replace("-", " ").capitalize(),
                                      lambda n=name: self._request(cmd.SetLayout(layout=n)), name="layout")
                button.setCheckable(True)
                index = len(self.layout_buttons)
                self.layout_row.addWidget(button, index // LAYOUT_COLUMNS, index % LAYOUT_COLUMNS)
                self.layout_buttons[name] = button
        for name, button in self.layout_buttons.items():
            button.setChecked(name == state.layout)
        self.layout_title.setVisible(bool(state.layouts))

    def show_message(self, text: str, seconds: float) -> None:
        """Show a notice above whatever the panel shows, for ``seconds``. The compact Leave control over
        a meeting leaves it to the screen window below, which shows every notice itself."""
        self.notice_label.setText(text)
        self.notice_label.setVisible(not self._compact_meeting())
        self._notice_timer.start(int(seconds * 1000))

    def _compact_meeting(self) -> bool:
        return self.compact and self._state.lifecycle is Lifecycle.IN_MEETING

    def show_reply_error(self, message: str) -> None:
        """Show a refused command (e.g. 'muting the room is not supported') on the meeting page."""
        self.meeting_message.setText(message)

    def _on_countdown_timeout(self) -> None:
        if not self._rate_limited_s():
            self._countdown.stop()
        self._draw_code()
        self._draw_message()

    # ----- placement as an overlay ----------------------------------------------------------------------
    def overlay_rect(self, parent: QRect) -> QRect:
        """Where the panel sits over the first room screen: the whole screen while idle or busy (the
        keypad card centred, the room name on it), a small Leave control in the top-right corner during
        a meeting (always reachable, hides little of the meeting)."""
        if self._state.lifecycle is Lifecycle.IN_MEETING:
            w, h = 240, TOUCH_PX + 40
            return QRect(parent.width() - w - 24, 24, w, h)
        return QRect(0, 0, parent.width(), parent.height())

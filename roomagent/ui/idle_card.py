"""What a room screen shows between meetings: the room's name, how to join, the time, the screen id.

Sized relative to the screen height so it stays readable from the back row of a lecture hall on any
projector, and drawn light-on-dark because projectors wash out dark text on white.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QHideEvent,
    QLinearGradient,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from roomagent.ui.i18n import tr
from roomagent.ui.labels import plain_label

# The clock wakes this long after the minute turns: a timer firing a few ms early would otherwise
# still read the old minute. The tick re-arms from the clock each time, so the error never adds up.
TICK_MARGIN_S = 0.05

BACKGROUND_TOP = QColor("#0d1b2e")
BACKGROUND_BOTTOM = QColor("#13294b")
TEXT = QColor("#f4f6fb")
ACCENT = QColor("#ffd166")
MUTED = QColor("#9fb3c8")
FONT_FAMILY = "DejaVu Sans"


def ms_until_next_minute(now: datetime) -> int:
    """Milliseconds from ``now`` until just after the next full minute (never less than 1)."""
    into_minute = now.second + now.microsecond / 1_000_000
    return max(1, round((60.0 - into_minute + TICK_MARGIN_S) * 1000))


class IdleCard(QWidget):
    """The idle screen: live clock, room name, join instruction, screen id."""

    def __init__(
        self,
        room_name: str,
        screen_id: str,
        *,
        language: str = "en",
        clock: Callable[[], datetime] = datetime.now,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("idle-card")
        self._clock = clock
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # coarse timers may be 5 % (3 s) off
        self._timer.timeout.connect(self._on_timeout)

        self._time = self._label("idle-clock", MUTED)
        self._room = self._label("idle-room", TEXT, wrap=True)
        self._instruction = self._label("idle-instruction", ACCENT, wrap=True)
        self._screen = self._label("idle-screen", MUTED)
        self._room.setText(room_name)
        self._instruction.setText(tr(language, "idle.instruction"))
        self._screen.setText(tr(language, "idle.screen", screen_id=screen_id))

        layout = QVBoxLayout(self)
        layout.addWidget(self._time, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)
        layout.addWidget(self._room)
        self._gap = layout.count()
        layout.addSpacing(40)
        layout.addWidget(self._instruction)
        layout.addStretch(4)
        layout.addWidget(self._screen, 0, Qt.AlignmentFlag.AlignLeft)
        self._layout = layout
        self._update_clock()
        self._apply_sizes()

    def _label(self, name: str, colour: QColor, *, wrap: bool = False) -> QLabel:
        label = plain_label(parent=self)
        label.setObjectName(name)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(wrap)
        label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        label.setStyleSheet(f"color: {colour.name()}; background: transparent;")
        return label

    @property
    def clock_text(self) -> str:
        """The time currently shown (HH:MM)."""
        return self._time.text()

    @property
    def room_text(self) -> str:
        """The room name shown."""
        return self._room.text()

    @property
    def instruction_text(self) -> str:
        """The join instruction shown."""
        return self._instruction.text()

    @property
    def screen_text(self) -> str:
        """The screen line shown."""
        return self._screen.text()

    def set_room_name(self, name: str) -> None:
        """Change the room name (e.g. after the profile was reloaded)."""
        self._room.setText(name)

    # Tick only while visible: a card hidden behind a meeting has nothing to update.
    def showEvent(self, event: QShowEvent) -> None:
        self._update_clock()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)

    def _on_timeout(self) -> None:
        self._update_clock()

    def _update_clock(self) -> None:
        now = self._clock()
        self._time.setText(now.strftime("%H:%M"))
        if self.isVisible():
            self._timer.start(ms_until_next_minute(now))

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._apply_sizes()
        super().resizeEvent(event)

    def _apply_sizes(self) -> None:
        # Proportional to the height: 1080 px gives a 120 px room name and 50 px instruction.
        h = max(self.height(), 240)
        margin = round(h * 0.04)
        self._layout.setContentsMargins(margin * 2, margin, margin * 2, margin)
        gap = self._layout.itemAt(self._gap).spacerItem()
        if gap is not None:
            gap.changeSize(0, round(h * 0.06))
            self._layout.invalidate()
        for label, share, bold in (
            (self._time, 0.075, False),
            (self._room, 0.11, True),
            (self._instruction, 0.047, False),
            (self._screen, 0.028, False),
        ):
            font = QFont(FONT_FAMILY)
            font.setPixelSize(max(10, round(h * share)))
            font.setBold(bold)
            label.setFont(font)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        gradient = QLinearGradient(0, 0, 0, self.height())
        gradient.setColorAt(0.0, BACKGROUND_TOP)
        gradient.setColorAt(1.0, BACKGROUND_BOTTOM)
        painter.fillRect(self.rect(), gradient)
        # A short accent rule, centred in the gap between room name and instruction, anchors the eye.
        thickness = max(3, self.height() // 220)
        y = (self._room.geometry().bottom() + self._instruction.geometry().top() - thickness) // 2
        w = max(80, self.width() // 8)
        painter.fillRect((self.width() - w) // 2, y, w, thickness, ACCENT)
        painter.end()

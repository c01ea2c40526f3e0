"""The panel's inputs section: each HDMI input with its signal, and Share / Show here / Stop buttons.

It only asks; every button sends the same command a moderator would send over MQTT, so the core
decides (and refuses an input without a picture with a message, shown by the panel).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from roomagent.core import commands as cmd
from roomagent.core.sources import SourceState
from roomagent.core.state import Lifecycle, RoomState
from roomagent.ui.i18n import tr
from roomagent.ui.labels import plain_label

#: Signal dots: green picture, amber unknown (the driver does not say), grey no picture / unplugged.
_DOT = {True: "#3ecf6e", None: "#e0b03a", False: "#6b7a85"}


class SourcesBar(QWidget):
    """See the module docstring. ``command_requested(command)`` for every button."""

    command_requested = Signal(object)

    def __init__(self, language: str, preview_screen: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._language = language
        self._preview_screen = preview_screen
        self._shown: tuple = ()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.title = plain_label(tr(language, "sources"), objectName="hint")
        box.addWidget(self.title)
        self._grid = QGridLayout()
        self._grid.setSpacing(8)
        box.addLayout(self._grid)
        self.rows: dict[str, tuple[QLabel, list[QPushButton]]] = {}

    def render(self, state: RoomState) -> None:
        """Redraw when what is shown changed (inputs, sharing, previews, whether a meeting is on)."""
        in_meeting = state.lifecycle is Lifecycle.IN_MEETING and cmd.Capability.SHARE in state.capabilities
        key = (state.sources, state.sharing, tuple(sorted(state.previews.items())), in_meeting)
        self.setVisible(bool(state.sources))
        if key == self._shown:
            return
        self._shown = key
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.rows = {}
        for row, source in enumerate(state.sources):
            label = QLabel(self._describe(source), objectName="hint", wordWrap=True)
            # Our own markup (the coloured dot); the input's name in it is escaped (see _describe).
            label.setTextFormat(Qt.TextFormat.RichText)
            self._grid.addWidget(label, row, 0)
            buttons = self._buttons(source, state, in_meeting)
            for column, button in enumerate(buttons, start=1):
                self._grid.addWidget(button, row, column)
            self.rows[source.id] = (label, buttons)
        self._grid.setColumnStretch(0, 1)

    def _describe(self, source: SourceState) -> str:
        if not source.present:
            state, colour = tr(self._language, "source_unplugged"), _DOT[False]
        else:
            state = tr(self._language, {True: "source_signal", False: "source_no_signal", None: "source_unknown"}[source.signal])
            colour = _DOT[source.signal]
        return f'<span style="color:{colour}">●</span> <b>{html.escape(source.name)}</b> – {state}'

    def _buttons(self, source: SourceState, state: RoomState, in_meeting: bool) -> list[QPushButton]:
        if not source.present:
            return []
        out = []
        if in_meeting:
            if state.sharing == source.id:
                out.append(self._button(tr(self._language, "stop_share"), cmd.StopShare))
            else:
                out.append(self._button(tr(self._language, "share"), lambda: cmd.ShareSource(source=source.id)))
        if self._preview_screen is not None:
            if state.previews.get(self._preview_screen) == source.id:
                out.append(self._button(tr(self._language, "stop_preview"), cmd.StopPreview))
            else:
                out.append(self._button(tr(self._language, "preview"),
                                        lambda: cmd.PreviewSource(screen=self._preview_screen, source=source.id)))
        return out

    def _button(self, text: str, make: Callable[[], object]) -> QPushButton:
        button = QPushButton(text, objectName="source")
        button.clicked.connect(lambda: self.command_requested.emit(make()))
        return button

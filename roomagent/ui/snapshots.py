"""Offscreen mode: write what the panel and every screen show to PNG files after each state change."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)


class Snapshotter(QObject):
    """Grabs ``panel.png`` and ``screen-<id>.png`` into ``folder``, plus numbered copies per step
    (``03-idle-code_not_found-panel.png``) so a whole session can be looked at afterwards."""

    def __init__(self, agent, folder: Path, *, delay_s: float) -> None:
        super().__init__()
        self._agent = agent
        self._folder = folder
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(delay_s * 1000))
        self._timer.timeout.connect(self._on_timer_timeout)
        self._taken = 0

    def start(self) -> None:
        """Follow the agent's state; the first snapshot is taken once the windows have painted."""
        self._folder.mkdir(parents=True, exist_ok=True)
        self._agent.state_changed.connect(lambda _state: self._timer.start())
        self._timer.start()

    def take(self, prefix: str = "") -> list[Path]:
        """Grab every window now; returns the files written."""
        written = []
        targets = {"panel": self._agent.panel} if self._agent.panel and self._agent.panel.isWindow() else {}
        targets.update({f"screen-{sid}": win for sid, win in self._agent.windows.items()})
        for name, widget in targets.items():
            for stem in filter(None, (name, f"{prefix}-{name}" if prefix else "")):
                path = self._folder / f"{stem}.png"
                widget.grab().save(str(path))
                written.append(path)
        return written

    def _on_timer_timeout(self) -> None:
        self._taken += 1
        state = self._agent.state
        label = state.lifecycle.value + (f"-{state.error.kind.value}" if state.error else "")
        files = self.take(f"{self._taken:02d}-{label}")
        log.info("snapshots written: %s", ", ".join(p.name for p in files))

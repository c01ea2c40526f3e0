"""The yardstick for the join benchmark: plain PySide6, no roomagent code at all.

``python bare_views.py URL N [--cold] [--hold]`` opens ``URL`` in ``N`` plain ``QWebEngineView`` windows
(960x540, like the agent's windowed mode), each with its own off-the-record ``QWebEngineProfile`` as
the agent gives each screen, and prints one JSON line once every view has emitted ``loadFinished``::

    {"event": "loaded", "n": 2, "elapsed_s": 0.41, "ok": true, "pid": 1234}

The clock starts just before the first ``load()`` call, after the QApplication, the profiles and the
views exist and the event loop runs (the agent is likewise timed from a keypad already on screen).
``--cold`` starts the clock before the profiles and views are created instead, which shows what
creating them (and QtWebEngine's first start in the process) costs. ``--hold`` keeps the views open
until stdin is closed, so a caller can measure the process's memory in that state.
"""

from __future__ import annotations

import json
import os
import sys
import time

import shiboken6
from PySide6.QtCore import QSocketNotifier, QTimer, QUrl
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QApplication


class BareRun:
    """N views on one URL; reports when all of them finished loading."""

    def __init__(self, app: QApplication, url: str, count: int, *, cold: bool, hold: bool) -> None:
        self._app = app
        self._url = QUrl(url)
        self._count = count
        self.cold = cold
        self._hold = hold
        self._start = 0.0
        self._results: list[bool] = []
        self.profiles: list[QWebEngineProfile] = []
        self.views: list[QWebEngineView] = []
        self._stdin: QSocketNotifier | None = None

    def create_views(self) -> None:
        """One off-the-record profile, page and shown view per screen."""
        for index in range(self._count):
            profile = QWebEngineProfile()  # no storage name: off the record, memory only
            view = QWebEngineView()
            view.setPage(QWebEnginePage(profile, view))
            view.page().loadFinished.connect(self._on_load_finished)
            view.resize(960, 540)
            view.move(40 + index * 1000, 40)
            view.show()
            self.profiles.append(profile)
            self.views.append(view)

    def begin(self) -> None:
        """Runs from the event loop: start the clock, then load every view."""
        self._start = time.perf_counter()
        if self.cold:
            self.create_views()
        for view in self.views:
            view.load(self._url)

    def _on_load_finished(self, ok: bool) -> None:
        self._results.append(ok)
        if len(self._results) < self._count:
            return
        elapsed = time.perf_counter() - self._start
        report = {"event": "loaded", "n": self._count, "elapsed_s": elapsed, "ok": all(self._results),
                  "cold": self.cold, "pid": os.getpid()}
        print(json.dumps(report), flush=True)
        if not self._hold:
            self._app.quit()
            return
        # Wait for the caller to close stdin; a notifier, not a blocking read, keeps Qt's loop running.
        self._stdin = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read, self._app)
        self._stdin.activated.connect(self._on_stdin)

    def _on_stdin(self) -> None:
        if not os.read(sys.stdin.fileno(), 4096):
            self._app.quit()

    def close(self) -> None:
        """Views (and their pages) go before the profiles, or QtWebEngine warns about live pages."""
        for view in self.views:
            shiboken6.delete(view)  # takes its child, the page
        self.views.clear()
        self.profiles.clear()


def main(argv: list[str]) -> int:
    """Entry point; see the module docstring for the arguments."""
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    app = QApplication(sys.argv[:1])
    bare = BareRun(app, args[0], int(args[1]), cold="--cold" in argv, hold="--hold" in argv)
    if not bare.cold:
        bare.create_views()
    QTimer.singleShot(0, bare.begin)
    status = app.exec()
    bare.close()
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

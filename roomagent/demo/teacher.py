"""The teacher's side of ``roomagent demo``: the fake BigBlueButton's client page with the roomagent
plugin, in a window of the demo process (QtWebEngine, its own off-the-record profile).

With a display the person at the machine is the teacher: **+ → Invite room → Create code**, type the code
on the panel, then steer the room from the plugin's Room control. Offscreen, :class:`TeacherScript`
does exactly those clicks in the page (the plugin's ``data-test`` hooks), types the code the plugin shows
on the room's panel, switches the layout from the Room control and writes screenshots of each step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QUrl
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from PySide6.QtWebEngineWidgets import QWebEngineView

log = logging.getLogger(__name__)

#: How often the script looks at the page again, and how many looks before it gives up on a step.
POLL_MS = 250
MAX_POLLS = 240
#: Time for pages to paint before a screenshot, and for the last step to be seen in a window.
SETTLE_MS = 2000


class TeacherWindow:
    """A browser window showing ``join_url`` (a moderator's signed BBB join) in a profile of its own."""

    def __init__(self, join_url: str) -> None:
        self.join_url = join_url
        self.profile: QWebEngineProfile | None = None
        self.view: QWebEngineView | None = None

    def start(self) -> None:
        """Create the window and load the meeting."""
        self.profile = QWebEngineProfile()  # no storage name: off the record, nothing shared with the room
        self.view = QWebEngineView()
        self.view.setPage(QWebEnginePage(self.profile, self.view))
        self.view.setWindowTitle("Teacher — BigBlueButton (roomagent demo)")
        self.view.resize(1280, 800)
        self.view.load(QUrl(self.join_url))
        self.view.show()

    def run_js(self, script: str, done: Callable[[object], None]) -> None:
        """Run ``script`` in the page; ``done`` gets its (JSON-able) result."""
        assert self.view is not None
        self.view.page().runJavaScript(script, 0, done)

    def screenshot(self, path: Path) -> None:
        """What the window shows, as PNG."""
        assert self.view is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        self.view.grab().save(str(path))
        log.info("teacher screenshot %s", path)

    def stop(self) -> None:
        """Close the window (before the profile goes)."""
        if self.view is not None:
            self.view.close()
            self.view.deleteLater()
            self.view = None


def _query(test: str, what: str = "el") -> str:
    selector = json.dumps(f'[data-test="{test}"]')
    return f"(() => {{ const el = document.querySelector({selector}); return {what}; }})()"


class TeacherScript(QObject):
    """Offscreen: the teacher's clicks in the plugin, step by step, each waiting for the page."""

    def __init__(self, window: TeacherWindow, agent, folder: Path, on_done: Callable[[], None]) -> None:
        super().__init__()
        self.window = window
        self.agent = agent
        self.folder = folder
        self.on_done = on_done
        self.code = ""

    def start(self) -> None:
        """Begin once the page has its "+" button."""
        # The client shows "+" only once the plugin has put an item in it.
        self._when("actionsButton", "el && !el.hidden", self._open_menu)

    def _when(self, test: str, what: str, then: Callable[[object], None], polls: int = 0) -> None:
        def seen(value: object) -> None:
            if value:
                then(value)
            elif polls >= MAX_POLLS:
                log.error("demo: gave up waiting for [data-test=%s] in the teacher's page", test)
                self.on_done()
            else:
                QTimer.singleShot(POLL_MS, self, lambda: self._when(test, what, then, polls + 1))

        self.window.run_js(_query(test, what), seen)

    def _click(self, test: str, then: Callable[[object], None]) -> None:
        self._when(test, "el && !el.disabled && (el.click(), true)", then)

    def _open_menu(self, _value: object) -> None:
        print("demo (teacher): + → Invite room", flush=True)
        # The item by its text, as a person finds it: its dataTest is not rendered by every BBB 3.0 client.
        item = ("el && ((b) => b && (b.click(), true))([...el.querySelectorAll('[role=menuitem]')]"
                ".find((b) => b.textContent.trim() === 'Invite room'))")
        self._click("actionsButton", lambda _v: self._when("actionsDropdown", item, self._dialog))

    def _dialog(self, _value: object) -> None:
        def shown(_v: object) -> None:
            self.window.screenshot(self.folder / "teacher-1-invite-dialog.png")
            print("demo (teacher): Create code", flush=True)
            self._click("roomagentCreateCode", lambda _v: self._when("roomagentCode", "el && el.textContent.trim()",
                                                                      self._got_code))

        self._when("roomagentCreateCode", "el && !el.disabled", shown)

    def _got_code(self, code: object) -> None:
        from roomagent.core.codes import strip_code

        self.code = str(code)
        self.window.screenshot(self.folder / "teacher-2-code.png")
        print(f"demo (teacher): the plugin shows {self.code}; typing it on the room's panel", flush=True)
        for symbol in strip_code(self.code):
            self.agent.panel.type_symbol(symbol)
        self._when("roomagentLayout-discussion", "!!el", self._switch_layout)

    def _switch_layout(self, _value: object) -> None:
        QTimer.singleShot(SETTLE_MS, self, self._room_control_shown)

    def _room_control_shown(self) -> None:
        self.window.screenshot(self.folder / "teacher-3-room-control.png")
        print("demo (teacher): Room control → layout discussion", flush=True)
        self._click("roomagentLayout-discussion", lambda _v: self._when(
            "roomagentLayout-discussion", "el && el.getAttribute('aria-pressed') === 'true'", self._switched))

    def _switched(self, _value: object) -> None:
        self.window.screenshot(self.folder / "teacher-4-layout-switched.png")
        print("demo (teacher): the room switched to discussion", flush=True)
        QTimer.singleShot(SETTLE_MS, self, self._room_after)

    def _room_after(self) -> None:
        from roomagent.ui.snapshots import Snapshotter

        # The room's screens once they have painted the new layout (the agent snapshots only on state changes).
        Snapshotter(self.agent, self.folder, delay_s=0).take("room-layout-discussion")
        QTimer.singleShot(SETTLE_MS, self, self.on_done)

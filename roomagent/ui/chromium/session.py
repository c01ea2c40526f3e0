"""A screen session in Debian's Chromium, driven over the DevTools pipe: the second engine behind the
screen-session interface :class:`roomagent.ui.session.ScreenSession` (DESIGN.md §4; why: README
"Screen engines").

Each session is one browser process with its own user-data-dir (deleted on close), one page, and the
same lockdown as the QtWebEngine session, enforced through the protocol:

* navigation: every document request (main frame and sub-frames, redirects included) pauses in
  ``Fetch.requestPaused`` and is judged by :func:`~roomagent.ui.lockdown.navigation_verdict`; a refused
  one is aborted (``Aborted`` commits no error page, the old page stays, as in QtWebEngine);
* popups are closed as soon as their target appears, downloads are denied, JS dialogs are answered
  (alert: OK, confirm/prompt: Cancel), the file chooser is intercepted;
* permissions: ``--deny-permission-prompts`` denies whatever a page asks; the media session's allowed
  origins get camera and microphone (``Browser.grantPermissions``, which rejects everything else);
* a crashed renderer is reloaded within the :class:`~roomagent.ui.lockdown.CrashBudget`; so is a browser
  that died as a whole (it is restarted, scripts and bridge included).

The session starts, attaches, places and tears down the browser; what each DevTools event means for the
page (the policy above, the page's URL and title, the bridge) is decided by the
:class:`~roomagent.ui.chromium.events.PageEvents` object it owns.

The widget is a plain dark placeholder in the screen window; Chromium's own window lies on top of the
same geometry (``--kiosk`` on that display, or an ``--app`` window in windowed mode) and follows the
window when it moves. Embedding Chromium's X window inside Qt's would be X11-only (the appliance runs
under a Wayland compositor) and would put a foreign native window into Qt's widget stack; a second
top-level window needs neither.

Under Wayland (the kiosk's sway session) a client cannot place its own windows: Chromium then runs on
Ozone/Wayland with the app_id :func:`~roomagent.session.sway.chromium_app_id` of its screen, and is put
full screen on the screen window's output through sway's IPC (the session's ``for_window`` rules do the
same when the window appears); coordinates are never guessed.

The screen window's notice banner ("Reconnecting…", a moderator's message) is drawn by the Qt window
that Chromium's window covers; the session mirrors it into the page as a strip above everything the
page draws (:data:`~roomagent.ui.chromium.scripts.NOTICE_JS`), so a notice is never hidden.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QWidget

from roomagent.core.hosts import redact_url
from roomagent.session.sway import chromium_app_id
from roomagent.session.swayipc import SwayError, find_socket, run_command
from roomagent.ui.chromium.cdp import CdpPipe, Reply
from roomagent.ui.chromium.events import PageEvents
from roomagent.ui.chromium.process import FIRST_PAGE, ChromiumProcess, LaunchOptions
from roomagent.ui.chromium.scripts import (
    BINDING_NAME,
    BOOTSTRAP_JS,
    NOTICE_JS,
    TITLE_BINDING,
    TITLE_JS,
    main_frame_only,
)
from roomagent.ui.lifetime import delete_later
from roomagent.ui.page_policy import JsonCallback, json_wrapper, unwrap_json
from roomagent.ui.session import ScreenSession

log = logging.getLogger(__name__)

#: The browser's start page is a local data: document and loads in milliseconds; this only bounds the
#: wait if its load event went missing.
FIRST_PAGE_WAIT_S = 3.0
#: QLabel has no signal for a new text, and a covered Qt window may not repaint: a banner whose text
#: changes while it shows is noticed by looking this often (a string comparison).
NOTICE_POLL_S = 0.5
#: Chromium's window appears with its first frame, after the page is attached: the sway placement is
#: retried this often, this many times (10 s), before it is reported as failed.
PLACE_RETRY_S = 0.25
PLACE_ATTEMPTS = 40


def on_wayland() -> bool:
    """True when the agent's windows are Wayland windows (Chromium must then be a Wayland client too:
    without Xwayland an X11 Chromium exits at once)."""
    app = QGuiApplication.instance()
    name = app.platformName() if app is not None else os.environ.get("QT_QPA_PLATFORM", "")
    return name.startswith("wayland")


def screen_of(session_id: str) -> str:
    """The screen id in a session id (``left-3`` -> ``left``; the screen window numbers its sessions)."""
    head, _, tail = session_id.rpartition("-")
    return head if head and tail.isdigit() else session_id


def wayland_args(session_id: str) -> tuple[str, ...]:
    """Chromium's flags for a Wayland session: Ozone/Wayland, and the screen's stable app_id (``--class``)
    that the sway session's window rules and :meth:`ChromiumSession._place_window` match."""
    return ("--ozone-platform=wayland", f"--class={chromium_app_id(screen_of(session_id))}")


class ChromiumSession(ScreenSession):
    """One locked-down Chromium browser for one screen and one meeting; see the module docstring, and
    :class:`~roomagent.ui.session.ScreenSession` for the signals and the contract of each method."""

    def __init__(self, session_id: str, allowed_hosts: list[str], media: bool, parent: QWidget | None = None,
                 *, options: LaunchOptions | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(session_id, allowed_hosts, media, clock=clock)
        self._options = options or LaunchOptions()
        self._events = PageEvents(session_id, media, self._policy, self._send, self)
        self._events.loaded.connect(self.loaded)
        self._events.message.connect(self.message)
        self._events.refused.connect(self._refuse)
        self._events.navigation_refused.connect(self._refuse_navigation)
        self._events.crashed.connect(lambda status, code: self._crashed(status, code, restart=False))
        self._events.first_page_loaded.connect(self._become_ready)
        self._placeholder = QWidget(parent)
        self._placeholder.setObjectName(f"screen-view:{session_id}")
        self._placeholder.setStyleSheet("background: #101826;")  # what shows for the moment Chromium starts
        self._process: ChromiumProcess | None = None
        self._pipe: CdpPipe | None = None
        self._queued: list[Callable[[], None]] = []  # page commands waiting for the page to be attached
        self._scripts: dict[str, str] = {}  # name -> source, re-added after a browser restart
        self._script_ids: dict[str, str] = {}
        self._bridge = False
        self._start_url = ""
        self._window: QWidget | None = None
        self._notice: QLabel | None = None  # the screen window's banner, mirrored into the page
        self._notice_text = ""
        self._full_screen_at_start = False
        self._ready = False  # attached, and the browser's start page has loaded: commands go out at once

    # -- the interface ---------------------------------------------------------------------------

    @property
    def widget(self) -> QWidget:
        """The placeholder widget Chromium's window covers (put it in a layout; do not delete it)."""
        return self._placeholder

    @property
    def url(self) -> str:
        return "" if self._closed else self._events.url

    @property
    def title(self) -> str:
        return "" if self._closed else self._events.title

    @property
    def renderer_pid(self) -> int:
        """A renderer process of this browser (0 when none is known), for diagnostics."""
        return 0 if self._closed else self._events.renderer_pid

    @property
    def browser_pid(self) -> int:
        """The browser process (0 before start or after close)."""
        return self._process.pid if self._process is not None and not self._closed else 0

    def load(self, url: str) -> None:
        self._check_open()
        self._policy.trust(url)
        # A browser-initiated navigation passes no Fetch interception when it is not http(s): judge it here.
        kind = self._policy.verdict(url, main_frame=True)
        if kind is not None:
            self._refuse(kind, url, "(load)")
            self._refuse_navigation(url)
            return
        self._start_url, self._events.wrapper = url, None
        self._budget.reset()
        log.info("[%s] loading %s", self.session_id, redact_url(url))
        self._page_do(lambda: self._navigate(url))

    def load_html(self, html: str, base_url: str) -> None:
        self._check_open()
        self._policy.trust(base_url)
        self._start_url, self._events.wrapper = "", (html, base_url)
        self._budget.reset()
        log.info("[%s] loading a local page as %s", self.session_id, redact_url(base_url))
        # The request for base_url is answered with the html (PageEvents._on_request_paused).
        self._page_do(lambda: self._navigate(base_url))

    def unload(self) -> None:
        if self._closed or self._unloading:
            return
        self._unloading = True
        self._events.wrapper, self._start_url = None, "about:blank"
        self._page_do(lambda: self._navigate("about:blank"))

    def enable_bridge(self) -> None:
        if self._bridge or self._closed:
            return
        self._bridge = True
        self._page_do(self._install_bridge)
        self.add_script("roomagent-bridge", BOOTSTRAP_JS)

    def add_script(self, name: str, source: str) -> None:
        self._check_open()
        self._scripts[name] = source
        self._page_do(lambda: self._install_script(name))

    def run_json(self, js_expression: str, callback: JsonCallback) -> None:
        self._check_open()

        def on_reply(result: dict[str, Any] | None, error: str | None) -> None:
            if self._closed:
                return
            if error is not None or result is None:
                callback(None, f"script did not run ({error})")
                return
            if "exceptionDetails" in result:
                details = result["exceptionDetails"]
                callback(None, str(details.get("exception", {}).get("description") or details.get("text")))
                return
            callback(*unwrap_json(result.get("result", {}).get("value"), "script did not run (no document)"))

        self._page_do(lambda: self._send("Runtime.evaluate", {"expression": json_wrapper(js_expression),
                                                              "returnByValue": True}, on_reply))

    def reload(self) -> None:
        if self._closed:
            return
        self._page_do(lambda: self._reload(ignore_cache=True))

    def close(self) -> None:
        """End the browser, delete its user-data-dir, and drop the placeholder. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._events.stop()
        log.info("[%s] closing session", self.session_id)
        # Its process object and socket notifiers go with it, from the event loop: close() often runs
        # inside one of their own signals (see ui/lifetime.py).
        delete_later(self)
        self._queued.clear()
        if self._window is not None and shiboken6.isValid(self._window):
            self._window.removeEventFilter(self)
        if self._notice is not None and shiboken6.isValid(self._notice):
            self._notice.removeEventFilter(self)
        if self._process is not None:
            self._process.exited.disconnect(self._on_browser_exited)
            self._process.stop()
            log.info("[%s] profile destroyed", self.session_id)
        if shiboken6.isValid(self._placeholder):  # its parent window may have taken it already
            self._placeholder.hide()
            self._placeholder.deleteLater()

    # -- starting and attaching ------------------------------------------------------------------

    def _page_do(self, action: Callable[[], None]) -> None:
        if self._ready:
            action()
            return
        self._queued.append(action)
        if self._process is None:
            self._start_browser()

    def _geometry(self) -> tuple[tuple[int, int, int, int], bool]:
        window = self._placeholder.window()
        rect = window.geometry()
        return (rect.x(), rect.y(), max(rect.width(), 1), max(rect.height(), 1)), window.isFullScreen()

    def _start_browser(self) -> None:
        geometry, full_screen = self._geometry()
        self._full_screen_at_start = full_screen
        options = self._options
        if on_wayland() and not options.headless:
            options = dataclasses.replace(options, extra_args=(*options.extra_args, *wayland_args(self.session_id)))
        self._process = ChromiumProcess(options, self)
        self._process.exited.connect(self._on_browser_exited)
        self._pipe = self._process.start(geometry, full_screen)
        self._pipe.event.connect(self._events.handle)
        self._send("Target.setDiscoverTargets", {"discover": True}, session="")
        self._send("Browser.setDownloadBehavior", {"behavior": "deny", "eventsEnabled": True}, session="")
        # New windows are attached while still paused, so they are closed before they fetch anything
        # (popups are refused; see PageEvents._on_window_open and _on_attached_to_target).
        self._send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True,
                                            "filter": [{"type": "page", "exclude": False}, {"exclude": True}]},
                   session="")
        self._send("Target.getTargets", {}, self._on_targets, session="")
        window = self._placeholder.window()
        if window is not self._window:
            self._window = window
            window.installEventFilter(self)  # follow moves and resizes of the screen window
            self._notice = window.findChild(QLabel, "screen-notice")
            if self._notice is not None:
                self._notice.installEventFilter(self)  # shown or hidden: mirrored at once
                self.loaded.connect(self._on_loaded_mirror_notice)
                poll = QTimer(self)
                poll.setInterval(int(NOTICE_POLL_S * 1000))
                poll.timeout.connect(self._mirror_notice)
                poll.start()

    def _on_targets(self, result: dict[str, Any] | None, error: str | None) -> None:
        pages = [t for t in (result or {}).get("targetInfos", []) if t.get("type") == "page"]
        if not pages:
            log.error("[%s] Chromium has no page to attach to (%s)", self.session_id, error or "none listed")
            return
        self._events.attach(pages[0]["targetId"])
        self._send("Target.attachToTarget", {"targetId": self._events.target, "flatten": True}, self._on_attached,
                   session="")

    def _on_attached(self, result: dict[str, Any] | None, error: str | None) -> None:
        if result is None or self._closed:
            log.error("[%s] could not attach to Chromium's page: %s", self.session_id, error)
            return
        self._events.attach(self._events.target, result["sessionId"])
        for method, params in (
            ("Page.enable", {}), ("Runtime.enable", {}), ("Log.enable", {}),
            ("Page.setInterceptFileChooserDialog", {"enabled": True}),

            ("Fetch.enable", {"patterns": [{"urlPattern": "*", "resourceType": "Document", "requestStage": "Request"}]}),
        ):
            self._send(method, params)
        # Navigating while the browser's own start page is still loading loses the new document's
        # events now and then (no frameNavigated, no load event): wait until that page has loaded.
        self._send("Runtime.evaluate", {"expression": "document.readyState === 'complete' && location.protocol === 'data:'",
                                        "returnByValue": True}, self._on_first_page_state)

    def _on_first_page_state(self, result: dict[str, Any] | None, _error: str | None) -> None:
        if (result or {}).get("result", {}).get("value") is True:
            self._become_ready()
            return
        self._events.awaiting_first_page = True
        QTimer.singleShot(int(FIRST_PAGE_WAIT_S * 1000), self, self._become_ready)

    def _become_ready(self) -> None:
        if self._ready or not self._events.page or self._closed:
            return
        self._ready, self._events.awaiting_first_page = True, False
        self._send("Runtime.addBinding", {"name": TITLE_BINDING})
        self._send("Page.addScriptToEvaluateOnNewDocument", {"source": main_frame_only(TITLE_JS)})
        queued, self._queued = self._queued, []
        for action in queued:
            action()
        self._place_window()

    def _install_bridge(self) -> None:
        self._send("Runtime.addBinding", {"name": BINDING_NAME})

    def _install_script(self, name: str) -> None:
        old = self._script_ids.pop(name, None)
        if old is not None:
            self._send("Page.removeScriptToEvaluateOnNewDocument", {"identifier": old})

        def remember(result: dict[str, Any] | None, _error: str | None) -> None:
            if result is not None:
                self._script_ids[name] = result["identifier"]

        self._send("Page.addScriptToEvaluateOnNewDocument", {"source": main_frame_only(self._scripts[name])}, remember)

    def _send(self, method: str, params: dict[str, Any], callback: Reply | None = None, *,
              session: str | None = None) -> None:
        if self._pipe is not None and not self._closed:
            self._pipe.send(method, params, session_id=self._events.page if session is None else session,
                            callback=callback)

    def _navigate(self, url: str) -> None:
        def on_reply(result: dict[str, Any] | None, error: str | None) -> None:
            text = (result or {}).get("errorText") or error
            if text and text != "net::ERR_ABORTED":
                log.warning("[%s] failed to load %s: %s", self.session_id, redact_url(url), text)
        self._send("Page.navigate", {"url": url}, on_reply)

    def _reload(self, ignore_cache: bool, url: str = "") -> None:
        if self._events.wrapper is not None:
            self._navigate(self._events.wrapper[1])  # answered with the wrapper again
        elif url:
            self._navigate(url)
        elif not self._events.url or self._events.url in ("about:blank", FIRST_PAGE):
            self._navigate(self._start_url)
        else:
            self._send("Page.reload", {"ignoreCache": ignore_cache})

    # -- following the screen window -------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keep Chromium's window over the screen window when that moves or changes size."""
        if watched is self._window and event.type() in (QEvent.Type.Move, QEvent.Type.Resize,
                                                        QEvent.Type.WindowStateChange):
            QTimer.singleShot(0, self, self._place_window)
        elif watched is self._notice and event.type() in (QEvent.Type.Show, QEvent.Type.Hide,
                                                          QEvent.Type.ZOrderChange):
            QTimer.singleShot(0, self, self._mirror_notice)  # once the banner has its new text and state
        return False

    def _mirror_notice(self, force: bool = False) -> None:
        if self._closed or self._notice is None or not shiboken6.isValid(self._notice):
            return
        text = self._notice.text() if self._notice.isVisibleTo(self._notice.window()) else ""
        if text == self._notice_text and not force:
            return
        self._notice_text = text
        expression = NOTICE_JS % json.dumps(text)
        self._page_do(lambda: self._send("Runtime.evaluate", {"expression": expression}))

    def _on_loaded_mirror_notice(self, ok: bool, _url: str) -> None:
        if ok and self._notice_text:
            self._mirror_notice(force=True)  # a new document has no strip yet

    def _place_window(self) -> None:
        if not self._ready or self._closed or self._options.headless:
            return
        (x, y, width, height), full_screen = self._geometry()
        # Under sway the Qt window stops being full screen as soon as Chromium's takes its output: what
        # counts is whether it was full screen when the browser started (windowed mode never is).
        if on_wayland() and self._place_through_sway(self._full_screen_at_start):
            return

        def place(result: dict[str, Any] | None, _error: str | None) -> None:
            if result is None:
                return
            window_id = result["windowId"]
            # Bounds are only accepted in the normal state; full screen goes on top of them.
            self._send("Browser.setWindowBounds", {"windowId": window_id, "bounds": {"windowState": "normal"}},
                       session="")
            self._send("Browser.setWindowBounds", {"windowId": window_id, "bounds": {
                "left": x, "top": y, "width": width, "height": height}}, session="")
            if full_screen:
                self._send("Browser.setWindowBounds", {"windowId": window_id, "bounds": {"windowState": "fullscreen"}},
                           session="")

        self._send("Browser.getWindowForTarget", {"targetId": self._events.target}, place, session="")

    def _place_through_sway(self, full_screen: bool, attempt: int = 1) -> bool:
        """Full screen on the screen window's output via sway's IPC; False when there is no sway to ask."""
        socket = find_socket()
        if socket is None:
            return False
        screen = self._placeholder.window().screen()
        if not full_screen or screen is None or self._closed:
            return True  # windowed mode: the compositor tiles the windows
        app_id = chromium_app_id(screen_of(self.session_id))
        command = f'[app_id="^{app_id}$"] move container to output "{screen.name()}", fullscreen enable'
        try:
            run_command(command, socket)
        except SwayError as exc:
            if "No matching node" in str(exc) and attempt < PLACE_ATTEMPTS:
                # Chromium maps its window with its first frame, a moment after the page is attached.
                QTimer.singleShot(int(PLACE_RETRY_S * 1000), self,
                                  lambda: self._place_through_sway(full_screen, attempt + 1))
                return True
            log.warning("[%s] could not place Chromium's window on %s: %s", self.session_id, screen.name(), exc)
        else:
            log.info("[%s] Chromium's window full screen on %s (sway)", self.session_id, screen.name())
        return True

    def _on_browser_exited(self, status: int) -> None:
        self._crashed("browser-exited", status, restart=True)

    def _crashed(self, status: str, code: int, *, restart: bool) -> None:
        log.warning("[%s] %s (exit code %d)", self.session_id, status, code)
        if not self._crash_allows_reload(status, code):
            return
        if restart:
            QTimer.singleShot(0, self, self._restart_browser)
        else:
            QTimer.singleShot(0, self, lambda: self._page_do(lambda: self._reload(ignore_cache=False)))

    def _restart_browser(self) -> None:
        if self._closed or self._process is None:
            return
        self._process.exited.disconnect(self._on_browser_exited)
        self._process.stop()
        self._process = self._pipe = None
        self._ready = False
        last = self._events.forget()
        self._script_ids.clear()
        if self._bridge:
            self._queued.append(self._install_bridge)
        self._queued += [lambda n=name: self._install_script(n) for name in self._scripts]
        # The new browser starts on its own blank page: go back to the page the old one showed.
        self._page_do(lambda: self._reload(ignore_cache=False, url=last if last != "about:blank" else ""))

"""What the Chromium engine does with each DevTools event of its browser: the page policy and the page's state.

:class:`PageEvents` is owned by one :class:`~roomagent.ui.chromium.session.ChromiumSession`, which
starts, attaches and tears down the browser; this object answers what happens on its events. Its
interface is small and explicit:

* it is given the session id (for the log), the media flag, the session's
  :class:`~roomagent.ui.page_policy.HostPolicy` and a ``send(method, params, callback, *, session)``
  that sends a DevTools command (``session=None``: to the page, ``""``: to the browser);
* the session tells it :meth:`attach` (the page's target and flat-mode session), :meth:`forget` (a
  restarted browser), :attr:`wrapper` (the local page a ``load_html`` serves), :attr:`awaiting_first_page`
  and :meth:`stop`, and hands it every event through :meth:`handle`;
* it keeps the page's state (:attr:`url`, :attr:`title`, :attr:`renderer_pid` ...) and reports through
  its signals, which the session turns into the screen-session interface's.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from roomagent.core.hosts import redact_url
from roomagent.ui.bridge import parse_message
from roomagent.ui.chromium.cdp import Reply
from roomagent.ui.chromium.process import FIRST_PAGE
from roomagent.ui.chromium.scripts import BINDING_NAME, TITLE_BINDING
from roomagent.ui.lockdown import navigation_verdict
from roomagent.ui.page_policy import HostPolicy, blocked_local_resource, dialog_answer

log = logging.getLogger("roomagent.ui.chromium.session")

MEDIA_PERMISSIONS = ("audioCapture", "videoCapture")


class Send(Protocol):
    """How :class:`PageEvents` sends a DevTools command (see the module docstring)."""

    def __call__(self, method: str, params: dict[str, Any], callback: Reply | None = None, *,
                 session: str | None = None) -> None: ...


def _start_ticks(pid: int) -> int:
    """When ``pid`` started (clock ticks since boot), -1 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return -1


class PageEvents(QObject):
    """The page of one Chromium session as its DevTools events tell it (see the module docstring).

    Signals: ``loaded(ok, url)`` for a main-frame load the session asked for; ``message(obj)`` from the
    bridge; ``refused(kind, detail, note)`` for what the lockdown blocked; ``navigation_refused(url)``
    after a refused main-frame document (both reported at once: the session defers them);
    ``crashed(status, exit_code)`` when the page's renderer died; ``first_page_loaded()`` when the
    browser's own start page finished while :attr:`awaiting_first_page`.
    """

    loaded = Signal(bool, str)
    message = Signal(object)
    refused = Signal(str, str, str)
    navigation_refused = Signal(str)
    crashed = Signal(str, int)
    first_page_loaded = Signal()

    def __init__(self, session_id: str, media: bool, policy: HostPolicy, send: Send,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session_id = session_id
        self._media = media
        self._policy = policy
        self._send = send
        self._stopped = False
        self._main_contexts: set[int] = set()
        self._granted: set[str] = set()
        self._failed_url = ""
        # The page as the events tell it: read by the session, written only here (attach, forget, handlers).
        #: The page's target id (= its main frame id), '' until attached.
        self.target = ""
        #: The page's flat-mode DevTools session id, '' until attached.
        self.page = ""
        #: The URL the main frame shows ('' before the first navigation).
        self.url = ""
        self.title = ""
        #: The renderer that (most likely) draws the page, 0 when none is known.
        self.renderer_pid = 0
        # What the session sets:
        #: ``(html, base_url)``: the local page whose document request is answered with ``html``.
        self.wrapper: tuple[str, str] | None = None
        #: The session waits for the browser's own start page before it navigates (see the session).
        self.awaiting_first_page = False

    # -- what the session tells ------------------------------------------------------------------

    def attach(self, target: str, page: str = "") -> None:
        """The page is ``target``; ``page`` is its flat-mode session once attached (its contexts start anew)."""
        self.target, self.page = target, page
        self._main_contexts.clear()

    def forget(self) -> str:
        """The browser is gone and a new one starts: drop what belonged to the old one; the URL it showed."""
        last = self.url
        self.target = self.page = self.url = ""
        self._granted.clear()
        self.awaiting_first_page = False
        return last

    def stop(self) -> None:
        """The session closed: no event is handled any more."""
        self._stopped = True

    def handle(self, method: str, params: dict[str, Any], session: str) -> None:
        """One DevTools event (``session``: its flat-mode session id, '' for the browser's own)."""
        if self._stopped:
            return
        handler = self._HANDLERS.get(method)
        if handler is not None and (session == self.page or not method.startswith(self._PAGE_DOMAINS)):
            handler(self, params)

    # -- the handlers ----------------------------------------------------------------------------

    def _on_request_paused(self, params: dict[str, Any]) -> None:
        request_id, url = params["requestId"], params["request"]["url"]
        main_frame = params.get("frameId") == self.target
        if main_frame and self.wrapper is not None and url.split("#", 1)[0] == self.wrapper[1].split("#", 1)[0]:
            body = base64.b64encode(self.wrapper[0].encode("utf-8")).decode("ascii")
            self._send("Fetch.fulfillRequest", {"requestId": request_id, "responseCode": 200, "body": body,
                                                "responseHeaders": [{"name": "Content-Type",
                                                                     "value": "text/html; charset=utf-8"}]})
            self._grant_media(url)
            return
        kind = self._policy.verdict(url, main_frame=main_frame)
        if kind is None:
            go_on = lambda *_: self._send("Fetch.continueRequest", {"requestId": request_id})  # noqa: E731
            # Granted before the document exists (the reply comes first), so its first getUserMedia is answered.
            if not (main_frame and self._grant_media(url, then=go_on)):
                go_on()
            return
        # Aborted, not BlockedByClient: an aborted navigation commits no error page, the old page stays.
        self._send("Fetch.failRequest", {"requestId": request_id, "errorReason": "Aborted"})
        self.refused.emit(kind, url, "main frame" if main_frame else "sub-frame")
        if main_frame and params.get("resourceType") == "Document":
            self.navigation_refused.emit(url)

    def _grant_media(self, url: str, then: Callable[..., None] | None = None) -> bool:
        """Grant camera and microphone to ``url``'s origin once (media session, allowed host); True when a
        grant went out, and ``then`` is called with its reply."""
        if not self._media:
            return False
        origin = "/".join(url.split("/", 3)[:3])
        if origin in self._granted or not self._policy.allows(url):
            return False
        self._granted.add(origin)
        self._send("Browser.grantPermissions", {"origin": origin, "permissions": list(MEDIA_PERMISSIONS)}, then,
                   session="")
        log.info("[%s] granted camera and microphone to %s", self._session_id, origin)
        return True

    def _on_frame_navigated(self, params: dict[str, Any]) -> None:
        frame = params["frame"]
        if frame.get("parentId"):
            return
        self.url = frame.get("url", "")
        self._failed_url = frame.get("unreachableUrl", "")

    def _on_load_event(self, _params: dict[str, Any]) -> None:
        if self.awaiting_first_page:
            self.first_page_loaded.emit()
            return
        # The browser's own start page (committed before we attached, so url may still be empty) is
        # not a page the session asked for; a load of ours always follows its frameNavigated.
        if not self.url or self.url == FIRST_PAGE:
            return
        ok = not self._failed_url
        url = self._failed_url or self.url
        if ok:
            log.info("[%s] loaded %s", self._session_id, redact_url(url))
        else:
            log.warning("[%s] failed to load %s", self._session_id, redact_url(url))
        self.loaded.emit(ok, url)
        self._send("SystemInfo.getProcessInfo", {}, self._on_process_info, session="")

    def _on_process_info(self, result: dict[str, Any] | None, _error: str | None) -> None:
        # The protocol does not say which renderer draws which page. The newest one does: the page just
        # loaded, and a crashed renderer is replaced by a new process (older ones hold the start page).
        renderers = [int(p["id"]) for p in (result or {}).get("processInfo", []) if p.get("type") == "renderer"]
        if renderers:
            self.renderer_pid = max(renderers, key=_start_ticks)

    def _on_context_created(self, params: dict[str, Any]) -> None:
        context = params["context"]
        aux = context.get("auxData") or {}
        if aux.get("frameId") == self.target and aux.get("isDefault"):
            self._main_contexts.add(context["id"])

    def _on_context_destroyed(self, params: dict[str, Any]) -> None:
        self._main_contexts.discard(params.get("executionContextId"))

    def _on_contexts_cleared(self, _params: dict[str, Any]) -> None:
        self._main_contexts.clear()

    def _on_binding_called(self, params: dict[str, Any]) -> None:
        # Only the main frame's own world: a sub-frame has the raw bindings too but must not be heard.
        if params.get("executionContextId") not in self._main_contexts:
            return
        if params.get("name") == TITLE_BINDING:
            self.title = str(params.get("payload", ""))
            return
        if params.get("name") != BINDING_NAME:
            return
        value = parse_message(params.get("payload", ""))
        if value is None:
            log.debug("[%s] dropped a malformed page message", self._session_id)
            return
        self.message.emit(value)

    def _on_window_open(self, params: dict[str, Any]) -> None:
        self.refused.emit("popup", params.get("url", ""), "")

    def _on_attached_to_target(self, params: dict[str, Any]) -> None:
        # Only new pages are auto-attached (the filter); ours was attached by hand and is not among them.
        popup = params["targetInfo"]["targetId"]
        if self.target and popup != self.target:
            # Its document request is held (Fetch, never answered) so nothing is fetched; it is let go
            # from its debugger pause first, because its opener's renderer waits for it to start.
            child = params["sessionId"]
            self._send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=child)
            self._send("Runtime.runIfWaitingForDebugger", {}, session=child)
            self._send("Target.closeTarget", {"targetId": popup}, session="")
            log.info("[%s] closed a new window before it loaded", self._session_id)

    def _on_target_created(self, params: dict[str, Any]) -> None:
        # Safety net: any other page in this browser (one the auto-attach missed) is closed too.
        info = params["targetInfo"]
        if self.target and info.get("type") == "page" and info["targetId"] != self.target and info.get("attached") is False:
            self._send("Target.closeTarget", {"targetId": info["targetId"]}, session="")

    def _on_target_info_changed(self, params: dict[str, Any]) -> None:
        # Sent when a navigation commits (title then = the URL until the document names itself).
        info = params["targetInfo"]
        if info["targetId"] == self.target:
            self.title = info.get("title", "")

    def _on_target_crashed(self, params: dict[str, Any]) -> None:
        if params.get("targetId") == self.target:
            self.crashed.emit(str(params.get("status", "crashed")), int(params.get("errorCode", 0)))

    def _on_download(self, params: dict[str, Any]) -> None:
        self.refused.emit("download", params.get("url", ""), "")

    def _on_dialog(self, params: dict[str, Any]) -> None:
        kind = params.get("type", "alert")
        accept = dialog_answer(kind)
        self._send("Page.handleJavaScriptDialog", {"accept": accept})
        log.info("[%s] answered %s() with %s: %s", self._session_id, kind, "OK" if accept else "Cancel",
                 params.get("message", ""))

    def _on_file_chooser(self, _params: dict[str, Any]) -> None:
        self.refused.emit("file", "file chooser", "")

    def _on_log_entry(self, params: dict[str, Any]) -> None:
        target = blocked_local_resource(params.get("entry", {}).get("text", ""))
        if target is not None:
            # Chromium itself stops web pages from opening file: and chrome: URLs; this is the only trace.
            self.refused.emit(navigation_verdict(target, main_frame=True, allowed_hosts=()) or "navigation",
                              target, "")

    # Events of the page's session; the browser-level ones (Target.*, Browser.*) come without one.
    _PAGE_DOMAINS = ("Fetch.", "Page.", "Runtime.", "Log.")
    _HANDLERS: MappingProxyType[str, Callable[[PageEvents, dict[str, Any]], None]] = MappingProxyType({
        "Fetch.requestPaused": _on_request_paused,
        "Page.frameNavigated": _on_frame_navigated,
        "Page.loadEventFired": _on_load_event,
        "Page.javascriptDialogOpening": _on_dialog,
        "Page.fileChooserOpened": _on_file_chooser,
        "Runtime.executionContextCreated": _on_context_created,
        "Runtime.executionContextDestroyed": _on_context_destroyed,
        "Runtime.executionContextsCleared": _on_contexts_cleared,
        "Runtime.bindingCalled": _on_binding_called,
        "Log.entryAdded": _on_log_entry,
        "Page.windowOpen": _on_window_open,
        "Target.attachedToTarget": _on_attached_to_target,
        "Target.targetCreated": _on_target_created,
        "Target.targetInfoChanged": _on_target_info_changed,
        "Target.targetCrashed": _on_target_crashed,
        "Browser.downloadWillBegin": _on_download,
    })

"""What the Chromium engine does with each DevTools event: the page policy and the page's state.

:class:`PageEvents` is mixed into :class:`~roomagent.ui.chromium.session.ChromiumSession`, which owns
the attributes used here (``_target``, ``_page``, ``_allowed``, ``_url`` ...) and the helpers
(``_send``, ``_refuse``, ``_crashed``, ``_become_ready``). Split from the session only to keep each
file readable: the session starts, attaches and tears down; this module answers what happens.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from PySide6.QtCore import QTimer

from roomagent.core.hosts import host_allowed, redact_url, url_host
from roomagent.ui.bridge import parse_message
from roomagent.ui.chromium.process import FIRST_PAGE
from roomagent.ui.chromium.scripts import BINDING_NAME, TITLE_BINDING
from roomagent.ui.lockdown import navigation_verdict

log = logging.getLogger("roomagent.ui.chromium.session")

_LOCAL_RESOURCE_PREFIX = "Not allowed to load local resource: "
#: JS dialogs are answered as QtWebEngine's session answers them: alert OK, confirm/prompt Cancel,
#: leaving a page (beforeunload) allowed.
_DIALOG_ACCEPT = MappingProxyType({"alert": True, "beforeunload": True, "confirm": False, "prompt": False})
MEDIA_PERMISSIONS = ("audioCapture", "videoCapture")


def _start_ticks(pid: int) -> int:
    """When ``pid`` started (clock ticks since boot), -1 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return -1


class PageEvents:
    """The event handlers of a Chromium session (see the module docstring)."""

    def _on_event(self, method: str, params: dict[str, Any], session: str) -> None:
        if self._closed:
            return
        handler = self._HANDLERS.get(method)
        if handler is not None and (session == self._page or not method.startswith(self._PAGE_DOMAINS)):
            handler(self, params)

    def _on_request_paused(self, params: dict[str, Any]) -> None:
        request_id, url = params["requestId"], params["request"]["url"]
        main_frame = params.get("frameId") == self._target
        if main_frame and self._start_html is not None and url.split("#", 1)[0] == self._start_html[1].split("#", 1)[0]:
            body = base64.b64encode(self._start_html[0].encode("utf-8")).decode("ascii")
            self._send("Fetch.fulfillRequest", {"requestId": request_id, "responseCode": 200, "body": body,
                                                "responseHeaders": [{"name": "Content-Type",
                                                                     "value": "text/html; charset=utf-8"}]})
            self._grant_media(url)
            return
        kind = navigation_verdict(url, main_frame=main_frame, allowed_hosts=self._allowed)
        if kind is None:
            go_on = lambda *_: self._send("Fetch.continueRequest", {"requestId": request_id})  # noqa: E731
            # Granted before the document exists (the reply comes first), so its first getUserMedia is answered.
            if not (main_frame and self._grant_media(url, then=go_on)):
                go_on()
            return
        # Aborted, not BlockedByClient: an aborted navigation commits no error page, the old page stays.
        self._send("Fetch.failRequest", {"requestId": request_id, "errorReason": "Aborted"})
        self._refuse(kind, url, "main frame" if main_frame else "sub-frame")
        if main_frame and params.get("resourceType") == "Document":
            QTimer.singleShot(0, self, lambda: self.navigation_refused.emit(url))

    def _grant_media(self, url: str, then: Callable[..., None] | None = None) -> bool:
        """Grant camera and microphone to ``url``'s origin once (media session, allowed host); True when a
        grant went out, and ``then`` is called with its reply."""
        if not self.media:
            return False
        origin = "/".join(url.split("/", 3)[:3])
        if origin in self._granted or not host_allowed(url_host(url), self._allowed):
            return False
        self._granted.add(origin)
        self._send("Browser.grantPermissions", {"origin": origin, "permissions": list(MEDIA_PERMISSIONS)}, then,
                   session="")
        log.info("[%s] granted camera and microphone to %s", self.session_id, origin)
        return True

    def _on_frame_navigated(self, params: dict[str, Any]) -> None:
        frame = params["frame"]
        if frame.get("parentId"):
            return
        self._url = frame.get("url", "")
        self._failed_url = frame.get("unreachableUrl", "")

    def _on_load_event(self, _params: dict[str, Any]) -> None:
        if self._awaiting_first_page:
            self._become_ready()
            return
        # The browser's own start page (committed before we attached, so _url may still be empty) is
        # not a page the session asked for; a load of ours always follows its frameNavigated.
        if not self._url or self._url == FIRST_PAGE:
            return
        ok = not self._failed_url
        url = self._failed_url or self._url
        if ok:
            log.info("[%s] loaded %s", self.session_id, redact_url(url))
        else:
            log.warning("[%s] failed to load %s", self.session_id, redact_url(url))
        self.loaded.emit(ok, url)
        self._send("SystemInfo.getProcessInfo", {}, self._on_process_info, session="")

    def _on_process_info(self, result: dict[str, Any] | None, _error: str | None) -> None:
        # The protocol does not say which renderer draws which page. The newest one does: the page just
        # loaded, and a crashed renderer is replaced by a new process (older ones hold the start page).
        renderers = [int(p["id"]) for p in (result or {}).get("processInfo", []) if p.get("type") == "renderer"]
        if renderers:
            self._renderer_pid = max(renderers, key=_start_ticks)

    def _on_context_created(self, params: dict[str, Any]) -> None:
        context = params["context"]
        aux = context.get("auxData") or {}
        if aux.get("frameId") == self._target and aux.get("isDefault"):
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
            self._title = str(params.get("payload", ""))
            return
        if params.get("name") != BINDING_NAME:
            return
        value = parse_message(params.get("payload", ""))
        if value is None:
            log.debug("[%s] dropped a malformed page message", self.session_id)
            return
        self.message.emit(value)

    def _on_window_open(self, params: dict[str, Any]) -> None:
        self._refuse("popup", params.get("url", ""))

    def _on_attached_to_target(self, params: dict[str, Any]) -> None:
        # Only new pages are auto-attached (the filter); ours was attached by hand and is not among them.
        popup = params["targetInfo"]["targetId"]
        if self._target and popup != self._target:
            # Its document request is held (Fetch, never answered) so nothing is fetched; it is let go
            # from its debugger pause first, because its opener's renderer waits for it to start.
            child = params["sessionId"]
            self._send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=child)
            self._send("Runtime.runIfWaitingForDebugger", {}, session=child)
            self._send("Target.closeTarget", {"targetId": popup}, session="")
            log.info("[%s] closed a new window before it loaded", self.session_id)

    def _on_target_created(self, params: dict[str, Any]) -> None:
        # Safety net: any other page in this browser (one the auto-attach missed) is closed too.
        info = params["targetInfo"]
        if self._target and info.get("type") == "page" and info["targetId"] != self._target and info.get("attached") is False:
            self._send("Target.closeTarget", {"targetId": info["targetId"]}, session="")

    def _on_target_info_changed(self, params: dict[str, Any]) -> None:
        # Sent when a navigation commits (title then = the URL until the document names itself).
        info = params["targetInfo"]
        if info["targetId"] == self._target:
            self._title = info.get("title", "")

    def _on_target_crashed(self, params: dict[str, Any]) -> None:
        if params.get("targetId") == self._target:
            self._crashed(str(params.get("status", "crashed")), int(params.get("errorCode", 0)), restart=False)

    def _on_download(self, params: dict[str, Any]) -> None:
        self._refuse("download", params.get("url", ""))

    def _on_dialog(self, params: dict[str, Any]) -> None:
        kind = params.get("type", "alert")
        accept = _DIALOG_ACCEPT.get(kind, False)
        self._send("Page.handleJavaScriptDialog", {"accept": accept})
        log.info("[%s] answered %s() with %s: %s", self.session_id, kind, "OK" if accept else "Cancel",
                 params.get("message", ""))

    def _on_file_chooser(self, _params: dict[str, Any]) -> None:
        self._refuse("file", "file chooser")

    def _on_log_entry(self, params: dict[str, Any]) -> None:
        text = params.get("entry", {}).get("text", "")
        if text.startswith(_LOCAL_RESOURCE_PREFIX):
            # Chromium itself stops web pages from opening file: and chrome: URLs; this is the only trace.
            target = text[len(_LOCAL_RESOURCE_PREFIX):].strip()
            self._refuse(navigation_verdict(target, main_frame=True, allowed_hosts=()) or "navigation", target)

    # Events of the page's session; the browser-level ones (Target.*, Browser.*) come without one.
    _PAGE_DOMAINS = ("Fetch.", "Page.", "Runtime.", "Log.")
    _HANDLERS: MappingProxyType[str, Callable[[Any, dict[str, Any]], None]] = MappingProxyType({
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

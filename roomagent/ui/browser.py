"""The QtWebEngine screen engine: :class:`BrowserSession` implements the screen-session interface
(:class:`roomagent.ui.session.ScreenSession`, DESIGN.md §4). QtWebEngine types stay inside this module.

Each session owns one off-the-record ``QWebEngineProfile`` (cookies, cache and storage only in
memory), one page and one view, and is locked down: navigation only to allowed hosts, no popups,
downloads, file access, devtools or JS dialogs, camera/microphone only for the media session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import (
    QWebEngineLoadingInfo,
    QWebEnginePage,
    QWebEnginePermission,
    QWebEngineProfile,
    QWebEngineScript,
    QWebEngineSettings,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from roomagent.core.hosts import redact_url
from roomagent.ui.bridge import BOOTSTRAP_JS, CHANNEL_OBJECT, PageBridge, qwebchannel_js
from roomagent.ui.lifetime import delete_later
from roomagent.ui.lockdown import (  # noqa: F401 - re-exported: the lockdown is part of this interface
    CRASH_LIMIT,
    CRASH_WINDOW_S,
    REFUSAL_KINDS,
    CrashBudget,
    KioskLockdownError,
    navigation_verdict,
    remote_debugging_setting,
)
from roomagent.ui.page_policy import JsonCallback, blocked_local_resource, dialog_answer, json_wrapper, unwrap_json
from roomagent.ui.session import ScreenSession

log = logging.getLogger(__name__)
js_log = logging.getLogger(__name__ + ".js")

MEDIA_PERMISSIONS = frozenset(
    {
        QWebEnginePermission.PermissionType.MediaAudioCapture,
        QWebEnginePermission.PermissionType.MediaVideoCapture,
        QWebEnginePermission.PermissionType.MediaAudioVideoCapture,
    }
)
_W = QWebEnginePage.WebAction
_BLOCKED_ACTIONS: dict[QWebEnginePage.WebAction, str] = {
    _W.InspectElement: "devtools",
    _W.ViewSource: "devtools",
    _W.SavePage: "download",
    _W.DownloadLinkToDisk: "download",
    _W.DownloadImageToDisk: "download",
    _W.DownloadMediaToDisk: "download",
    _W.OpenLinkInNewWindow: "popup",
    _W.OpenLinkInNewTab: "popup",
    _W.OpenLinkInNewBackgroundTab: "popup",
}

class _KioskPage(QWebEnginePage):
    """A page that asks its session about every navigation and refuses dialogs, windows and files."""

    def __init__(self, profile: QWebEngineProfile, parent: QObject, session: BrowserSession) -> None:
        super().__init__(profile, parent)
        self._session = session

    def acceptNavigationRequest(
        self, url: QUrl, nav_type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        return self._session._check_navigation(url.toString(), nav_type, is_main_frame)

    def createWindow(self, window_type: QWebEnginePage.WebWindowType) -> QWebEnginePage | None:
        # Returning no page discards the new window; the refusal itself is reported from
        # newWindowRequested, which carries the URL.
        return None

    def triggerAction(self, action: QWebEnginePage.WebAction, checked: bool = False) -> None:
        kind = _BLOCKED_ACTIONS.get(action)
        if kind is not None:
            self._session._refuse(kind, f"action {action.name}")
            return
        super().triggerAction(action, checked)

    def javaScriptConsoleMessage(self, level, message: str, line: int, source: str) -> None:
        # Chromium refuses file: links from web pages itself, before Qt is asked; its console message
        # is the only trace of it, so it is turned into a "file" refusal.
        blocked = blocked_local_resource(message)
        if blocked is not None:
            self._session._refuse("file", blocked)
        js_log.debug("[%s] %s:%d %s", self._session.session_id, source, line, message)

    # A modal dialog on an unattended projector would block the meeting forever: answer for the user.
    def javaScriptAlert(self, origin: QUrl, message: str) -> None:
        self._answered("alert", origin, message)

    def javaScriptConfirm(self, origin: QUrl, message: str) -> bool:
        return self._answered("confirm", origin, message)

    def javaScriptPrompt(self, origin: QUrl, message: str, default: str) -> tuple[bool, str]:
        return self._answered("prompt", origin, message), ""

    def _answered(self, dialog: str, origin: QUrl, message: str) -> bool:
        accept = dialog_answer(dialog)
        sid, answer = self._session.session_id, "OK" if accept else "Cancel"
        log.info("[%s] answered %s() from %s with %s: %s", sid, dialog, origin.toString(), answer, message)
        return accept

    def chooseFiles(self, mode, old_files, mime_types) -> list[str]:
        self._session._refuse("file", "file chooser")
        return []


class BrowserSession(ScreenSession):
    """One locked-down QtWebEngine session (profile + page + view) for one screen and one meeting; the
    signals and the contract of each method are :class:`~roomagent.ui.session.ScreenSession`'s."""

    def __init__(
        self,
        session_id: str,
        allowed_hosts: list[str],
        media: bool,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(session_id, allowed_hosts, media, clock=clock)
        setting = remote_debugging_setting()
        if setting:
            raise KioskLockdownError(f"{setting} is set: a kiosk must not expose a remote debugging port")
        self._start_url = ""
        self._start_html: tuple[str, str] | None = None
        self._expect_html = False
        self._channel: QWebChannel | None = None

        # No parent: the profile must outlive the page, so close() deletes it only after the page.
        self._profile = QWebEngineProfile()  # no storage name = off the record, memory only
        self._profile.setPersistentPermissionsPolicy(
            QWebEngineProfile.PersistentPermissionsPolicy.AskEveryTime
        )
        self._profile.setSpellCheckEnabled(False)
        self._profile.downloadRequested.connect(self._on_download_requested)

        self._view = QWebEngineView(parent)
        self._view.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self._view.setObjectName(f"screen-view:{session_id}")
        self._page = _KioskPage(self._profile, self._view, self)
        self._page.setBackgroundColor(QColor("#101826"))  # no white flash on the projector while loading
        self._apply_settings(self._page.settings(), media)
        self._page.loadingChanged.connect(self._on_loading_changed)
        self._page.newWindowRequested.connect(self._on_new_window_requested)
        self._page.permissionRequested.connect(self._on_permission_requested)
        self._page.renderProcessTerminated.connect(self._on_render_process_terminated)
        self._page.fileSystemAccessRequested.connect(self._on_file_system_access_requested)
        self._page.registerProtocolHandlerRequested.connect(self._on_register_protocol_handler_requested)
        self._page.certificateError.connect(self._on_certificate_error)
        self._view.setPage(self._page)

    @staticmethod
    def _apply_settings(s: QWebEngineSettings, media: bool) -> None:
        A = QWebEngineSettings.WebAttribute
        s.setAttribute(A.JavascriptCanOpenWindows, False)
        s.setAttribute(A.JavascriptCanAccessClipboard, False)
        s.setAttribute(A.JavascriptCanPaste, False)
        s.setAttribute(A.LocalContentCanAccessFileUrls, False)
        s.setAttribute(A.LocalContentCanAccessRemoteUrls, False)
        s.setAttribute(A.PlaybackRequiresUserGesture, False)  # meeting audio starts without a click
        s.setAttribute(A.ScreenCaptureEnabled, media)  # the permission policy still denies desktop capture
        s.setAttribute(A.FullScreenSupportEnabled, False)
        s.setAttribute(A.ErrorPageEnabled, True)
        s.setAttribute(A.PdfViewerEnabled, False)  # a PDF becomes a (refused) download, not a viewer
        s.setAttribute(A.PluginsEnabled, False)
        s.setAttribute(A.NavigateOnDropEnabled, False)  # dropping a file would navigate to file:
        s.setAttribute(A.HyperlinkAuditingEnabled, False)
        s.setAttribute(A.AllowRunningInsecureContent, False)
        s.setAttribute(A.AllowGeolocationOnInsecureOrigins, False)
        s.setAttribute(A.ShowScrollBars, False)

    # -- the interface ---------------------------------------------------------------------------

    @property
    def widget(self) -> QWidget:
        return self._view

    @property
    def url(self) -> str:
        return "" if self._closed else self._page.url().toString()

    @property
    def title(self) -> str:
        return "" if self._closed else self._page.title()

    @property
    def renderer_pid(self) -> int:
        return 0 if self._closed else int(self._page.renderProcessPid())

    def load(self, url: str) -> None:
        self._check_open()
        self._policy.trust(url)
        self._start_url = url
        self._start_html = None
        self._budget.reset()
        log.info("[%s] loading %s", self.session_id, redact_url(url))
        self._page.load(QUrl(url))

    def load_html(self, html: str, base_url: str) -> None:
        self._check_open()
        self._policy.trust(base_url)
        self._start_url = ""
        self._start_html = (html, base_url)
        self._budget.reset()
        # setHtml navigates to a data: URL, which the lockdown refuses; this one navigation is ours.
        self._expect_html = True
        log.info("[%s] loading a local page as %s", self.session_id, redact_url(base_url))
        self._page.setHtml(html, QUrl(base_url))

    def unload(self) -> None:
        if self._closed or self._unloading:
            return
        self._unloading = True
        self._start_html = None
        self._start_url = "about:blank"
        self._page.load(QUrl("about:blank"))

    def enable_bridge(self) -> None:
        if self._channel is not None or self._closed:
            return
        bridge = PageBridge(self.session_id, self)
        bridge.message.connect(self.message)
        self._channel = QWebChannel(self._page)
        self._channel.registerObject(CHANNEL_OBJECT, bridge)
        self._page.setWebChannel(self._channel, QWebEngineScript.ScriptWorldId.MainWorld)
        self.add_script("roomagent-qwebchannel", qwebchannel_js())
        self.add_script("roomagent-bridge", BOOTSTRAP_JS)

    def add_script(self, name: str, source: str) -> None:
        # Main frame only: the meeting client lives there, and sub-frames may hold foreign content that
        # must not see our hooks.
        scripts = self._page.scripts()
        for old in scripts.find(name):
            scripts.remove(old)
        script = QWebEngineScript()
        script.setName(name)
        script.setSourceCode(source)
        script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
        script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
        script.setRunsOnSubFrames(False)
        scripts.insert(script)

    def run_json(self, js_expression: str, callback: JsonCallback) -> None:
        self._check_open()

        def _on_result(raw: object) -> None:
            if not self._closed:
                callback(*unwrap_json(raw, "script did not run (syntax error, or no document)"))

        self._page.runJavaScript(json_wrapper(js_expression), QWebEngineScript.ScriptWorldId.MainWorld, _on_result)

    def close(self) -> None:
        """Tear down view, page and then profile (cookies, storage, cache are gone with it). Idempotent.

        Deletion is deferred (safe to call from any slot): the view goes first, taking its page, and
        the profile follows once the page is really destroyed — the other order makes Qt warn.
        """
        if self._closed:
            return
        self._closed = True
        log.info("[%s] closing session", self.session_id)
        delete_later(self)  # never synchronously when the last reference goes (see ui/lifetime.py)
        view, page, profile = self._view, self._page, self._profile
        sid = self.session_id
        # Logged from the profile itself, so the log proves the meeting's cookies and storage are gone.
        profile.destroyed.connect(lambda *_: log.info("[%s] profile destroyed", sid))
        if not shiboken6.isValid(page):  # the parent widget took view and page with it already
            profile.deleteLater()
            return
        page.setAudioMuted(True)  # silence at once, even before the deferred deletion runs
        # The lambda keeps the profile's Python wrapper alive until the page is gone.
        page.destroyed.connect(lambda *_: profile.deleteLater())
        if shiboken6.isValid(view):
            view.hide()
            view.deleteLater()  # takes its child, the page
        else:
            page.deleteLater()

    # -- policy ----------------------------------------------------------------------------------

    def _check_navigation(self, url: str, nav_type: QWebEnginePage.NavigationType, main_frame: bool) -> bool:
        if self._closed:
            return False
        if self._expect_html and main_frame and url.startswith("data:text/html"):
            self._expect_html = False
            return True
        if self._unloading and main_frame and url == "about:blank":
            return True
        kind = self._policy.verdict(url, main_frame=main_frame)
        if kind is None:
            return True
        frame = "main frame" if main_frame else "sub-frame"
        self._refuse(kind, url, f"({nav_type.name}, {frame})")
        if main_frame:
            self._refuse_navigation(url)
        return False

    def _on_loading_changed(self, info: QWebEngineLoadingInfo) -> None:
        S = QWebEngineLoadingInfo.LoadStatus
        status = info.status()
        # Stopped = aborted (a refused navigation, a download): the old page is still shown.
        if self._closed or status not in (S.LoadSucceededStatus, S.LoadFailedStatus):
            return
        ok = status == S.LoadSucceededStatus
        url = info.url().toString()
        if ok:
            log.info("[%s] loaded %s", self.session_id, redact_url(url))
        else:
            log.warning("[%s] failed to load %s: %s", self.session_id, redact_url(url), info.errorString())
        self.loaded.emit(ok, url)

    def _on_new_window_requested(self, request) -> None:
        # Not calling request.openIn() discards the window.
        self._refuse("popup", request.requestedUrl().toString())

    def _on_download_requested(self, download) -> None:
        download.cancel()
        self._refuse("download", download.url().toString())

    def _on_file_system_access_requested(self, request) -> None:
        request.reject()
        self._refuse("file", f"file system access {request.filePath().toString()}")

    def _on_register_protocol_handler_requested(self, request) -> None:
        request.reject()
        self._refuse("permission", f"protocol handler {request.scheme()}")

    def _on_certificate_error(self, error) -> None:
        error.rejectCertificate()
        log.warning(
            "[%s] rejected certificate for %s: %s",
            self.session_id,
            error.url().toString(),
            error.description(),
        )

    def _on_permission_requested(self, permission: QWebEnginePermission) -> None:
        kind = permission.permissionType()
        origin = permission.origin().toString()
        origin_ok = self._policy.allows(origin)
        if self.media and origin_ok and kind in MEDIA_PERMISSIONS and not self._closed:
            permission.grant()
            log.info("[%s] granted %s to %s", self.session_id, kind.name, origin)
            return
        permission.deny()
        if not self.media:
            why = "not the media session"
        elif not origin_ok:
            why = "origin not allowed"
        else:
            why = "never granted"
        self._refuse("permission", f"{kind.name} for {origin}", f"({why})")

    def _on_render_process_terminated(
        self, status: QWebEnginePage.RenderProcessTerminationStatus, exit_code: int
    ) -> None:
        if self._closed:
            return
        name = status.name.removesuffix("TerminationStatus").lower()
        log.warning("[%s] renderer terminated: %s (exit code %d)", self.session_id, name, exit_code)
        if self._crash_allows_reload(name, exit_code):
            # Reload from the event loop, not from inside the termination notification.
            QTimer.singleShot(0, self, self._reload_after_crash)

    def reload(self) -> None:
        self._reload(QWebEnginePage.WebAction.ReloadAndBypassCache)

    def _reload_after_crash(self) -> None:
        self._reload(QWebEnginePage.WebAction.Reload)

    def _reload(self, action: QWebEnginePage.WebAction) -> None:
        if self._closed:
            return
        if self._start_html is not None:
            # A reload of a setHtml page would reload the data: URL; show the wrapper afresh instead.
            html, base = self._start_html
            self._expect_html = True
            self._page.setHtml(html, QUrl(base))
        elif self._page.url().isEmpty():
            self._page.load(QUrl(self._start_url))
        else:
            self._page.triggerAction(action)


class EngineWarmUp(QObject):
    """Starts Chromium's helper processes ahead of time with a throw-away page on ``about:blank``.

    The first QWebEngineProfile of a process costs ~120 ms and its first load ~50 ms more (measured by
    tests/bench/bench_join.py); paying that while the keypad waits for a teacher, instead of after the
    code is typed, halves the join time of a one- or two-screen room. It costs ~115 MiB PSS while idle,
    which the agent holds anyway after its first meeting. Keep the object until ``done`` fires.
    """

    done = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._profile: QWebEngineProfile | None = None
        self._page: QWebEnginePage | None = None

    def start(self) -> None:
        """Create the off-the-record profile and page and load ``about:blank``."""
        # Parented to this object so that dropping the Python references below never deletes them
        # out of order; the page goes first, then the profile, as in BrowserSession.close().
        self._profile = QWebEngineProfile(self)
        self._page = QWebEnginePage(self._profile, self)
        self._page.loadFinished.connect(self._on_load_finished)
        self._page.load(QUrl("about:blank"))

    def _on_load_finished(self, _ok: bool) -> None:
        # Not from inside the page's own signal: dispose on the next turn of the event loop.
        QTimer.singleShot(0, self, self.dispose)

    def dispose(self) -> None:
        """Delete the throw-away page, then its profile (the other order makes Qt warn). Idempotent;
        called when the warm-up is done, or at shutdown if it never finished."""
        page, profile = self._page, self._profile
        self._page = self._profile = None
        if page is None or profile is None:
            return
        shiboken6.delete(page)
        shiboken6.delete(profile)
        log.debug("browser engine warmed up")
        self.done.emit()

"""The screen-session interface: what a screen window and a meeting adapter may use of a browser session.

:class:`ScreenSession` declares the signals once and the methods every engine implements: QtWebEngine
in this process (:class:`roomagent.ui.browser.BrowserSession`) and Debian's Chromium over the DevTools
pipe (:class:`roomagent.ui.chromium.session.ChromiumSession`). Callers type against it and use nothing
else, so a meeting adapter runs unchanged on either engine (DESIGN.md §4).

It also holds the bookkeeping both engines share: the session's id and media flag, its
:class:`~roomagent.ui.page_policy.HostPolicy`, its :class:`~roomagent.ui.lockdown.CrashBudget`, the
closed/unloading flags, and how a refusal or a crash is reported.

PySide6 signals must be class attributes of a QObject subclass, and ``abc.ABCMeta`` does not combine
with PySide6's metaclass; so the abstract members are marked with :func:`abc.abstractmethod` as usual
and :func:`missing_members` enforces them: constructing an engine that lacks one raises ``TypeError``,
as an ABC would.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from roomagent.ui.lockdown import CRASH_WINDOW_S, CrashBudget
from roomagent.ui.page_policy import HostPolicy, JsonCallback

#: The signals of the interface, in the order they are documented.
SIGNALS = ("loaded", "refused", "crashed", "gave_up", "navigation_refused", "message")


def missing_members(cls: type) -> list[str]:
    """The abstract members of :class:`ScreenSession` that ``cls`` does not implement, and the signals it
    replaced by something else (an empty list for a complete engine)."""
    missing = [name for name in dir(ScreenSession)
               if getattr(getattr(cls, name, None), "__isabstractmethod__", False)]
    missing += [name for name in SIGNALS if not isinstance(getattr(cls, name, None), Signal)]
    return sorted(missing)


class ScreenSession(QObject):
    """One locked-down browser session for one screen and one meeting: the interface of both engines.

    Signals:

    * ``loaded(ok, url)`` when a main-frame load finishes (refused navigations do not count);
    * ``refused(kind, detail)`` for everything the lockdown blocked, kind in ``REFUSAL_KINDS``;
    * ``crashed(status, exit_code)`` when the renderer (or the browser) dies; the page is then reloaded;
    * ``gave_up(crashes)`` when it died ``CRASH_LIMIT`` times within ``CRASH_WINDOW_S`` and is left alone;
    * ``navigation_refused(url)``: the main frame was refused a navigation, e.g. a redirect to a host not
      on the allow-list, so the page it was heading for will never load (emitted after ``refused``);
    * ``message(obj)``: a JSON object a page script sent with ``window.__roomagent.post(obj)`` (after
      :meth:`enable_bridge`).

    Signals that report a refusal are emitted from the event loop, never from inside the engine's own
    callback, so a listener may even close the session in response.
    """

    loaded = Signal(bool, str)
    refused = Signal(str, str)
    crashed = Signal(str, int)
    gave_up = Signal(int)
    navigation_refused = Signal(str)
    message = Signal(object)

    def __init__(self, session_id: str, allowed_hosts: list[str], media: bool, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        missing = missing_members(type(self))
        if missing:
            raise TypeError(f"{type(self).__name__} does not implement the screen-session interface: "
                            f"{', '.join(missing)}")
        super().__init__()
        self.session_id = session_id
        #: True for the one session that carries the room's camera and microphone.
        self.media = media
        self._policy = HostPolicy(allowed_hosts)
        self._budget = CrashBudget(clock=clock)
        self._unloading = False
        self._closed = False
        # Each engine logs under its own module's name.
        self._log = logging.getLogger(type(self).__module__)
        self.setObjectName(f"{type(self).__name__}:{session_id}")

    # -- the interface ---------------------------------------------------------------------------

    @property
    @abstractmethod
    def widget(self) -> QWidget:
        """The widget that shows the page (put it in a layout; do not delete it yourself)."""

    @property
    @abstractmethod
    def url(self) -> str:
        """The URL of the page currently shown ('' before the first load or after close)."""

    @property
    @abstractmethod
    def title(self) -> str:
        """The page's document title ('' after close)."""

    @property
    @abstractmethod
    def renderer_pid(self) -> int:
        """Process id of the page's renderer (0 when none is known), for diagnostics."""

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    @property
    def unloading(self) -> bool:
        """True once :meth:`unload` was called."""
        return self._unloading

    @abstractmethod
    def load(self, url: str) -> None:
        """Load ``url``. Its host is trusted from now on (the caller vetted it); the crash budget restarts."""

    @abstractmethod
    def load_html(self, html: str, base_url: str) -> None:
        """Show ``html`` (a local wrapper page) as the document at ``base_url``: it gets that origin and
        its permissions, and ``base_url``'s host is trusted from now on."""

    @abstractmethod
    def unload(self) -> None:
        """Navigate the page to ``about:blank`` so its ``pagehide``/``unload`` handlers run (a meeting
        client says goodbye to its server there); ``loaded`` reports ``about:blank`` when done."""

    @abstractmethod
    def enable_bridge(self) -> None:
        """Let page scripts post JSON objects to :attr:`message` (``window.__roomagent.post``). Call before loading."""

    @abstractmethod
    def add_script(self, name: str, source: str) -> None:
        """Inject ``source`` at document creation in the main frame's main world, replacing a script of
        that name. Takes effect from the next document on, so add scripts before :meth:`load`."""

    @abstractmethod
    def run_json(self, js_expression: str, callback: JsonCallback) -> None:
        """Evaluate ``js_expression`` in the page, then ``callback(value, None)`` or ``callback(None, error)``.

        The value crosses as JSON (dict/list/str/number/bool/None); a thrown exception or a syntax error
        becomes the error string. Promises are not awaited. If the session closes first the callback is
        not called.
        """

    @abstractmethod
    def reload(self) -> None:
        """Reload the page shown, past the cache (a moderator's ``reload`` is meant to fetch it anew)."""

    @abstractmethod
    def close(self) -> None:
        """Tear the session down; its cookies, storage and cache are gone with it. Idempotent."""

    # -- shared by the engines -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"session {self.session_id} is closed")

    def _refuse(self, kind: str, detail: str, note: str = "") -> None:
        self._log.warning("[%s] refused %s: %s %s", self.session_id, kind, detail, note)
        # From the event loop, not from inside the engine's callback (see the class docstring).
        QTimer.singleShot(0, self, lambda: self.refused.emit(kind, detail))

    def _refuse_navigation(self, url: str) -> None:
        QTimer.singleShot(0, self, lambda: self.navigation_refused.emit(url))

    def _crash_allows_reload(self, status: str, exit_code: int) -> bool:
        """Report a crash; True while the crash budget allows another reload, else ``gave_up`` is emitted."""
        self.crashed.emit(status, exit_code)
        if self._closed:
            return False
        if self._budget.record():
            return True
        self._log.error("[%s] crashed %d times within %.0f s; not reloading", self.session_id,
                        self._budget.recent, CRASH_WINDOW_S)
        self.gave_up.emit(self._budget.recent)
        return False

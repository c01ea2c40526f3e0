"""The kiosk lockdown's decisions, free of Qt so they can be read and tested on their own.

Which navigations a screen may follow, when a crashing renderer stops being reloaded, and which
process settings would open the browser to the outside. ``roomagent.ui.browser`` applies them.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from roomagent.core.hosts import host_allowed, url_host

# A renderer that dies CRASH_LIMIT times within CRASH_WINDOW_S is not reloaded again: a page that
# kills its renderer every few seconds would otherwise flash on the projector forever. One minute
# is long enough to catch a crash loop and short enough that a rare crash never exhausts the budget.
CRASH_WINDOW_S = 60.0
CRASH_LIMIT = 3

REFUSAL_KINDS = frozenset({"navigation", "popup", "download", "file", "permission", "devtools"})
_DEVTOOLS_SCHEMES = frozenset({"devtools", "chrome-devtools", "view-source"})
_SUBFRAME_ABOUT = frozenset({"about:blank", "about:srcdoc"})
# Settings that would let someone reach the page's internals from outside the screen.
_REMOTE_DEBUG_FLAGS = ("--remote-debugging-port", "--remote-debugging-pipe", "--auto-open-devtools-for-tabs")


class KioskLockdownError(RuntimeError):
    """The process is configured in a way that breaks the kiosk lockdown (e.g. remote debugging)."""


def remote_debugging_setting(
    environ: Mapping[str, str] | None = None, argv: Sequence[str] | None = None
) -> str | None:
    """Name the setting that would open a Chromium remote-debugging port, or ``None`` if there is none."""
    env = os.environ if environ is None else environ
    args = sys.argv if argv is None else argv
    if env.get("QTWEBENGINE_REMOTE_DEBUGGING"):
        return "QTWEBENGINE_REMOTE_DEBUGGING"
    flags = env.get("QTWEBENGINE_CHROMIUM_FLAGS", "").split()
    for word in [*flags, *args]:
        if word.startswith(_REMOTE_DEBUG_FLAGS):
            return word.split("=", 1)[0]
    return None


def navigation_verdict(url: str, *, main_frame: bool, allowed_hosts: Iterable[str]) -> str | None:
    """Decide one navigation: ``None`` to allow it, else the refusal kind (see ``REFUSAL_KINDS``).

    http(s) to an allowed host is the only thing a main frame may do. Sub-frames may also be
    ``about:blank``/``about:srcdoc`` (how frames start life). file:, data:, javascript:, blob:,
    chrome: and every other scheme are refused.
    """
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return "navigation"
    if scheme == "file":
        return "file"
    if scheme in _DEVTOOLS_SCHEMES:
        return "devtools"
    if not main_frame and url.split("#", 1)[0].split("?", 1)[0].lower() in _SUBFRAME_ABOUT:
        return None
    return None if host_allowed(url_host(url), list(allowed_hosts)) else "navigation"


class CrashBudget:
    """Counts renderer crashes in a sliding window; says whether another reload is still allowed."""

    def __init__(
        self,
        limit: int = CRASH_LIMIT,
        window_s: float = CRASH_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._times: deque[float] = deque()

    def record(self) -> bool:
        """Note one crash now; True while fewer than ``limit`` crashes fell inside the window."""
        now = self._clock()
        self._times.append(now)
        while self._times and now - self._times[0] > self._window_s:
            self._times.popleft()
        return len(self._times) < self._limit

    @property
    def recent(self) -> int:
        """Crashes counted in the current window (as of the last :meth:`record`)."""
        return len(self._times)

    def reset(self) -> None:
        """Forget all crashes (a fresh start requested by the owner)."""
        self._times.clear()

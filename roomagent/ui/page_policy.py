"""The page policy both screen engines apply, written once and free of Qt.

Which hosts a session trusts (the allow-list plus every host the caller loaded), how a refused local
resource shows up in the console, how JS dialogs are answered, and how a value crosses from the page
to Python as JSON. The navigation verdict and the crash budget themselves are in
:mod:`roomagent.ui.lockdown`; this module is what the sessions of :mod:`roomagent.ui.browser` and
:mod:`roomagent.ui.chromium.session` have in common on top of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import Any

from roomagent.core.hosts import host_allowed, url_host
from roomagent.ui.lockdown import navigation_verdict

#: ``callback(value, None)`` or ``callback(None, error)``: how :meth:`ScreenSession.run_json` answers.
JsonCallback = Callable[[Any, "str | None"], None]

#: Chromium refuses file: (and chrome:) links from web pages itself, before the embedder is asked; a
#: console message starting with this is the only trace of it.
LOCAL_RESOURCE_PREFIX = "Not allowed to load local resource: "

#: A modal dialog on an unattended projector would block the meeting forever, so it is answered for
#: the user: alert OK, confirm and prompt Cancel, leaving a page (beforeunload) allowed.
DIALOG_ACCEPT = MappingProxyType({"alert": True, "beforeunload": True, "confirm": False, "prompt": False})


def dialog_answer(dialog: str) -> bool:
    """Whether a JS dialog of this type (``alert``, ``confirm``, ``prompt``, ``beforeunload``) is accepted."""
    return DIALOG_ACCEPT.get(dialog, False)


def blocked_local_resource(console_text: str) -> str | None:
    """The URL in Chromium's "not allowed to load local resource" console message, or None for any other."""
    if not console_text.startswith(LOCAL_RESOURCE_PREFIX):
        return None
    return console_text[len(LOCAL_RESOURCE_PREFIX) :].strip()


def json_wrapper(expression: str) -> str:
    """``expression`` wrapped so that its value (or the error it throws) comes back as one JSON string.

    Engines hand objects back badly (QtWebEngine's runJavaScript as ''), so everything crosses as a
    string, and errors are caught in the page so the caller learns what went wrong. The newline lets
    an expression end in a // comment.
    """
    return (
        "(() => { try { const v = (() => (" + expression + "\n))();"
        " return JSON.stringify({ok: true, value: v === undefined ? null : v}); }"
        " catch (e) { return JSON.stringify({ok: false, error: String(e)}); } })()"
    )


def unwrap_json(raw: object, no_result: str) -> tuple[Any, str | None]:
    """``(value, None)`` or ``(None, error)`` from what a :func:`json_wrapper` expression returned;
    ``no_result`` is the error when it returned no string at all (the script did not run)."""
    if not isinstance(raw, str) or not raw:
        return None, no_result
    try:
        reply = json.loads(raw)
    except ValueError as exc:
        return None, f"unreadable result: {exc}"
    if not isinstance(reply, dict):
        return None, "unreadable result: not an object"
    if reply.get("ok"):
        return reply.get("value"), None
    return None, str(reply.get("error") or "unknown error")


class HostPolicy:
    """The hosts one session may show: the room's allow-list plus each host it was told to load."""

    def __init__(self, allowed_hosts: Iterable[str]) -> None:
        self._hosts = list(allowed_hosts)

    @property
    def hosts(self) -> tuple[str, ...]:
        """The allowed hosts as they stand now."""
        return tuple(self._hosts)

    def trust(self, url: str) -> None:
        """Trust ``url``'s host from now on (the caller vetted it before loading it)."""
        host = url_host(url)
        if host and not host_allowed(host, self._hosts):
            self._hosts.append(host)

    def allows(self, url: str) -> bool:
        """True when ``url``'s (or an origin's) host is allowed."""
        return host_allowed(url_host(url), self._hosts)

    def verdict(self, url: str, *, main_frame: bool) -> str | None:
        """None to let a navigation to ``url`` go ahead, else its refusal kind (see ``navigation_verdict``)."""
        return navigation_verdict(url, main_frame=main_frame, allowed_hosts=self._hosts)

"""BigBlueButton's join API as the room uses it: Qt-free, synchronous httpx (run in a worker thread).

1. :func:`resolve_join` follows the join URL's redirects *by hand* — every hop must stay on an allowed
   host (Scalelite in front answers 302 to the real BBB host, which answers 302 to
   ``/html5client/join?sessionToken=…``) — keeping the cookies, because bbb-web binds the session to
   the ``JSESSIONID`` it sets on its API host.
2. :func:`get_join_url` mints one more session of the same user per room screen (BBB 3
   ``getJoinUrl``, documented for hybrid classrooms) with its own ``sessionName``, ``enforceLayout``
   and ``userdata-bbb_*``. A server without it (BBB 2.x) answers 404: :class:`NoGetJoinUrl`.
   bbb-web drops some of them *silently* (the call still succeeds): for a VIEWER caller, a server with
   BBB PR #21836 but without PR #22943 drops ``enforceLayout``, ``sessionName`` and every
   ``userdata-*``; later ones drop the keys on ``getJoinUrlUserdataBlocklist``. The minted URL carries
   what bbb-web kept (it signs it), so :attr:`MintedUrl.dropped` says what the room must do itself.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from roomagent.core.hosts import redact_url, url_allowed, url_host

#: Redirect hops accepted before giving up (Scalelite + BBB need 2; a loop must not hang the join).
MAX_HOPS = 6
_REDIRECTS = (301, 302, 303, 307, 308)


class BbbError(Exception):
    """The meeting server refused or answered something the room cannot use."""


class HostRefused(BbbError):
    """A redirect or minted URL points at a host that is not on the room's allow-list."""

    def __init__(self, message: str, host: str) -> None:
        super().__init__(message)
        self.host = host


class NoGetJoinUrl(BbbError):
    """The server has no getJoinUrl (BigBlueButton before 3.0)."""


@dataclass(frozen=True)
class BbbUser:
    """The room's user in the meeting: its session token and the API base that issued it."""

    api_base: str
    session_token: str
    client_url: str


@dataclass(frozen=True)
class MintedUrl:
    """A join URL from getJoinUrl and the requested parameters it does not carry as asked."""

    url: str
    #: e.g. ``("enforceLayout", "sessionName", "userdata-bbb_auto_join_audio", ...)``, sorted.
    dropped: tuple[str, ...] = ()


def make_client(timeout_s: float = 10.0) -> httpx.Client:
    """An httpx client for one meeting: no automatic redirects, a cookie jar of its own."""
    return httpx.Client(follow_redirects=False, timeout=timeout_s, headers={"User-Agent": "roomagent"})


def resolve_join(client: httpx.Client, join_url: str, allowed_hosts: tuple[str, ...]) -> BbbUser:
    """Follow the join redirects to the client URL and its ``sessionToken``."""
    url = join_url
    for _ in range(MAX_HOPS):
        try:
            response = client.get(url)
        except httpx.HTTPError as exc:
            raise BbbError(f"cannot reach {url_host(url)}: {exc}") from exc
        if response.status_code not in _REDIRECTS:
            raise BbbError(f"{url_host(url)} refused the join: {api_message(response)}")
        target = urljoin(url, response.headers.get("location", ""))
        if not url_allowed(target, allowed_hosts):
            host = url_host(target) or target
            raise HostRefused(f"the meeting server redirected to {host!r}, which is not on meeting.allowed_hosts",
                              host)
        parts = urlsplit(target)
        if "/html5client" in parts.path:
            token = (parse_qs(parts.query).get("sessionToken") or [""])[0]
            if not token:
                raise BbbError(f"{url_host(target)} sent the client without a session token")
            here = urlsplit(url)
            return BbbUser(api_base=f"{here.scheme}://{here.netloc}/bigbluebutton/api", session_token=token,
                           client_url=target)
        url = target
    raise BbbError(f"more than {MAX_HOPS} redirects from {redact_url(join_url)}")


def get_join_url(client: httpx.Client, user: BbbUser, *, session_name: str, enforce_layout: str | None,
                 userdata: dict[str, str | bool | int], allowed_hosts: tuple[str, ...]) -> MintedUrl:
    """A join URL for one more session of ``user``; raises :class:`NoGetJoinUrl` on a BBB 2.x server."""
    asked: dict[str, str] = {"sessionName": session_name}
    if enforce_layout:
        asked["enforceLayout"] = enforce_layout
    for key, value in userdata.items():
        asked[f"userdata-{key}"] = _text(value)
    params = {"sessionToken": user.session_token, **asked}
    try:
        response = client.get(f"{user.api_base}/getJoinUrl", params=params)
    except httpx.HTTPError as exc:
        raise BbbError(f"cannot reach {url_host(user.api_base)}: {exc}") from exc
    if response.status_code == 404:
        raise NoGetJoinUrl(f"{url_host(user.api_base)} has no getJoinUrl (BigBlueButton before 3.0)")
    try:
        body = response.json()["response"]
    except (ValueError, KeyError, TypeError):
        raise BbbError(f"getJoinUrl answered {response.status_code} without a JSON response") from None
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("returncode") != "SUCCESS" or not isinstance(url, str):
        key = body.get("messageKey", "") if isinstance(body, dict) else ""
        if key in ("unsupportedRequest", "notImplemented"):
            raise NoGetJoinUrl(f"{url_host(user.api_base)} does not offer getJoinUrl")
        message = body.get("message", "") if isinstance(body, dict) else ""
        raise BbbError(f"getJoinUrl refused: {key} {message}".strip())
    if not url_allowed(url, allowed_hosts):
        host = url_host(url) or url
        raise HostRefused(f"getJoinUrl handed out a link to {host!r}, not on meeting.allowed_hosts", host)
    return MintedUrl(url, dropped_params(url, asked))


def dropped_params(url: str, asked: Mapping[str, str]) -> tuple[str, ...]:
    """The names in ``asked`` that the join URL ``url`` does not carry with the asked value.

    Absent means dropped; another value means the new session inherited the caller's own (bbb-web
    merges the original session's ``enforceLayout``/``userdata-*`` into the clone).
    """
    query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}
    return tuple(sorted(name for name, value in asked.items() if query.get(name, "").strip() != value.strip()))


def api_message(response: httpx.Response) -> str:
    """The ``messageKey: message`` of a BBB XML/JSON error answer, or the status line."""
    text = response.text[:4096]
    try:
        root = ET.fromstring(text)
        key, message = root.findtext("messageKey") or "", root.findtext("message") or ""
        if key or message:
            return f"{key}: {message}".strip(": ")
    except ET.ParseError:
        pass
    return f"HTTP {response.status_code}"


def _text(value: str | bool | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

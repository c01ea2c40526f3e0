"""Recognising the meeting platform behind a join URL (the first, Qt-free step of every join)."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict

from roomagent.core.hosts import host_allowed

BBB_JOIN_PATH = "/bigbluebutton/api/join"
#: Path fragments of pages that *link* to a meeting (a lobby), not the meeting itself.
_LOBBY_HINTS = ("/rooms/", "/b/", "/mod/bigbluebuttonbn/")
#: A Jitsi room or tenant name: what Jitsi accepts in a URL path segment (no dots, no file names).
_JITSI_SEGMENT = re.compile(r"^[A-Za-z0-9_%-]{1,200}$")


class JoinTarget(BaseModel):
    """What a join URL points at: the platform, a stable meeting id and the host."""

    model_config = ConfigDict(frozen=True)

    platform: str  # "bbb" | "jitsi" | "generic"
    meeting_id: str
    host: str


class NotADirectLink(ValueError):
    """The URL is a lobby page (Greenlight, Moodle) rather than a join link the room can open."""


def describe_join_url(url: str, jitsi_hosts: tuple[str, ...] = ()) -> JoinTarget:
    """Classify ``url``. Raises :class:`NotADirectLink` for Greenlight/Moodle lobby pages.

    BigBlueButton: the join API path (also behind Scalelite, which answers on the same path).
    Jitsi Meet: ``https://host[/tenant]/room[?jwt=…]`` on a host listed in ``jitsi_hosts``, a host whose
    name says "jitsi", or any such link carrying a ``jwt``. Everything else is generic.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path.rstrip("/")
    query = parse_qs(parts.query)
    if path.endswith(BBB_JOIN_PATH):
        meeting_id = (query.get("meetingID") or [""])[0] or _digest(url)
        return JoinTarget(platform="bbb", meeting_id=meeting_id, host=host)
    if any(hint in parts.path for hint in _LOBBY_HINTS) and "/bigbluebutton/" not in parts.path:
        raise NotADirectLink(f"{host}{parts.path} is a meeting lobby page, not a direct join link")
    segments = [s for s in path.split("/") if s]
    jitsi_like = host_allowed(host, jitsi_hosts) or "jitsi" in host or "jwt" in query
    if jitsi_like and 1 <= len(segments) <= 2 and all(_JITSI_SEGMENT.match(s) for s in segments):
        return JoinTarget(platform="jitsi", meeting_id="/".join(segments).lower(), host=host)
    return JoinTarget(platform="generic", meeting_id=_digest(f"{host}{path}"), host=host)


def jitsi_room(url: str) -> tuple[str, str, str | None]:
    """``(tenant, room, jwt)`` of a Jitsi link (tenant '' when there is none)."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    jwt = (parse_qs(parts.query).get("jwt") or [None])[0]
    tenant = segments[0] if len(segments) == 2 else ""
    return tenant, segments[-1], jwt


def _digest(text: str) -> str:
    # A stable, non-reversible id: the join URL itself is a secret and must not leak into state.
    return hashlib.sha256(text.encode()).hexdigest()[:16]

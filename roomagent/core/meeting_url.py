"""Recognising the meeting platform behind a join URL (the first, Qt-free step of every join)."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict

BBB_JOIN_PATH = "/bigbluebutton/api/join"
#: Path fragments of pages that *link* to a meeting (a lobby), not the meeting itself.
_LOBBY_HINTS = ("/rooms/", "/b/", "/mod/bigbluebuttonbn/")


class JoinTarget(BaseModel):
    """What a join URL points at: the platform, a stable meeting id and the host."""

    model_config = ConfigDict(frozen=True)

    platform: str  # "bbb" | "jitsi" | "generic"
    meeting_id: str
    host: str


class NotADirectLink(ValueError):
    """The URL is a lobby page (Greenlight, Moodle) rather than a join link the room can open."""


def describe_join_url(url: str) -> JoinTarget:
    """Classify ``url``. Raises :class:`NotADirectLink` for Greenlight/Moodle lobby pages."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path.rstrip("/")
    if path.endswith(BBB_JOIN_PATH):
        query = parse_qs(parts.query)
        meeting_id = (query.get("meetingID") or [""])[0] or _digest(url)
        return JoinTarget(platform="bbb", meeting_id=meeting_id, host=host)
    if any(hint in parts.path for hint in _LOBBY_HINTS) and "bigbluebutton" not in parts.path:
        raise NotADirectLink(f"{host}{parts.path} is a meeting lobby page, not a direct join link")
    return JoinTarget(platform="generic", meeting_id=_digest(f"{host}{path}"), host=host)


def _digest(text: str) -> str:
    # A stable, non-reversible id: the join URL itself is a secret and must not leak into state.
    return hashlib.sha256(text.encode()).hexdigest()[:16]

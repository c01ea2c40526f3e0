"""Recognising the meeting platform behind a join URL (the first, Qt-free step of every join)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict

from roomagent.core.platforms import PLATFORMS, NotADirectLink

__all__ = ["JoinTarget", "NotADirectLink", "describe_join_url", "jitsi_room"]


class JoinTarget(BaseModel):
    """What a join URL points at: the platform, a stable meeting id and the host."""

    model_config = ConfigDict(frozen=True)

    platform: str  # "bbb" | "jitsi" | "generic"
    meeting_id: str
    host: str


def describe_join_url(url: str, hosts: Mapping[str, Sequence[str]] | None = None) -> JoinTarget:
    """Classify ``url`` by the platform records (:data:`roomagent.core.platforms.PLATFORMS`, in order).

    ``hosts``: platform name -> its configured hosts (``configured_hosts`` of the room's rules or of the
    directory's settings; both sides must pass the same to agree on the meeting id). Raises
    :class:`NotADirectLink` for Greenlight/Moodle lobby pages. Anything no platform claims is generic.
    """
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    hosts = hosts or {}
    for record in PLATFORMS:
        meeting_id = record.detect(url, parts, query, hosts.get(record.name, ()))
        if meeting_id is not None:
            return JoinTarget(platform=record.name, meeting_id=meeting_id, host=(parts.hostname or "").lower())
    raise AssertionError("the generic platform claims every URL")  # pragma: no cover


def jitsi_room(url: str) -> tuple[str, str, str | None]:
    """``(tenant, room, jwt)`` of a Jitsi link (tenant '' when there is none)."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    jwt = (parse_qs(parts.query).get("jwt") or [None])[0]
    tenant = segments[0] if len(segments) == 2 else ""
    return tenant, segments[-1], jwt

"""The meeting platforms, one record each: how a join URL is recognised, which adapter joins it, what it can
do, where layouts keep its settings and which configured hosts it runs on.

The room (core, ``app``, ``roomagent.meeting``) and the directory (the relay's meeting id) read this one
table; adding a platform is a record here and its adapter module (plus its layout settings in
``core/layouts.py`` when it has any). Qt-free and adapter-free: the adapter is named, not imported
(``roomagent.meeting.adapter_class`` resolves it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult

from roomagent.core.commands import Capability
from roomagent.core.hosts import host_allowed

BBB_JOIN_PATH = "/bigbluebutton/api/join"
#: Path fragments of pages that *link* to a meeting (a lobby), not the meeting itself.
_LOBBY_HINTS = ("/rooms/", "/b/", "/mod/bigbluebuttonbn/")
#: A Jitsi room or tenant name: what Jitsi accepts in a URL path segment (no dots, no file names).
_JITSI_SEGMENT = re.compile(r"^[A-Za-z0-9_%-]{1,200}$")


class NotADirectLink(ValueError):
    """The URL is a lobby page (Greenlight, Moodle) rather than a join link the room can open."""


class UnknownPlatform(KeyError):
    """A platform name that no record carries."""


#: ``detect(url, parts, query, hosts)``: the meeting id when the URL is this platform's, else ``None``;
#: ``hosts`` are the platform's configured hosts. May raise :class:`NotADirectLink`.
Detector = Callable[[str, SplitResult, Mapping[str, list[str]], Sequence[str]], "str | None"]


@dataclass(frozen=True)
class Platform:
    """One meeting platform."""

    #: Its name in state, replies and logs ("bbb", "jitsi", "generic").
    name: str
    #: Recognises its join URLs; records are tried in :data:`PLATFORMS` order.
    detect: Detector
    #: ``module:Class`` of its adapter (resolved by ``roomagent.meeting.adapter_class``).
    adapter: str
    #: What its adapter can do.
    capabilities: frozenset[Capability]
    #: The key of its settings in a layout's roles (``[layout.roles.main.<key>]``); None: it has none.
    layout_key: str | None = None
    #: The setting (room ``[meeting]`` and ``directory.toml`` alike) that lists the hosts it runs on.
    hosts_setting: str | None = None


def digest(text: str) -> str:
    """A stable, non-reversible id: the join URL itself is a secret and must not leak into state."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _detect_bbb(url: str, parts: SplitResult, query: Mapping[str, list[str]], hosts: Sequence[str]) -> str | None:
    # The join API path (also behind Scalelite, which answers on the same path); its lobby pages
    # (Greenlight, Moodle) are refused rather than taken for some other platform.
    if parts.path.rstrip("/").endswith(BBB_JOIN_PATH):
        return (query.get("meetingID") or [""])[0] or digest(url)
    if any(hint in parts.path for hint in _LOBBY_HINTS) and "/bigbluebutton/" not in parts.path:
        raise NotADirectLink(f"{(parts.hostname or '').lower()}{parts.path} is a meeting lobby page, "
                             "not a direct join link")
    return None


def _detect_jitsi(url: str, parts: SplitResult, query: Mapping[str, list[str]], hosts: Sequence[str]) -> str | None:
    # ``https://host[/tenant]/room[?jwt=…]`` on a configured host, a host whose name says "jitsi", or any
    # such link carrying a ``jwt``.
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.rstrip("/").split("/") if s]
    jitsi_like = host_allowed(host, tuple(hosts)) or "jitsi" in host or "jwt" in query
    if jitsi_like and 1 <= len(segments) <= 2 and all(_JITSI_SEGMENT.match(s) for s in segments):
        return "/".join(segments).lower()
    return None


def _detect_generic(url: str, parts: SplitResult, query: Mapping[str, list[str]], hosts: Sequence[str]) -> str:
    return digest(f"{(parts.hostname or '').lower()}{parts.path.rstrip('/')}")


BBB = Platform(name="bbb", detect=_detect_bbb, adapter="roomagent.meeting.bbb:BbbAdapter",
               capabilities=frozenset({Capability.MUTE, Capability.LAYOUT, Capability.SHARE}), layout_key="bbb")
JITSI = Platform(name="jitsi", detect=_detect_jitsi, adapter="roomagent.meeting.jitsi:JitsiAdapter",
                 capabilities=frozenset({Capability.MUTE, Capability.LAYOUT, Capability.SHARE}), layout_key="jitsi",
                 hosts_setting="jitsi_hosts")
GENERIC = Platform(name="generic", detect=_detect_generic, adapter="roomagent.meeting.generic:GenericAdapter",
                   capabilities=frozenset())
#: Every platform, in detection order: generic (any page) comes last.
PLATFORMS: tuple[Platform, ...] = (BBB, JITSI, GENERIC)


def platform(name: str) -> Platform:
    """The record called ``name``; :class:`UnknownPlatform` when there is none."""
    for record in PLATFORMS:
        if record.name == name:
            return record
    raise UnknownPlatform(f"unknown meeting platform {name!r} (known: {', '.join(p.name for p in PLATFORMS)})")


def configured_hosts(settings: object) -> dict[str, tuple[str, ...]]:
    """platform name -> its hosts, read from ``settings`` (a room's ``[meeting]`` or the directory's
    settings: both name the setting as the record's ``hosts_setting`` does)."""
    return {p.name: tuple(getattr(settings, p.hosts_setting, ()) or ())
            for p in PLATFORMS if p.hosts_setting is not None}

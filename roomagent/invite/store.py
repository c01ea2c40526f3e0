"""Invitations per meeting, and the request budgets, in this process's memory.

Memory is enough for the deployment this service is built for: one invite service per BBB host (or
per Scalelite), each meeting's moderators talking to the one on their own host. A restart forgets the
list of invited rooms (the codes and the rooms stay valid in the directory; a moderator invites the
room again to control it). Several instances behind one name would each see only their own invites.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Invite:
    """One invitation: the code a directory minted for a room user's join URL in a meeting."""

    id: str
    meeting: str  # the meeting's internal id: one instance of a meeting, never a later one of the same name
    code: str
    expires: str
    expires_at: float
    server: dict[str, str]
    room_user: str
    created_at: float
    status: str = "waiting"  # waiting | joined | left | expired
    room: dict[str, Any] | None = None

    def public(self, state: dict[str, Any] | None = None, error: dict[str, str] | None = None) -> dict[str, Any]:
        """The invite as ``GET /room`` shows it."""
        out = {"invite": self.id, "code": self.code, "expires": self.expires, "server": dict(self.server),
               "status": self.status, "room": self.room, "state": state}
        if error:
            out["error"] = error
        return out


@dataclass
class InviteStore:
    """Invites by meeting, newest last; at most ``keep`` per meeting."""

    keep: int
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _by_meeting: dict[str, OrderedDict[str, Invite]] = field(default_factory=dict)

    def add(self, invite: Invite) -> None:
        """Remember ``invite``; the meeting's oldest is forgotten beyond ``keep``."""
        with self._lock:
            invites = self._by_meeting.setdefault(invite.meeting, OrderedDict())
            invites[invite.id] = invite
            while len(invites) > self.keep:
                invites.popitem(last=False)

    def of_meeting(self, meeting: str) -> list[Invite]:
        """The meeting's invites, newest first."""
        with self._lock:
            return list(reversed(self._by_meeting.get(meeting, OrderedDict()).values()))

    def get(self, meeting: str, invite_id: str) -> Invite | None:
        """The invite ``invite_id`` if it belongs to ``meeting``."""
        with self._lock:
            return self._by_meeting.get(meeting, OrderedDict()).get(invite_id)


@dataclass
class Budget:
    """At most ``limit`` hits per key in any 60 s; thread-safe, bounded by ``max_keys``."""

    limit: int
    max_keys: int = 100_000
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _hits: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def take(self, key: str, now: float) -> int | None:
        """Count a hit for ``key``; ``None`` if allowed, else the seconds until one is allowed again."""
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - 60:
                hits.popleft()
            self._hits[key] = hits
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + 60 - now))
            hits.append(now)
            return None

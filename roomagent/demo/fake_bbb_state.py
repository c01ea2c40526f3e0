"""The fake BigBlueButton's memory: joined sessions, ended meetings and the record log.

:class:`FakeBbbState` is ``app.state.fake`` of a fake BBB (``fake_bbb.create_bbb_app``) and of a fake
Scalelite; every route module reads and changes the server only through it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from roomagent.demo.bbb_generations import DEFAULT_GENERATION, BbbGeneration
from roomagent.demo.fake_bbb_api import MeetingRegistry
from roomagent.demo.meeting_server import LoadLog


@dataclass
class BbbSession:
    """One joined client session, as bbb-web keeps it behind a ``sessionToken``."""

    token: str
    meeting: str
    full_name: str
    session_name: str
    enforce_layout: str
    userdata: dict[str, str]
    jsessionid: str
    parent: str | None
    user_id: str = ""
    ext_user_id: str = ""
    role: str = "VIEWER"
    presenter: bool = False
    kicked: bool = False
    mute_pending: bool = field(default=False, repr=False)

    def info(self) -> dict[str, Any]:
        """What ``enter`` tells the client page."""
        return {
            "meetingID": self.meeting,
            "fullname": self.full_name,
            "sessionName": self.session_name,
            "enforceLayout": self.enforce_layout,
            "userdata": dict(self.userdata),
            "sessionToken": self.token,
        }


class FakeBbbState:
    """Sessions, ended meetings and the record log of one fake server; safe to use from any thread."""

    def __init__(self, *, get_join_url: bool, layout_events: tuple[str, ...], status_poll_ms: int,
                 secret: str | None = None,
                 generation: BbbGeneration = DEFAULT_GENERATION) -> None:
        self.get_join_url = get_join_url
        #: Which upstream 3.0.x variant this server reproduces (``bbb_generations.py``).
        self.generation = generation
        #: With a secret: checksums are checked, joins need a created meeting and a role.
        self.secret = secret
        self.meetings = MeetingRegistry()
        self.layout_events = tuple(layout_events)
        self.status_poll_ms = status_poll_ms
        self._lock = threading.Lock()
        self._log = LoadLog()
        self._sessions: dict[str, BbbSession] = {}
        self._ended: set[str] = set()

    def record(self, kind: str, session: BbbSession | None = None, /, **fields: Any) -> None:
        """Append ``{"kind", "token", "session_name", "meeting", "t", **fields}`` to the log."""
        entry: dict[str, Any] = {"kind": kind}
        for key in ("token", "session_name", "meeting"):
            entry[key] = fields.pop(key, None)
        if session is not None:
            entry.update(token=session.token, session_name=session.session_name, meeting=session.meeting)
        entry.update(fields, t=time.time())
        self._log.add(entry)

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The log, oldest first, optionally only records of ``kind``."""
        return self._log.snapshot(kind)

    def reset(self) -> None:
        """Forget every record, session and ended meeting."""
        with self._lock:
            self._sessions.clear()
            self._ended.clear()
        self.meetings.clear()
        self._log.clear()

    def add_session(self, session: BbbSession) -> None:
        """Register a freshly joined session."""
        with self._lock:
            self._sessions[session.token] = session

    def session(self, token: str | None) -> BbbSession | None:
        """The session behind ``token``, if any."""
        with self._lock:
            return self._sessions.get(token or "")

    def attendees(self, meeting: str) -> list[BbbSession]:
        """The users in ``meeting`` (one entry per user id, however many sessions it has), oldest first."""
        with self._lock:
            if meeting in self._ended:
                return []
            users: dict[str, BbbSession] = {}
            for s in self._sessions.values():
                if s.meeting == meeting and not s.kicked:
                    users.setdefault(s.user_id, s)
            return list(users.values())

    def set_role(self, sessions: list[BbbSession], role: str) -> None:
        """Promote or demote the users of ``sessions`` (every session of each user)."""
        with self._lock:
            users = {s.user_id for s in sessions}
            for s in self._sessions.values():
                if s.user_id in users:
                    s.role = role

    def end(self, meeting: str) -> int:
        """Mark ``meeting`` ended; returns how many sessions were in it."""
        with self._lock:
            self._ended.add(meeting)
            created = self.meetings.get(meeting)
            if created is not None:
                created.ended = True
            return sum(1 for s in self._sessions.values() if s.meeting == meeting)

    def ended(self, meeting: str) -> bool:
        """True once :meth:`end` was called for ``meeting``."""
        with self._lock:
            return meeting in self._ended

    def select(self, session_name: str | None, token: str | None) -> list[BbbSession]:
        """Sessions matching ``token`` and/or ``session_name`` (none when neither is given)."""
        if not session_name and not token:
            return []
        with self._lock:
            return [
                s
                for s in self._sessions.values()
                if (not token or s.token == token) and (not session_name or s.session_name == session_name)
            ]

    def status(self, token: str) -> dict[str, Any]:
        """What the client page's poll sees; a pending moderator mute is delivered once."""
        with self._lock:
            s = self._sessions.get(token)
            if s is None:
                return {"ended": False, "kicked": False, "muted_by_moderator": False, "known": False}
            muted, s.mute_pending = s.mute_pending, False
            ended = s.meeting in self._ended
            return {"ended": ended, "kicked": s.kicked, "muted_by_moderator": muted, "known": True}

    def kick(self, sessions: list[BbbSession]) -> None:
        """Remove ``sessions`` from their meeting (their pages leave on the next poll)."""
        with self._lock:
            for s in sessions:
                s.kicked = True

    def moderator_mute(self, sessions: list[BbbSession]) -> None:
        """Let a moderator mute ``sessions`` (their pages flip the mic on the next poll)."""
        with self._lock:
            for s in sessions:
                s.mute_pending = True

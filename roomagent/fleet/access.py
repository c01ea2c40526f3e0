"""Who may use the dashboard, and the record of what they did.

* **password**: operators from ``[[auth.users]]`` sign in with a password checked against its argon2id
  hash (argon2-cffi); the plain password is never stored. A signed session cookie (Starlette's
  ``SessionMiddleware``, itsdangerous) then carries the operator's name and a CSRF token.
* **proxy**: a reverse proxy that has authenticated the operator (SSO, client certificates, ...) names
  them in a header (``X-Remote-User`` by default). The header is believed only from the proxy's
  addresses (``trusted_proxies``); from anyone else the request is refused, header or not.

Every state-changing request (sign-in aside) must carry the session's CSRF token; every action on a room
is appended to the audit log (JSON lines) with who, what, when and the room's reply.

**Roles** (:class:`Principal`): a *viewer* sees everything and may act on nothing; an *operator* acts on
every room, or only on rooms of their ``buildings`` (a room's building is its ``[[rooms]] building``; a room
not listed there has none, so only an operator of every building may act on it).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from roomagent.fleet.config import AuthSection, Role

#: A hash checked for unknown user names too, so a wrong name costs as long as a wrong password.
_DUMMY_PASSWORD = "not-a-user"


@dataclass(frozen=True)
class Principal:
    """A signed-in person and what they may do. ``buildings`` None: every room (an operator of all)."""

    name: str
    role: Role
    buildings: frozenset[str] | None = None

    @property
    def can_act(self) -> bool:
        """Whether any action control is shown at all."""
        return self.role == "operator"

    @property
    def scope(self) -> str:
        """What this account may do, in words (the page header, refusals)."""
        if self.role == "viewer":
            return "viewer (read only)"
        if self.buildings is None:
            return "operator (every room)"
        return f"operator ({', '.join(sorted(self.buildings))})"

    def may_act_in(self, building: str) -> bool:
        """Whether this account may act on rooms of ``building`` ("" for a room not in ``[[rooms]]``)."""
        return self.can_act and (self.buildings is None or building in self.buildings)

    def why_not(self, building: str) -> str:
        """Why an action on a room (or all rooms) of ``building`` is refused; "" when it is allowed."""
        if self.role == "viewer":
            return f"{self.name} is a viewer: viewers see every room but may not act"
        if not self.may_act_in(building):
            where = f"of {building}" if building else "that are in no building of the dashboard's list"
            return f"{self.name} may act only on rooms of {', '.join(sorted(self.buildings or ()))}, not on rooms {where}"
        return ""


class Authenticator:
    """Checks passwords or the proxy header against ``[auth]``, and tells each person's role."""

    def __init__(self, settings: AuthSection) -> None:
        self.settings = settings
        self._hasher = PasswordHasher()
        self._hashes = {user.name: user.password_hash for user in settings.users if user.password_hash}
        self._users = {user.name: user for user in settings.users}
        self._dummy: str | None = None

    def principal(self, name: str) -> Principal | None:
        """The role of a signed-in name; None for a session whose user is no longer in ``[[auth.users]]``
        (password mode: they must sign in again). A name the proxy sends that no entry lists gets
        ``default_role``."""
        user = self._users.get(name)
        if user is None:
            return Principal(name, self.settings.default_role) if self.proxy_mode else None
        return Principal(name, user.role, frozenset(user.buildings) if user.buildings is not None else None)

    @property
    def proxy_mode(self) -> bool:
        """Whether operators are named by a trusted reverse proxy."""
        return self.settings.mode == "proxy"

    def check_password(self, name: str, password: str) -> bool:
        """True when ``password`` is the operator's; the same work is done for unknown names."""
        stored = self._hashes.get(name)
        if stored is None:
            self._dummy = self._dummy or self._hasher.hash(_DUMMY_PASSWORD)
            stored, password = self._dummy, password + "\0"  # never matches
        try:
            return self._hasher.verify(stored, password) and name in self._hashes
        except (VerificationError, InvalidHashError):
            return False

    def proxy_user(self, peer: str | None, headers: Any) -> tuple[str | None, str]:
        """The operator a trusted proxy names: (name, "") or (None, why the request is refused)."""
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return None, "no client address"
        if not any(address in net for net in self.settings.trusted_proxies):
            return None, f"requests must come through the reverse proxy ({address} is not one of trusted_proxies)"
        name = (headers.get(self.settings.proxy_header) or "").strip()
        if not name:
            return None, f"the reverse proxy did not name an operator ({self.settings.proxy_header} is missing)"
        return name[:120], ""


class SignInLimiter:
    """Slows down password guessing: after ``max_failures`` refused sign-ins for one user name within
    ``window_s``, that name is refused (even with the right password) until the oldest failure is
    ``window_s`` old. Counted per name, not per address: behind a reverse proxy every operator comes
    from the proxy's address, and one person's typos must not lock everyone out."""

    #: Names remembered at most; beyond that the oldest are forgotten (a flood of made-up names).
    MAX_NAMES = 10_000

    def __init__(self, max_failures: int = 5, window_s: float = 300.0, clock=time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, list[float]] = {}

    def wait_s(self, name: str) -> float:
        """Seconds until ``name`` may try again; 0 when it may now."""
        now = self.clock()
        recent = [t for t in self._failures.get(name.lower(), []) if now - t < self.window_s]
        if recent:
            self._failures[name.lower()] = recent
        else:
            self._failures.pop(name.lower(), None)
        return self.window_s - (now - recent[0]) if len(recent) >= self.max_failures else 0.0

    def failed(self, name: str) -> None:
        """Count a refused sign-in."""
        self._failures.setdefault(name.lower(), []).append(self.clock())
        while len(self._failures) > self.MAX_NAMES:
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, name: str) -> None:
        """A correct password clears the count."""
        self._failures.pop(name.lower(), None)


def hash_password(password: str) -> str:
    """An argon2id hash for ``[[auth.users]] password_hash``."""
    return PasswordHasher().hash(password)


def new_csrf_token() -> str:
    """A random token kept in the session and sent back with every form."""
    return secrets.token_urlsafe(32)


def csrf_ok(session_token: str | None, sent: str | None) -> bool:
    """Whether the token sent with a request is the session's (constant-time comparison)."""
    return bool(session_token) and bool(sent) and hmac.compare_digest(session_token, sent)


class AuditLog:
    """Append-only JSON lines: one line per sign-in, sign-out and action, flushed at once."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, *, who: str, what: str, room: str | None = None, request: dict | None = None,
              reply: dict | None = None, outcome: str = "", peer: str | None = None, why: str | None = None,
              bulk: str | None = None) -> dict:
        """Append one record and return it. ``why``: the reason of a refusal; ``bulk``: the id shared by a bulk
        action's record and the records of each of its rooms."""
        record = {"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "ts": round(time.time(), 3), "who": who, "what": what,
                  "room": room, "request": request, "reply": reply, "outcome": outcome, "why": why, "bulk": bulk,
                  "peer": peer}
        line = json.dumps({k: v for k, v in record.items() if v is not None}, ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        return record

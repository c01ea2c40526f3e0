"""Where codes and the failed-redemption counters live: one small interface, two implementations.

Both operations that matter are atomic in each store: creating a code never overwrites another one,
and redeeming checks the client's block, consumes the code and counts a failure in one step, so two
requests (or two directory instances on one Redis) can never both receive the same join URL.

Times are plain ``float`` seconds handed in by the caller (the app's injected clock), never read here,
so tests can expire codes and rate windows without sleeping.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

#: The rate window is fixed by the setting's name: failed redemptions per client per minute.
RATE_WINDOW_S = 60.0


class StoreError(Exception):
    """Base of the errors a store raises; the app turns them into 503 answers."""


class StoreUnavailable(StoreError):
    """The backing service (Redis) cannot be reached or failed."""


class StoreFull(StoreError):
    """No room for another code, even after purging the expired ones."""


@dataclass(frozen=True, slots=True)
class Redeemed:
    """The code was valid; it is gone now."""

    join_url: str


@dataclass(frozen=True, slots=True)
class NotFound:
    """Unknown, malformed, expired or already used; counted as a failure for the client."""

    failures: int = 0  # the client's failures in its current window, this one included


@dataclass(frozen=True, slots=True)
class Blocked:
    """The client has too many failures in its window; nothing was looked up or counted."""

    retry_after_s: float

    @property
    def retry_after_header(self) -> str:
        """Whole seconds for ``Retry-After``, rounded up and at least one."""
        return str(max(1, math.ceil(self.retry_after_s)))


RedeemResult = Redeemed | NotFound | Blocked


class CodeStore(Protocol):
    """What the directory needs from a store."""

    kind: str

    async def open(self) -> None:
        """Prepare connections (called from the server's lifespan, inside its event loop)."""

    async def close(self) -> None:
        """Release connections."""

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers."""

    async def create(self, code: str, join_url: str, *, now: float, ttl_s: float) -> bool:
        """Store ``code`` unless it exists (and is unexpired); False means collision, pick another."""

    async def redeem(self, code: str | None, client: str, *, now: float, limit: int) -> RedeemResult:
        """Consume ``code`` for ``client`` (``None`` = malformed input, always a failure)."""


class MemoryStore:
    """A dict per process: for a single directory instance, the demo and the tests.

    Expired codes are purged from the front of an expiry queue in amortised constant time on every
    creation. Size is bounded: when full after the purge, :meth:`create` raises :class:`StoreFull`.
    The rate table is bounded too; when it is full, expired windows and then the oldest ones go first.
    No locks: the event loop runs one coroutine at a time and nothing here awaits.
    """

    kind = "memory"

    def __init__(self, max_codes: int = 100_000, max_clients: int = 100_000) -> None:
        self._max_codes = max_codes
        self._max_clients = max_clients
        self._codes: dict[str, tuple[float, str]] = {}
        # (expiry, code) in creation order: with one TTL for all codes that is also expiry order.
        self._expiries: deque[tuple[float, str]] = deque()
        # client -> [window start, failures in window]; insertion order is window-start order.
        self._failures: dict[str, list[float]] = {}

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Forget everything (a memory directory does not survive a restart anyway)."""
        self._codes.clear()
        self._expiries.clear()
        self._failures.clear()

    async def ping(self) -> None:
        """Always reachable."""

    def __len__(self) -> int:
        return len(self._codes)

    def _purge_codes(self, now: float) -> None:
        codes, expiries = self._codes, self._expiries
        while expiries and expiries[0][0] <= now:
            expires, code = expiries.popleft()
            entry = codes.get(code)
            if entry is not None and entry[0] == expires:
                del codes[code]
        if len(expiries) > 2 * self._max_codes:
            # Redeemed codes leave stale entries behind; rebuild from the live codes now and then so the
            # queue stays proportional to the table rather than to the request rate.
            self._expiries = deque(sorted((expires, code) for code, (expires, _url) in codes.items()))

    async def create(self, code: str, join_url: str, *, now: float, ttl_s: float) -> bool:
        """See :meth:`CodeStore.create`."""
        self._purge_codes(now)
        entry = self._codes.get(code)
        if entry is not None and entry[0] > now:
            return False
        if len(self._codes) >= self._max_codes:
            raise StoreFull(f"memory store holds {self._max_codes} live codes")
        self._codes[code] = (now + ttl_s, join_url)
        self._expiries.append((now + ttl_s, code))
        return True

    async def redeem(self, code: str | None, client: str, *, now: float, limit: int) -> RedeemResult:
        """See :meth:`CodeStore.redeem`."""
        window = self._failures.get(client)
        if window is not None and now >= window[0] + RATE_WINDOW_S:
            del self._failures[client]
            window = None
        if window is not None and window[1] >= limit:
            return Blocked(window[0] + RATE_WINDOW_S - now)
        if code is not None:
            entry = self._codes.pop(code, None)
            if entry is not None and entry[0] > now:
                return Redeemed(entry[1])
        if window is None:
            self._make_room_for_client(now)
            window = self._failures[client] = [now, 0.0]
        window[1] += 1
        return NotFound(int(window[1]))

    def _make_room_for_client(self, now: float) -> None:
        failures = self._failures
        if len(failures) < self._max_clients:
            return
        for client, (start, _count) in list(failures.items()):
            if len(failures) < self._max_clients and start + RATE_WINDOW_S > now:
                break
            # Expired windows go first; past them the oldest live ones are sacrificed to stay bounded.
            del failures[client]


def open_store(store_url: str, *, max_codes: int = 100_000, max_clients: int = 100_000) -> CodeStore:
    """Build (without connecting) the store a settings value names: ``memory`` or a Redis URL."""
    if store_url == "memory":
        return MemoryStore(max_codes=max_codes, max_clients=max_clients)
    from roomagent.directory.server.store_redis import RedisStore

    return RedisStore(store_url)

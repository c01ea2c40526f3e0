"""Where codes, relay records and the failed-redemption counters live: one interface, two implementations.

Both operations that matter are atomic in each store: creating a code never overwrites another one,
and redeeming checks the client's block, consumes the code and counts a failure in one step, so two
requests (or two directory instances on one Redis) can never both receive the same join URL.

Every code also gets a *relay record* (the meeting-scoped relay, README "Meeting-scoped relay"): who
created it, for which meeting, and, once redeemed, which room redeemed it and when. The record is a
separate entry with its own lifetime: while the code is pending it ends with the code; redemption
(in the same atomic step that consumes the code) restarts it for ``relay_ttl_s``. After it ends it is
kept as a tombstone for :data:`RELAY_TOMBSTONE_S` more, so its creator sees "expired" rather than
"unknown"; a code is never minted again while a relay record (tombstone included) holds it.

Failed redemptions are counted atomically with the lookup (README "Security model"). An anonymous
request counts twice: per *requester* (the client's network, plus the room id when the request names a
room with ``Room-Id``) against ``limit``, and per *network* against ``network_limit``, which bounds what
one network can guess however many room ids it invents. A room that proved who it is (``authenticated``,
checked by the service against the rooms file) counts once, under its own id wherever it is, and never
touches a network's count: nobody else's failures can lock it out, and redeeming codes buys no one any
extra guesses.

Times are plain ``float`` seconds handed in by the caller (the app's injected clock), never read here,
so tests can expire codes and rate windows without sleeping.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Literal, Protocol

#: The rate window is fixed by the setting's name: failed redemptions per client per minute.
RATE_WINDOW_S = 60.0
#: How long an ended relay record is kept so that its creator is told "expired", not "unknown".
RELAY_TOMBSTONE_S = 3600.0
#: ``relay_ttl_s`` when a caller does not say (the setting's default).
DEFAULT_RELAY_TTL_S = 43_200.0

RelayState = Literal["pending", "redeemed", "expired"]


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


@dataclass(frozen=True, slots=True)
class RelayNew:
    """What is known about a code's relay when it is created."""

    creator: str  # name of the meeting server (token) that created the code
    meeting_id: str  # describe_join_url(join_url).meeting_id; "" when the URL is not a direct link


@dataclass(frozen=True, slots=True)
class RoomTag:
    """The room that redeemed a code, as it named itself (``Room-Id``/``Room-Name``)."""

    id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class RelayRecord:
    """A code's relay record; ``redeemed_at`` is set once the code was redeemed."""

    creator: str
    meeting_id: str
    code_expires: float
    room: RoomTag | None = None
    redeemed_at: float | None = None
    relay_expires: float | None = None

    @property
    def ends(self) -> float:
        """When the relay stops: the code's expiry while pending, else the end of the relay's lifetime."""
        return self.relay_expires if self.relay_expires is not None else self.code_expires

    @property
    def gone_at(self) -> float:
        """When even the tombstone is forgotten."""
        return self.ends + RELAY_TOMBSTONE_S

    def state(self, now: float) -> RelayState:
        """``pending`` (not redeemed, code alive), ``redeemed`` (relay alive) or ``expired``."""
        if now >= self.ends:
            return "expired"
        return "pending" if self.redeemed_at is None else "redeemed"


class CodeStore(Protocol):
    """What the directory needs from a store."""

    kind: str

    async def open(self) -> None:
        """Prepare connections (called from the server's lifespan, inside its event loop)."""

    async def close(self) -> None:
        """Release connections."""

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers."""

    async def create(
        self, code: str, join_url: str, *, now: float, ttl_s: float, relay: RelayNew | None = None
    ) -> bool:
        """Store ``code`` (and its relay record) unless the code or a relay record of it is still alive.

        False means collision: pick another code.
        """

    async def redeem(
        self,
        code: str | None,
        client: str,
        *,
        now: float,
        limit: int,
        room: RoomTag | None = None,
        relay_ttl_s: float = DEFAULT_RELAY_TTL_S,
        network_limit: int | None = None,
        authenticated: bool = False,
    ) -> RedeemResult:
        """Consume ``code`` for ``client`` (``None`` = malformed input, always a failure).

        ``client`` is the requester's network (ratelimit.rate_network); with ``room`` the requester is that
        room on that network. Failures count against ``limit`` per requester and, unless ``network_limit``
        is ``None``, against ``network_limit`` per network. With ``authenticated`` (``room`` proved who it
        is) the requester is the room alone, wherever it is, and the network is neither checked nor counted.
        On success the code's relay record, if any, records ``room`` and lives ``relay_ttl_s`` from now.
        """

    async def relay(self, code: str, *, now: float) -> RelayRecord | None:
        """The relay record of ``code`` unless it is unknown or past its tombstone."""


class MemoryStore:
    """A dict per process: for a single directory instance, the demo and the tests.

    Expired codes are purged from the front of an expiry queue in amortised constant time on every
    creation. Size is bounded: when full after the purge, :meth:`create` raises :class:`StoreFull`.
    The rate table is bounded too; when it is full, expired windows and then the oldest ones go first.
    Relay records are kept in two insertion-ordered tables, pending and redeemed; with one lifetime per
    table, insertion order is expiry order, so purging is from the front too. Each table holds at most
    ``max_relays`` records; when one is full the oldest record in it is forgotten (its status is then
    404), so relays never make code creation fail.
    No locks: the event loop runs one coroutine at a time and nothing here awaits.
    """

    kind = "memory"

    def __init__(self, max_codes: int = 100_000, max_clients: int = 100_000, max_relays: int = 100_000) -> None:
        self._max_codes = max_codes
        self._max_clients = max_clients
        self._max_relays = max_relays
        # OrderedDict, not dict: records leave the pending table out of order (when redeemed), and finding
        # the first entry of a plain dict after many deletions at its front costs a scan over the holes.
        self._pending: OrderedDict[str, RelayRecord] = OrderedDict()
        self._redeemed: OrderedDict[str, RelayRecord] = OrderedDict()
        self._codes: dict[str, tuple[float, str]] = {}
        # (expiry, code) in creation order: with one TTL for all codes that is also expiry order.
        self._expiries: deque[tuple[float, str]] = deque()
        # rate key -> [window start, failures in window, limit]; insertion order is window-start order.
        self._failures: dict[str, list[float]] = {}
        # While the rate table holds nothing but active lockouts: until when (no rescans before then).
        self._full_until = 0.0

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Forget everything (a memory directory does not survive a restart anyway)."""
        self._codes.clear()
        self._expiries.clear()
        self._failures.clear()
        self._pending.clear()
        self._redeemed.clear()

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

    @staticmethod
    def _purge_relays(table: OrderedDict[str, RelayRecord], now: float) -> None:
        while table:
            code, record = next(iter(table.items()))
            if record.gone_at > now:
                return
            del table[code]

    def _add_relay(self, table: OrderedDict[str, RelayRecord], code: str, record: RelayRecord) -> None:
        while len(table) >= self._max_relays:
            table.popitem(last=False)
        table[code] = record

    def _find_relay(self, code: str, now: float) -> RelayRecord | None:
        record = self._redeemed.get(code) or self._pending.get(code)
        return record if record is not None and record.gone_at > now else None

    async def create(
        self, code: str, join_url: str, *, now: float, ttl_s: float, relay: RelayNew | None = None
    ) -> bool:
        """See :meth:`CodeStore.create`."""
        self._purge_codes(now)
        self._purge_relays(self._pending, now)
        self._purge_relays(self._redeemed, now)
        entry = self._codes.get(code)
        if entry is not None and entry[0] > now:
            return False
        if self._find_relay(code, now) is not None:
            return False
        if len(self._codes) >= self._max_codes:
            raise StoreFull(f"memory store holds {self._max_codes} live codes")
        self._codes[code] = (now + ttl_s, join_url)
        self._expiries.append((now + ttl_s, code))
        # A record of this code past its tombstone may linger out of order; the new code replaces it.
        self._pending.pop(code, None)
        self._redeemed.pop(code, None)
        if relay is not None:
            self._add_relay(self._pending, code, RelayRecord(relay.creator, relay.meeting_id, now + ttl_s))
        return True

    async def relay(self, code: str, *, now: float) -> RelayRecord | None:
        """See :meth:`CodeStore.relay`."""
        return self._find_relay(code, now)

    async def redeem(
        self,
        code: str | None,
        client: str,
        *,
        now: float,
        limit: int,
        room: RoomTag | None = None,
        relay_ttl_s: float = DEFAULT_RELAY_TTL_S,
        network_limit: int | None = None,
        authenticated: bool = False,
    ) -> RedeemResult:
        """See :meth:`CodeStore.redeem`."""
        if authenticated and room is not None:
            own_key, network_limit = f"a:{room.id}", None
        else:
            own_key = f"r:{client}|{room.id if room else ''}"
        own = self._window(own_key, now)
        if own is not None and own[1] >= limit:
            return Blocked(own[0] + RATE_WINDOW_S - now)
        net_key = f"n:{client}"
        net = self._window(net_key, now) if network_limit is not None else None
        if net is not None and net[1] >= network_limit:
            return Blocked(net[0] + RATE_WINDOW_S - now)
        if code is not None:
            entry = self._codes.pop(code, None)
            if entry is not None and entry[0] > now:
                record = self._pending.pop(code, None)
                if record is not None:
                    redeemed = RelayRecord(
                        record.creator, record.meeting_id, record.code_expires, room, now, now + relay_ttl_s
                    )
                    self._add_relay(self._redeemed, code, redeemed)
                return Redeemed(entry[1])
        own = own if own is not None else self._new_window(own_key, now, limit)
        if own is None:
            return self._table_full(now)
        if network_limit is not None:
            net = net if net is not None else self._new_window(net_key, now, network_limit)
            if net is not None:
                net[1] += 1
        own[1] += 1
        return NotFound(int(own[1]))

    def _window(self, key: str, now: float) -> list[float] | None:
        window = self._failures.get(key)
        if window is not None and now >= window[0] + RATE_WINDOW_S:
            del self._failures[key]
            return None
        return window

    def _new_window(self, key: str, now: float, limit: int) -> list[float] | None:
        """A fresh window for ``key``; ``None`` when the table is full of active lockouts."""
        failures = self._failures
        if len(failures) >= self._max_clients:
            if now < self._full_until:
                return None  # still nothing but lockouts: do not scan the whole table again
            # Oldest first: an expired window or one still under its limit may go; an active lockout never
            # does (forgetting it would hand its owner a fresh budget).
            victim = next(
                (k for k, (start, count, lim) in failures.items() if start + RATE_WINDOW_S <= now or count < lim),
                None,
            )
            if victim is None:
                self._full_until = next(iter(failures.values()))[0] + RATE_WINDOW_S  # the oldest lockout's end
                return None
            del failures[victim]
        window = failures[key] = [now, 0.0, float(limit)]
        return window

    def _table_full(self, now: float) -> Blocked:
        # Every tracked client is locked out: refuse this failure too (fail closed) rather than forget one.
        # Valid codes are unaffected: they were looked up before a window was needed.
        start = next(iter(self._failures.values()))[0]
        return Blocked(max(1.0, start + RATE_WINDOW_S - now))


def open_store(
    store_url: str, *, max_codes: int = 100_000, max_clients: int = 100_000, max_relays: int = 100_000
) -> CodeStore:
    """Build (without connecting) the store a settings value names: ``memory`` or a Redis URL."""
    if store_url == "memory":
        return MemoryStore(max_codes=max_codes, max_clients=max_clients, max_relays=max_relays)
    from roomagent.directory.server.store_redis import RedisStore

    return RedisStore(store_url)

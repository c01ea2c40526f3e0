"""Redis store: several directory instances share codes, relay records and rate-limit counters.

Each operation is one Lua script, so it is atomic on the server and costs one round trip. Keys carry a
real TTL (Redis forgets them by itself) and values carry their expiry time as well, compared with the
``now`` the caller passes in: that keeps the injected clock authoritative, exactly as in the memory
store. Each failure counter (per requester, per network, per authenticated room; store.py) is a hash
``{start, count}`` that expires with its window.
A relay record is a hash ``relay:<code>`` (``creator, meeting, code_expires, gone_at`` and, once
redeemed, ``redeemed_at, relay_expires, room_id, room_name``), written by the same scripts that create
and consume the code.
"""

from __future__ import annotations

import math

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from roomagent.directory.server.store import (
    DEFAULT_RELAY_TTL_S,
    RATE_WINDOW_S,
    RELAY_TOMBSTONE_S,
    Blocked,
    NotFound,
    Redeemed,
    RedeemResult,
    RelayNew,
    RelayRecord,
    RoomTag,
    StoreFull,
    StoreUnavailable,
)

KEY_PREFIX = "roomagent:directory:"
#: Redis calls are on the request path; a stuck Redis must turn into a 503 quickly, not hang clients.
SOCKET_TIMEOUT_S = 2.0

# KEYS[1] code key, KEYS[2] relay key; ARGV: now, ttl seconds, value "expires\njoin_url", "1" to write a
# relay record, creator, meeting id, code expiry, gone_at, relay key TTL in ms.
_CREATE = """
local old = redis.call('GET', KEYS[1])
if old then
  local sep = string.find(old, '\\n', 1, true)
  if sep and tonumber(string.sub(old, 1, sep - 1)) > tonumber(ARGV[1]) then return 0 end
end
local gone = redis.call('HGET', KEYS[2], 'gone_at')
if gone and tonumber(gone) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', math.ceil(tonumber(ARGV[2]) * 1000))
if gone then redis.call('DEL', KEYS[2]) end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[2], 'creator', ARGV[5], 'meeting', ARGV[6], 'code_expires', ARGV[7], 'gone_at', ARGV[8])
  redis.call('PEXPIRE', KEYS[2], ARGV[9])
end
return 1
"""

# KEYS[1] code key, KEYS[2] the requester's failure key, KEYS[3] relay key, KEYS[4] the network's failure
# key; ARGV: now, limit, window seconds, "1" when a code was given, then for the relay record:
# relay_expires, gone_at, key TTL in ms, "1" when a room is given, room id, "1" when a room name is given,
# room name; then the network limit ("0": the network is neither checked nor counted).
# Returns {"ok", join_url} | {"nf", failures} | {"blocked", seconds as text} (numbers as text: Lua numbers would
# come back truncated to integers).
_REDEEM = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
local function load(key)
  local rl = redis.call('HMGET', key, 'start', 'count')
  local start = tonumber(rl[1])
  local count = tonumber(rl[2]) or 0
  if start == nil or now >= start + window then
    return now, 0
  end
  return start, count
end
local function count(key, start, failures)
  redis.call('HSET', key, 'start', string.format('%.6f', start), 'count', failures)
  redis.call('PEXPIRE', key, math.max(1, math.ceil((start + window - now) * 1000)))
end
local own_start, own = load(KEYS[2])
if own >= tonumber(ARGV[2]) then
  return {'blocked', string.format('%.6f', own_start + window - now)}
end
local net_limit = tonumber(ARGV[12])
local net_start, net = load(KEYS[4])
if net_limit > 0 and net >= net_limit then
  return {'blocked', string.format('%.6f', net_start + window - now)}
end
if ARGV[4] == '1' then
  local v = redis.call('GETDEL', KEYS[1])
  if v then
    local sep = string.find(v, '\\n', 1, true)
    if sep and tonumber(string.sub(v, 1, sep - 1)) > now then
      local gone = redis.call('HGET', KEYS[3], 'gone_at')
      if gone and tonumber(gone) > now then
        -- A pending record has no room fields yet (creation wrote it afresh).
        local fields = {'redeemed_at', ARGV[1], 'relay_expires', ARGV[5], 'gone_at', ARGV[6]}
        if ARGV[8] == '1' then table.insert(fields, 'room_id'); table.insert(fields, ARGV[9]) end
        if ARGV[10] == '1' then table.insert(fields, 'room_name'); table.insert(fields, ARGV[11]) end
        redis.call('HSET', KEYS[3], unpack(fields))
        redis.call('PEXPIRE', KEYS[3], ARGV[7])
      end
      return {'ok', string.sub(v, sep + 1)}
    end
  end
end
count(KEYS[2], own_start, own + 1)
if net_limit > 0 then count(KEYS[4], net_start, net + 1) end
return {'nf', tostring(own + 1)}
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _record(fields: dict) -> RelayRecord | None:
    """A relay hash as a :class:`RelayRecord`; ``None`` when it is missing or incomplete."""
    values = {_text(k): _text(v) for k, v in fields.items()}
    try:
        room_id = values.get("room_id")
        redeemed_at = values.get("redeemed_at")
        relay_expires = values.get("relay_expires")
        return RelayRecord(
            creator=values["creator"],
            meeting_id=values["meeting"],
            code_expires=float(values["code_expires"]),
            room=RoomTag(room_id, values.get("room_name")) if room_id is not None else None,
            redeemed_at=float(redeemed_at) if redeemed_at is not None else None,
            relay_expires=float(relay_expires) if relay_expires is not None else None,
        )
    except (KeyError, ValueError):
        return None


class RedisStore:
    """Codes and failure counters in Redis (``redis.asyncio``); see the module docstring."""

    kind = "redis"

    def __init__(self, url: str, *, key_prefix: str = KEY_PREFIX) -> None:
        self._url = url
        self._prefix = key_prefix
        self._redis: aioredis.Redis | None = None
        self._create = None
        self._redeem = None

    async def open(self) -> None:
        """Create the client; connections are made lazily on first use (Redis may still be starting)."""
        self._redis = aioredis.Redis.from_url(
            self._url,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
            health_check_interval=30,
            # A pooled connection dies with a Redis restart and is only found dead when used: try once more
            # on a fresh connection instead of answering 503. Only connection errors, and only once: a
            # Redis that times out must still turn into a 503 within SOCKET_TIMEOUT_S, not twice that.
            # A retried redemption cannot succeed twice: GETDEL consumed the code if the first try ran.
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
        )
        self._create = self._redis.register_script(_CREATE)
        self._redeem = self._redis.register_script(_REDEEM)

    async def close(self) -> None:
        """Close the connection pool."""
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            raise StoreUnavailable("redis store is not open")
        return self._redis

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless Redis answers PING."""
        try:
            await self._client().ping()
        except RedisError as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc

    async def create(
        self, code: str, join_url: str, *, now: float, ttl_s: float, relay: RelayNew | None = None
    ) -> bool:
        """See :meth:`CodeStore.create`."""
        self._client()
        value = f"{now + ttl_s:.6f}\n{join_url}"
        keys = [self._prefix + "code:" + code, self._prefix + "relay:" + code]
        creator, meeting_id = (relay.creator, relay.meeting_id) if relay else ("", "")
        args = [f"{now:.6f}", ttl_s, value, "1" if relay else "0", creator, meeting_id]
        args += [f"{now + ttl_s:.6f}", f"{now + ttl_s + RELAY_TOMBSTONE_S:.6f}", _ms(ttl_s + RELAY_TOMBSTONE_S)]
        try:
            created = await self._create(keys=keys, args=args)
        except ResponseError as exc:
            if "OOM" in str(exc):
                raise StoreFull(f"redis: {exc}") from exc
            raise StoreUnavailable(f"redis: {exc}") from exc
        except RedisError as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc
        return bool(created)

    async def relay(self, code: str, *, now: float) -> RelayRecord | None:
        """See :meth:`CodeStore.relay`."""
        try:
            fields = await self._client().hgetall(self._prefix + "relay:" + code)
        except RedisError as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc
        record = _record(fields) if fields else None
        return record if record is not None and record.gone_at > now else None

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
        self._client()
        room_id = room.id if room else ""
        if authenticated and room is not None:
            own_key, network_limit = self._prefix + "failroom:" + room_id, None
        else:
            own_key = self._prefix + "fail:" + client + "|" + room_id
        keys = [self._prefix + "code:" + (code or ""), own_key, self._prefix + "relay:" + (code or "")]
        keys.append(self._prefix + "failnet:" + client)
        args = [f"{now:.6f}", limit, RATE_WINDOW_S, "1" if code else "0"]
        relay_end = now + relay_ttl_s
        args += [f"{relay_end:.6f}", f"{relay_end + RELAY_TOMBSTONE_S:.6f}", _ms(relay_ttl_s + RELAY_TOMBSTONE_S)]
        name = room.name if room is not None else None
        args += ["1" if room else "0", room.id if room else "", "1" if name is not None else "0", name or ""]
        args.append(network_limit or 0)
        try:
            reply = await self._redeem(keys=keys, args=args)
        except RedisError as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc
        tag = _text(reply[0])
        if tag == "ok":
            return Redeemed(_text(reply[1]))
        if tag == "blocked":
            seconds = float(_text(reply[1]))
            return Blocked(seconds if math.isfinite(seconds) else RATE_WINDOW_S)
        return NotFound(int(_text(reply[1])))

"""Redis store: several directory instances share codes and rate-limit counters.

Each operation is one Lua script, so it is atomic on the server and costs one round trip. Keys carry a
real TTL (Redis forgets them by itself) and values carry their expiry time as well, compared with the
``now`` the caller passes in: that keeps the injected clock authoritative, exactly as in the memory
store. The failure counter of a client is a hash ``{start, count}`` that expires with its window.
"""

from __future__ import annotations

import math

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from roomagent.directory.server.store import (
    RATE_WINDOW_S,
    Blocked,
    NotFound,
    Redeemed,
    RedeemResult,
    StoreFull,
    StoreUnavailable,
)

KEY_PREFIX = "roomagent:directory:"
#: Redis calls are on the request path; a stuck Redis must turn into a 503 quickly, not hang clients.
SOCKET_TIMEOUT_S = 2.0

# KEYS[1] code key; ARGV: now, ttl seconds, value "expires\njoin_url".
_CREATE = """
local old = redis.call('GET', KEYS[1])
if old then
  local sep = string.find(old, '\\n', 1, true)
  if sep and tonumber(string.sub(old, 1, sep - 1)) > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', math.ceil(tonumber(ARGV[2]) * 1000))
return 1
"""

# KEYS[1] code key, KEYS[2] failure key; ARGV: now, limit, window seconds, "1" when a code was given.
# Returns {"ok", join_url} | {"nf", failures} | {"blocked", seconds as text} (numbers as text: Lua numbers would
# come back truncated to integers).
_REDEEM = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
local rl = redis.call('HMGET', KEYS[2], 'start', 'count')
local start = tonumber(rl[1])
local count = tonumber(rl[2]) or 0
if start == nil or now >= start + window then
  start = now
  count = 0
end
if count >= tonumber(ARGV[2]) then
  return {'blocked', string.format('%.6f', start + window - now)}
end
if ARGV[4] == '1' then
  local v = redis.call('GETDEL', KEYS[1])
  if v then
    local sep = string.find(v, '\\n', 1, true)
    if sep and tonumber(string.sub(v, 1, sep - 1)) > now then
      return {'ok', string.sub(v, sep + 1)}
    end
  end
end
redis.call('HSET', KEYS[2], 'start', string.format('%.6f', start), 'count', count + 1)
redis.call('PEXPIRE', KEYS[2], math.max(1, math.ceil((start + window - now) * 1000)))
return {'nf', tostring(count + 1)}
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


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

    async def create(self, code: str, join_url: str, *, now: float, ttl_s: float) -> bool:
        """See :meth:`CodeStore.create`."""
        self._client()
        value = f"{now + ttl_s:.6f}\n{join_url}"
        try:
            created = await self._create(keys=[self._prefix + "code:" + code], args=[f"{now:.6f}", ttl_s, value])
        except ResponseError as exc:
            if "OOM" in str(exc):
                raise StoreFull(f"redis: {exc}") from exc
            raise StoreUnavailable(f"redis: {exc}") from exc
        except RedisError as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc
        return bool(created)

    async def redeem(self, code: str | None, client: str, *, now: float, limit: int) -> RedeemResult:
        """See :meth:`CodeStore.redeem`."""
        self._client()
        keys = [self._prefix + "code:" + (code or ""), self._prefix + "fail:" + client]
        args = [f"{now:.6f}", limit, RATE_WINDOW_S, "1" if code else "0"]
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

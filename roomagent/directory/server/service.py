"""What the directory does, without HTTP: authenticate meeting servers, mint codes, redeem them.

Logging rule: codes and join URLs are secrets for as long as a code lives, so they are never logged at
info level; the host of the join URL and the meeting server's name are enough to follow what happens.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from pydantic import ValidationError

from roomagent.core.codes import normalize_code
from roomagent.core.hosts import host_allowed, url_host
from roomagent.directory.server import models as m
from roomagent.directory.server.errors import ApiError, validation_message
from roomagent.directory.server.settings import DirectorySettings
from roomagent.directory.server.store import Blocked, CodeStore, Redeemed, StoreFull, StoreUnavailable

log = logging.getLogger("roomagent.directory")

#: Attempts at a fresh code before giving up; with 31**9 codes a second attempt is already rare.
CREATE_ATTEMPTS = 8
#: Longest ``Code`` header looked at; anything longer is malformed without being parsed.
MAX_CODE_HEADER = 64
NOT_FOUND_MESSAGE = "code not found or expired"
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def iso_utc(timestamp: float) -> str:
    """``2023-08-31T13:23:20+00:00``: whole seconds, explicit UTC offset, as the seed writes it."""
    return datetime.fromtimestamp(int(timestamp), tz=UTC).isoformat()


def checked_join_host(url: str, allowed: list[str]) -> str:
    """The host of ``url`` when it may be handed to a lecture room; else :class:`ApiError` 422 saying why."""
    if _SPACE_OR_CONTROL.search(url):
        raise ApiError(422, "join_url must not contain spaces or control characters")
    host = url_host(url)
    if host is None:
        raise ApiError(422, "join_url must be an http:// or https:// URL with a host")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ApiError(422, "join_url is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        raise ApiError(422, "join_url must not carry user credentials")
    if not host_allowed(host, allowed):
        raise ApiError(422, f"join_url host {host!r} is not on this directory's allow-list")
    return host


class Directory:
    """The directory's behaviour; the store is attached by the app's lifespan.

    ``clock`` gives the current time in seconds (tests advance a fake one), ``code_factory`` mints
    candidate codes (tests force collisions with it).
    """

    def __init__(
        self, settings: DirectorySettings, clock: Callable[[], float], code_factory: Callable[[], str]
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.code_factory = code_factory
        self.store: CodeStore | None = None
        self._tokens = [(name, secret.get_secret_value().encode()) for name, secret in settings.tokens.items()]
        self._allowed = list(settings.allowed_join_hosts)

    def live_store(self) -> CodeStore:
        """The open store, or :class:`StoreUnavailable` outside the app's lifespan."""
        if self.store is None:
            raise StoreUnavailable("store not open")
        return self.store

    def authenticate(self, authorization: str | None) -> str | None:
        """Name of the meeting server whose bearer secret this is, or ``None``."""
        if not authorization:
            return None
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return None
        given = secret.strip().encode()
        found = None
        # Compare against every secret without stopping early: timing reveals neither which nor whether.
        for name, expected in self._tokens:
            if hmac.compare_digest(given, expected):
                found = name
        return found

    def require_server(self, authorization: str | None) -> str:
        """Like :meth:`authenticate`, but a stranger gets 401 (before its body is even read)."""
        server = self.authenticate(authorization)
        if server is None:
            raise ApiError(401, "missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})
        return server

    async def create_code(self, server: str, body: bytes) -> m.MeetingCreated:
        """``POST /meeting`` for an authenticated meeting ``server``: validate the body, mint a code."""
        if not body.strip():
            raise ApiError(422, "request body: missing")
        try:
            request = m.MeetingCreateRequest.model_validate_json(body)
        except ValidationError as exc:
            raise ApiError(422, validation_message(exc.errors(), "body")) from None
        join_url = request.data.join_url
        host = checked_join_host(join_url, self._allowed)
        store = self.live_store()
        ttl = self.settings.code_ttl_s
        now = self.clock()
        for _ in range(CREATE_ATTEMPTS):
            code = self.code_factory()
            if await store.create(code, join_url, now=now, ttl_s=ttl):
                break
        else:
            raise StoreFull(f"no free code after {CREATE_ATTEMPTS} attempts")
        log.info("code created for host %s by meeting server %s", host, server)
        return m.MeetingCreated(data=m.CodeOut(code=code, expires=iso_utc(now + ttl)))

    async def redeem(self, code_header: str | None, client: str) -> m.MeetingRedeemed:
        """``GET /meeting``: one atomic step in the store (block check, consume, count the failure)."""
        code = normalize_code(code_header) if code_header and len(code_header) <= MAX_CODE_HEADER else None
        limit = self.settings.redeem_limit_per_min
        result = await self.live_store().redeem(code, client, now=self.clock(), limit=limit)
        if isinstance(result, Redeemed):
            if log.isEnabledFor(logging.INFO):  # parsing the URL again only pays when it is logged
                log.info("code redeemed for host %s", url_host(result.join_url))
            return m.MeetingRedeemed(data=m.JoinOut(join_url=result.join_url))
        if isinstance(result, Blocked):
            raise ApiError(429, "too many failed attempts; try again later", {"Retry-After": result.retry_after_header})
        if result.failures == limit:
            log.warning("client %s made %d failed redemptions; refused for the rest of its minute", client, limit)
        else:
            log.debug("failed redemption from %s", client)
        # Unknown, malformed, expired and used codes all get this same answer.
        raise ApiError(404, NOT_FOUND_MESSAGE)

"""What the directory does, without HTTP: authenticate meeting servers, mint codes, redeem them, relay.

Logging rule: codes and join URLs are secrets for as long as a code lives, so they are never logged at
info level; the host of the join URL, the meeting server's name and the room id are enough to follow
what happens.

The meeting-scoped relay (README "Meeting-scoped relay"): the meeting server that created a code may
ask whether it was redeemed and by which room (``GET /meeting/status``) and send that room commands
(``POST /meeting/command``), scoped by the directory to the code's meeting, for ``relay_ttl_s`` after
redemption. Another meeting server sees the same 404 as for an unknown code.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from roomagent.core.codes import normalize_code
from roomagent.core.commands import COMMAND
from roomagent.core.hosts import host_allowed, url_host
from roomagent.core.ids import ROOM_ID
from roomagent.core.meeting_url import NotADirectLink, describe_join_url
from roomagent.core.platforms import configured_hosts
from roomagent.directory.server import models as m
from roomagent.directory.server.errors import ApiError, validation_message
from roomagent.directory.server.relay import MqttRelay, RelayLost, RelayUnavailable
from roomagent.directory.server.rooms import RoomCredentials
from roomagent.directory.server.settings import DirectorySettings
from roomagent.directory.server.store import (
    Blocked,
    CodeStore,
    NotFound,
    Redeemed,
    RelayNew,
    RelayRecord,
    RoomTag,
    StoreFull,
    StoreUnavailable,
)

log = logging.getLogger("roomagent.directory")

#: Attempts at a fresh code before giving up; with 31**9 codes a second attempt is already rare.
CREATE_ATTEMPTS = 8
#: Longest ``Code`` header looked at; anything longer is malformed without being parsed.
MAX_CODE_HEADER = 64
NOT_FOUND_MESSAGE = "code not found or expired"
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: ``Room-Id``: the room's id as used in its MQTT topics.
#: Longest room name kept (after percent-decoding).
MAX_ROOM_NAME = 200
BROKER_UNAVAILABLE = (503, "message broker unavailable; try again shortly", {"Retry-After": "5"})


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


def meeting_id_of(join_url: str, settings: DirectorySettings) -> str:
    """The meeting id the room agent will compute for ``join_url``; ``""`` for a lobby page it refuses.

    The same platform detection as the room's, with the hosts configured here (``jitsi_hosts``), which
    must be those of the rooms' ``[meeting]``: a Jitsi host known only there is otherwise generic here.
    """
    try:
        return describe_join_url(join_url, configured_hosts(settings)).meeting_id
    except NotADirectLink:
        return ""


def parse_room(room_id: str | None, room_name: str | None) -> RoomTag | None:
    """The ``Room-Id``/``Room-Name`` headers of a redemption; :class:`ApiError` 422 when malformed.

    ``Room-Name`` is percent-encoded UTF-8 and only counts together with ``Room-Id``.
    """
    if room_id is None:
        return None
    if not ROOM_ID.fullmatch(room_id):
        raise ApiError(422, "header Room-Id: must be 1-64 lower-case letters, digits and '-', not starting with '-'")
    if not room_name:
        return RoomTag(room_id)
    if not all(" " <= ch <= "~" for ch in room_name):
        raise ApiError(422, "header Room-Name: must be percent-encoded UTF-8")
    try:
        name = unquote(room_name, encoding="utf-8", errors="strict").strip()
    except UnicodeDecodeError:
        raise ApiError(422, "header Room-Name: must be percent-encoded UTF-8") from None
    if _CONTROL.search(name):
        raise ApiError(422, "header Room-Name: must not contain control characters")
    if len(name) > MAX_ROOM_NAME:
        raise ApiError(422, f"header Room-Name: longer than {MAX_ROOM_NAME} characters")
    return RoomTag(room_id, name or None)


def _bearer(authorization: str) -> str:
    """The secret of ``Authorization: Bearer <secret>``; ``""`` (never valid) for any other scheme."""
    scheme, _, secret = authorization.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


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
        self.relay: MqttRelay | None = None  # attached by the lifespan when [mqtt] url is set
        self._tokens = [(name, secret.get_secret_value().encode()) for name, secret in settings.tokens.items()]
        self._allowed = list(settings.allowed_join_hosts)
        # Per-room credentials (rooms.py): None without a rooms_file, then every room is anonymous.
        self.credentials = RoomCredentials(settings.rooms_file) if settings.rooms_file else None

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
        relay = RelayNew(creator=server, meeting_id=meeting_id_of(join_url, self.settings))
        store = self.live_store()
        ttl = self.settings.code_ttl_s
        now = self.clock()
        for _ in range(CREATE_ATTEMPTS):
            code = self.code_factory()
            if await store.create(code, join_url, now=now, ttl_s=ttl, relay=relay):
                break
        else:
            raise StoreFull(f"no free code after {CREATE_ATTEMPTS} attempts")
        log.info("code created for host %s by meeting server %s", host, server)
        return m.MeetingCreated(data=m.CodeOut(code=code, expires=iso_utc(now + ttl)))

    def room_refusal(self, room: RoomTag | None, authorization: str | None) -> str | None:
        """Why this redemption's room identity is refused (401), or ``None`` when it may go on.

        A credential that does not verify, a registered room's id without its credential, and (with
        ``require_room_credentials``) a request without any are refused; an unregistered room id without a
        credential is anonymous.
        """
        credentials = self.credentials
        if authorization:
            if room is None:
                return "a room credential needs the room's Room-Id header"
            if credentials is None or not credentials.verify(room.id, _bearer(authorization)):
                return f"room credential not accepted for room {room.id}"
            return None
        if credentials is not None and room is not None and credentials.registered(room.id):
            return f"room {room.id} must prove who it is: send Authorization: Bearer <its secret>"
        if self.settings.require_room_credentials:
            return "this directory redeems codes only for rooms with a credential (Room-Id and Authorization)"
        return None

    async def redeem(
        self,
        code_header: str | None,
        client: str,
        room_id: str | None = None,
        room_name: str | None = None,
        authorization: str | None = None,
    ) -> m.MeetingRedeemed:
        """``GET /meeting``: one atomic step in the store (block checks, consume, count the failure).

        ``client`` is the requester's network (:func:`~roomagent.directory.server.ratelimit.rate_network`).

        Malformed ``Room-Id``/``Room-Name`` headers are refused (422) before anything is looked up, so
        they neither consume the code nor count as a failure. A room that proves who it is (``Room-Id`` and
        ``Authorization: Bearer <its secret>``) is counted on its own, apart from any network; a refused
        credential is a failure of the network it came from (401), never of the room it named.
        """
        room = parse_room(room_id, room_name)
        refusal = self.room_refusal(room, authorization)
        if refusal is not None:
            await self._refuse_room(refusal, client, room)
        code = self._code(code_header)
        limit = self.settings.redeem_limit_per_min
        # Past the refusal check, a request with a credential is one whose credential verified.
        authenticated = room is not None and bool(authorization)
        result = await self.live_store().redeem(
            code,
            client,
            now=self.clock(),
            limit=limit,
            room=room,
            relay_ttl_s=self.settings.relay_ttl_s,
            network_limit=self.settings.redeem_limit_per_network_per_min,
            authenticated=authenticated,
        )
        if isinstance(result, Redeemed):
            if log.isEnabledFor(logging.INFO):  # parsing the URL again only pays when it is logged
                who = f" by room {room.id}" if room else ""
                log.info("code redeemed for host %s%s", url_host(result.join_url), who)
            return m.MeetingRedeemed(data=m.JoinOut(join_url=result.join_url))
        if isinstance(result, Blocked):
            raise ApiError(429, "too many failed attempts; try again later", {"Retry-After": result.retry_after_header})
        if result.failures == limit:
            if authenticated:
                who = f"authenticated room {room.id}"
            else:
                who = f"room {room.id} on {client}" if room else client
            log.warning("%s made %d failed redemptions; refused for the rest of its minute", who, limit)
        else:
            log.debug("failed redemption from %s", client)
        # Unknown, malformed, expired and used codes all get this same answer.
        raise ApiError(404, NOT_FOUND_MESSAGE)

    async def _refuse_room(self, refusal: str, client: str, room: RoomTag | None) -> None:
        """Count a refused room identity as a failure of ``client``'s network (never of the room); raise 401/429.

        No code is looked up (a forged ``Room-Id`` can neither use nor burn a code), and the failure is
        counted as the network's anonymous one, so whoever forges a room's id spends their own budget.
        """
        limit = self.settings.redeem_limit_per_min
        result = await self.live_store().redeem(
            None, client, now=self.clock(), limit=limit, network_limit=self.settings.redeem_limit_per_network_per_min
        )
        if isinstance(result, Blocked):
            raise ApiError(429, "too many failed attempts; try again later", {"Retry-After": result.retry_after_header})
        named = f" naming room {room.id}" if room else ""
        if isinstance(result, NotFound) and result.failures == limit:
            log.warning("%s made %d failed redemptions (the last: a refused room credential%s); "
                        "refused for the rest of its minute", client, limit, named)
        else:
            log.info("room credential refused from %s%s", client, named)
        raise ApiError(401, refusal, {"WWW-Authenticate": 'Bearer realm="rooms"'})

    @staticmethod
    def _code(code_header: str | None) -> str | None:
        return normalize_code(code_header) if code_header and len(code_header) <= MAX_CODE_HEADER else None

    async def _own_relay(self, server: str, code_header: str | None) -> RelayRecord:
        """The relay record of the code, if ``server`` created it; else the one 404 of unknown codes."""
        code = self._code(code_header)
        record = await self.live_store().relay(code, now=self.clock()) if code else None
        if record is None or record.creator != server:
            raise ApiError(404, NOT_FOUND_MESSAGE)
        return record

    async def relay_status(self, server: str, code_header: str | None) -> m.MeetingStatus:
        """``GET /meeting/status`` for the authenticated meeting ``server``."""
        record = await self._own_relay(server, code_header)
        room = m.RoomOut(id=record.room.id, name=record.room.name) if record.room else None
        redeemed_at = iso_utc(record.redeemed_at) if record.redeemed_at is not None else None
        status = m.RelayStatusOut(status=record.state(self.clock()), room=room, redeemed_at=redeemed_at)
        return m.MeetingStatus(data=status)

    async def relay_command(self, server: str, code_header: str | None, body: bytes) -> dict[str, Any]:
        """``POST /meeting/command``: validate, scope to the code's meeting, publish, return the room's reply."""
        if not body.strip():
            raise ApiError(422, "request body: missing")
        try:
            command = COMMAND.validate_json(body)
        except ValidationError as exc:
            raise ApiError(422, validation_message(exc.errors(), "body")) from None
        relay = self.relay
        if relay is None:
            raise ApiError(501, "relay not configured: this directory has no [mqtt] broker")
        record = await self._own_relay(server, code_header)
        state = record.state(self.clock())
        if state == "pending":
            raise ApiError(409, "the room has not joined yet")
        if state == "expired":
            raise ApiError(410, "the relay for this code has expired")
        if record.room is None:
            raise ApiError(409, "the room that redeemed the code did not name itself; it cannot be reached")
        if not record.meeting_id:
            raise ApiError(409, "the code's join URL is not a direct meeting link; the room cannot be in it")
        # The scope is the directory's guarantee: whatever meeting the caller named, this one applies.
        command = command.model_copy(
            update={"meeting": record.meeting_id, "id": command.id or "relay-" + secrets.token_hex(8)}
        )
        payload = command.model_dump_json(exclude_none=True).encode()
        try:
            raw = await relay.request(record.room.id, payload, self.settings.relay_timeout_s)
        except RelayUnavailable as exc:
            log.warning("relay: %s; command for room %s refused", exc, record.room.id)
            raise ApiError(*BROKER_UNAVAILABLE) from None
        except RelayLost as exc:
            raise ApiError(504, f"no reply from the room: {exc}") from None
        except TimeoutError:
            log.info("relay: room %s did not answer %s in time", record.room.id, command.action)
            raise ApiError(504, "the room did not answer in time") from None
        try:
            reply = json.loads(raw)
            m.RoomReply.model_validate(reply)
        except (ValueError, ValidationError):
            log.warning("relay: room %s answered something that is not a command reply", record.room.id)
            raise ApiError(502, "the room's answer is not a command reply") from None
        log.info(
            "command %s relayed to room %s for meeting server %s: %s",
            command.action, record.room.id, server, reply["status"],
        )
        return reply

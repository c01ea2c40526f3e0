"""The directory's HTTP API (FastAPI): the seed's MediaAuthService contract (DESIGN.md §3.1).

``/server``, ``/server/{id}`` and ``/healthz`` are ordinary FastAPI routes. ``/meeting`` is served by
:class:`~roomagent.directory.server.fastpath.MeetingEndpoint` for speed; its contract is declared below
with FastAPI (models, headers, answers) so ``/openapi.json`` documents every operation.

The meeting-scoped relay (``/meeting/status``, ``/meeting/command``) is served by FastAPI routes that
read their headers and body themselves (a stranger gets 401 before its body is read, an oversized body
413 before it is buffered); their contract is declared the same way as ``/meeting``'s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Body, FastAPI, Header, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from pydantic import BeforeValidator, Field
from starlette.types import Receive, Scope, Send

from roomagent import __version__
from roomagent.core.codes import generate_code
from roomagent.core.commands import MAX_COMMAND_BYTES, Command
from roomagent.core.ids import ROOM_ID_PATTERN
from roomagent.directory.server import models as m
from roomagent.directory.server.discovery import server_page
from roomagent.directory.server.errors import ApiError, install_error_handlers
from roomagent.directory.server.fastpath import BodyTooLarge, MeetingEndpoint, require_json
from roomagent.directory.server.relay import MqttRelay
from roomagent.directory.server.service import MAX_ROOM_NAME, Directory
from roomagent.directory.server.settings import DirectorySettings
from roomagent.directory.server.store import StoreUnavailable, open_store

log = logging.getLogger("roomagent.directory")

_ERRORS = {
    401: {"model": m.ErrorResponse, "description": "missing or wrong bearer token (a meeting server's or a room's)"},
    404: {"model": m.ErrorResponse, "description": "not found"},
    405: {"model": m.ErrorResponse, "description": "method not allowed"},
    409: {"model": m.ErrorResponse, "description": "the room has not joined yet (or cannot be reached)"},
    410: {"model": m.ErrorResponse, "description": "the code expired unredeemed, or its relay's lifetime is over"},
    413: {"model": m.ErrorResponse, "description": "request body too large"},
    415: {"model": m.ErrorResponse, "description": "request body not declared as JSON (Content-Type)"},
    422: {"model": m.ErrorResponse, "description": "invalid request"},
    429: {"model": m.ErrorResponse, "description": "too many failed redemptions; see Retry-After"},
    501: {"model": m.ErrorResponse, "description": "relay not configured (no [mqtt] url)"},
    502: {"model": m.ErrorResponse, "description": "the room answered something that is not a command reply"},
    503: {"model": m.ErrorResponse, "description": "store or broker unavailable, or store full; see Retry-After"},
    504: {"model": m.ErrorResponse, "description": "the room did not answer in time"},
}
_STATUS_ERRORS = (401, 404, 405, 503)
_COMMAND_ERRORS = (401, 404, 405, 409, 410, 413, 415, 422, 501, 502, 503, 504)
_AUTH_DOC = "Bearer <secret of the meeting server that created the code>"
_CODE_DOC = "the code, e.g. K7M-4QX-9TB; case and dashes do not matter"


def _responses(*codes: int) -> dict:
    return {code: _ERRORS[code] for code in codes}


def _blank_is(default: int) -> Callable[[object], object]:
    # Seed clients send every parameter, empty ones included ("?per_page=&page="): empty means default.
    return lambda value: default if value == "" else value


class DirectoryApp(FastAPI):
    """FastAPI app that hands ``/meeting`` to a lean ASGI endpoint before its own routing."""

    meeting_endpoint: MeetingEndpoint | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/meeting" and self.meeting_endpoint is not None:
            await self.meeting_endpoint(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def meeting_contract() -> APIRouter:
    """``/meeting`` as documented in ``/openapi.json``; served by :class:`MeetingEndpoint`, never by these.

    The router is not mounted: it exists so that FastAPI renders the operations' schema from the same
    pydantic models the endpoint validates and answers with.
    """
    router = APIRouter()

    @router.post("/meeting", response_model=m.MeetingCreated, responses=_responses(401, 405, 413, 415, 422, 503))
    async def create_meeting(
        body: m.MeetingCreateRequest,
        authorization: str = Header(description="Bearer <secret of a configured meeting server>"),
    ) -> m.MeetingCreated:
        """Mint a short-lived, single-use code for a join URL on the allow-list."""
        raise NotImplementedError("served by MeetingEndpoint")

    @router.get("/meeting", response_model=m.MeetingRedeemed, responses=_responses(401, 404, 405, 422, 429, 503))
    async def redeem_meeting(
        code: str = Header(description=_CODE_DOC),
        room_id: str | None = Header(
            None, pattern=ROOM_ID_PATTERN, description="the redeeming room's id (its MQTT topic id)"
        ),
        room_name: str | None = Header(
            None, description=f"the room's name, percent-encoded UTF-8, at most {MAX_ROOM_NAME} characters"
        ),
        authorization: str | None = Header(
            None, description="Bearer <the room's secret>, with Room-Id: proves the room (rooms_file)"
        ),
    ) -> m.MeetingRedeemed:
        """Redeem a code once; unknown, malformed, expired and used codes all answer the same 404.

        A room that sends ``Room-Id`` (and ``Room-Name``) is recorded as the one that redeemed the code,
        for the meeting server's relay. Malformed ones answer 422 without consuming the code. A room with
        a credential proves itself with ``Authorization``; a refused credential, or a registered room's id
        without one, answers 401 without looking at the code, counted against the requester's network.
        """
        raise NotImplementedError("served by MeetingEndpoint")

    @router.get("/meeting/status", response_model=m.MeetingStatus, responses=_responses(*_STATUS_ERRORS))
    async def meeting_status(
        code: str = Header(description=_CODE_DOC),
        authorization: str = Header(description=_AUTH_DOC),
    ) -> m.MeetingStatus:
        """Whether a code was redeemed, and by which room; only for the meeting server that created it.

        Another meeting server's token gets the same 404 as an unknown code.
        """
        raise NotImplementedError("served by the relay routes")

    @router.post("/meeting/command", response_model=m.CommandRelayed, responses=_responses(*_COMMAND_ERRORS))
    async def meeting_command(
        command: Annotated[Command, Body(description=f"a room command, at most {MAX_COMMAND_BYTES} bytes")],
        code: str = Header(description=_CODE_DOC),
        authorization: str = Header(description=_AUTH_DOC),
    ) -> m.CommandRelayed:
        """Send a command to the room that redeemed the code, scoped to the code's meeting.

        Only the meeting server that created the code may, from redemption until ``relay_ttl_s`` later.
        The directory sets ``meeting`` (whatever the caller sent) and an ``id`` when missing, publishes
        the command over MQTT 5 and answers with the room's reply, ``status: error`` replies included.
        """
        raise NotImplementedError("served by the relay routes")

    return router


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) more than ``limit`` bytes, declared or streamed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    settings: DirectorySettings,
    clock: Callable[[], float] = time.time,
    *,
    code_factory: Callable[[], str] = generate_code,
) -> FastAPI:
    """Build the directory application; its lifespan opens and closes the store.

    ``clock`` gives the current time in seconds (tests advance a fake one); ``code_factory`` mints
    candidate codes (tests force collisions with it).
    """
    directory = Directory(settings, clock, code_factory)
    servers = [m.ServerOut(id=s.id, name=s.name, url=s.url) for s in settings.servers]
    servers_by_id = {s.id: s for s in servers}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store = open_store(
            settings.store,
            max_codes=settings.memory_max_codes,
            max_clients=settings.memory_max_clients,
            max_relays=settings.memory_max_relays,
        )
        await store.open()
        directory.store = store
        try:
            await store.ping()
        except StoreUnavailable as exc:
            log.warning("directory store not reachable yet (%s); /healthz answers 503 until it is", exc)
        relay = MqttRelay(settings.mqtt) if settings.mqtt.enabled else None
        if relay is not None:
            try:
                relay.start(asyncio.get_running_loop())  # never blocks: paho connects in its own thread
            except Exception:
                await store.close()  # e.g. an unreadable password_file: start-up fails, loudly
                raise
            directory.relay = relay
        app.state.relay = relay
        rooms = directory.credentials
        log.info(
            "directory ready: %s store, %d meeting server token(s), relay %s, %s",
            store.kind, len(settings.tokens), "on" if relay else "off",
            f"{rooms.count()} room(s) with credentials" if rooms else "no room credentials (rooms are anonymous)",
        )
        try:
            yield
        finally:
            directory.relay = None
            if relay is not None:
                await relay.stop()
            directory.store = None
            await store.close()

    app = DirectoryApp(
        title="roomagent directory (MediaAuthService)",
        version=__version__,
        description="Short-lived room codes for meeting join URLs, meeting-server discovery, and a "
        "meeting-scoped relay of room commands for the meeting server that created a code.",
        lifespan=lifespan,
    )
    app.meeting_endpoint = MeetingEndpoint(directory)
    install_error_handlers(app)
    contract = meeting_contract()

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=[*contract.routes, *app.routes],
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/server", response_model=m.ServerList, responses=_responses(422))
    async def list_servers(
        per_page: Annotated[int, Field(ge=1, le=100), BeforeValidator(_blank_is(20)), Query()] = 20,
        page: Annotated[int, Field(ge=1, le=1_000_000), BeforeValidator(_blank_is(1)), Query()] = 1,
        default_server: str | None = Query(None, alias="default-server", max_length=64),
        search: str | None = Query(None, max_length=100, description="name; '*' and '?' wildcards"),
    ) -> m.ServerList:
        """Meeting servers: the default first (when among the results), then by name."""
        result = server_page(
            servers,
            name=lambda s: s.name,
            ident=lambda s: s.id,
            default_id=default_server or settings.default_server,
            search=search,
            page=page,
            per_page=per_page,
        )
        meta = m.PageMeta(
            total=str(result.total),
            per_page=str(result.per_page),
            current_page=str(result.current_page),
            start=str(result.start),
            end=str(result.end),
        )
        return m.ServerList(data=m.ServerListData(severs=result.items), meta=meta)

    @app.get("/server/{server_id}", response_model=m.ServerResponse, responses=_responses(404))
    async def get_server(server_id: str) -> m.ServerResponse:
        """One meeting server by id."""
        server = servers_by_id.get(server_id)
        if server is None:
            raise ApiError(404, "server not found")
        return m.ServerResponse(data=server)

    @app.get("/meeting/status", include_in_schema=False)
    async def meeting_status(request: Request) -> m.MeetingStatus:
        server = directory.require_server(request.headers.get("authorization"))
        return await directory.relay_status(server, request.headers.get("code"))

    @app.post("/meeting/command", include_in_schema=False)
    async def meeting_command(request: Request) -> Response:
        server = directory.require_server(request.headers.get("authorization"))
        require_json(request.headers.get("content-type"))
        body = await read_limited(request, MAX_COMMAND_BYTES)
        reply = await directory.relay_command(server, request.headers.get("code"), body)
        content = json.dumps({"data": reply, "meta": {"status": "success"}}, separators=(",", ":"))
        return Response(content, media_type="application/json")

    @app.get("/healthz", response_model=m.Health, responses=_responses(503))
    async def healthz() -> m.Health:
        """200 when the store answers, 503 otherwise (for load balancers and monitoring)."""
        store = directory.live_store()
        await store.ping()
        return m.Health(data=m.HealthOut(store=store.kind))

    return app

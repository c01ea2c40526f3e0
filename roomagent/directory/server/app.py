"""The directory's HTTP API (FastAPI): the seed's MediaAuthService contract (DESIGN.md §3.1).

``/server``, ``/server/{id}`` and ``/healthz`` are ordinary FastAPI routes. ``/meeting`` is served by
:class:`~roomagent.directory.server.fastpath.MeetingEndpoint` for speed; its contract is declared below
with FastAPI (models, headers, answers) so ``/openapi.json`` documents every operation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Query
from fastapi.openapi.utils import get_openapi
from pydantic import BeforeValidator, Field
from starlette.types import Receive, Scope, Send

from roomagent import __version__
from roomagent.core.codes import generate_code
from roomagent.directory.server import models as m
from roomagent.directory.server.discovery import server_page
from roomagent.directory.server.errors import ApiError, install_error_handlers
from roomagent.directory.server.fastpath import MeetingEndpoint
from roomagent.directory.server.service import Directory
from roomagent.directory.server.settings import DirectorySettings
from roomagent.directory.server.store import StoreUnavailable, open_store

log = logging.getLogger("roomagent.directory")

_ERRORS = {
    401: {"model": m.ErrorResponse, "description": "missing or wrong bearer token"},
    404: {"model": m.ErrorResponse, "description": "not found"},
    405: {"model": m.ErrorResponse, "description": "method not allowed"},
    413: {"model": m.ErrorResponse, "description": "request body too large"},
    422: {"model": m.ErrorResponse, "description": "invalid request"},
    429: {"model": m.ErrorResponse, "description": "too many failed redemptions; see Retry-After"},
    503: {"model": m.ErrorResponse, "description": "store unavailable or full"},
}


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

    @router.post("/meeting", response_model=m.MeetingCreated, responses=_responses(401, 405, 413, 422, 503))
    async def create_meeting(
        body: m.MeetingCreateRequest,
        authorization: str = Header(description="Bearer <secret of a configured meeting server>"),
    ) -> m.MeetingCreated:
        """Mint a short-lived, single-use code for a join URL on the allow-list."""
        raise NotImplementedError("served by MeetingEndpoint")

    @router.get("/meeting", response_model=m.MeetingRedeemed, responses=_responses(404, 405, 429, 503))
    async def redeem_meeting(
        code: str = Header(description="the code, e.g. K7M-4QX-9TB; case and dashes do not matter"),
    ) -> m.MeetingRedeemed:
        """Redeem a code once; unknown, malformed, expired and used codes all answer the same 404."""
        raise NotImplementedError("served by MeetingEndpoint")

    return router


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
    async def lifespan(_app: FastAPI):
        store = open_store(settings.store, max_codes=settings.memory_max_codes, max_clients=settings.memory_max_clients)
        await store.open()
        directory.store = store
        try:
            await store.ping()
        except StoreUnavailable as exc:
            log.warning("directory store not reachable yet (%s); /healthz answers 503 until it is", exc)
        log.info("directory ready: %s store, %d meeting server token(s)", store.kind, len(settings.tokens))
        try:
            yield
        finally:
            directory.store = None
            await store.close()

    app = DirectoryApp(
        title="roomagent directory (MediaAuthService)",
        version=__version__,
        description="Short-lived room codes for meeting join URLs, and meeting-server discovery.",
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

    @app.get("/healthz", response_model=m.Health, responses=_responses(503))
    async def healthz() -> m.Health:
        """200 when the store answers, 503 otherwise (for load balancers and monitoring)."""
        store = directory.live_store()
        await store.ping()
        return m.Health(data=m.HealthOut(store=store.kind))

    return app

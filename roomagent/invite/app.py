"""The invite service's HTTP API (FastAPI), the BigBlueButton plugin's only backend (INVITE_API.md).

``GET /servers``, ``POST /invites``, ``GET /room``, ``POST /room/commands``; every one only for a
moderator of a running meeting (:mod:`roomagent.invite.identity`). A request body is refused (413) by
its declared length before anything else happens, and while it streams in beyond the limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from roomagent import __version__
from roomagent.core.commands import COMMAND, ErrorCode
from roomagent.directory.server.app import read_limited
from roomagent.directory.server.errors import validation_message
from roomagent.directory.server.fastpath import BodyTooLarge
from roomagent.invite.bbb import BbbApi
from roomagent.invite.diagnostics import add_diagnostics
from roomagent.invite.directory import DirectoryClient
from roomagent.invite.errors import InviteError, install_error_handlers
from roomagent.invite.identity import Caller, identify
from roomagent.invite.settings import InviteSettings
from roomagent.invite.store import Budget, Invite, InviteStore

log = logging.getLogger("roomagent.invite")

#: The room user's external id starts with this, so its sessions are recognisable in BBB's logs.
ROOM_USER_PREFIX = "roomagent-room-"
#: Replies of a room that is no longer in the caller's meeting (roomagent/core/commands.py ErrorCode).
LEFT_CODES = (ErrorCode.NOT_IN_MEETING, ErrorCode.WRONG_MEETING)


def room_join_params(caller: Caller, server: dict[str, str], prefix: str, user_id: str) -> dict[str, str]:
    """The ``join`` parameters of a room user (README "The invite service": role and userdata).

    VIEWER: it can be made presenter by a moderator to share an input, but it can never mute, remove or
    promote others, end the meeting or change lock settings. The userdata keeps panels closed and
    notifications off on a projector; the agent adds each screen's own (audio only on the media screen,
    ``bbb_custom_style`` hiding poll, chat and notes) with getJoinUrl.
    """
    return {
        "meetingID": caller.meeting.meeting_id,
        "fullName": f"{prefix}{server['name']}"[:256],
        "role": "VIEWER",
        "userID": user_id,
        # The meeting instance the teacher is in: the code stops working if it ends and is created again.
        "createTime": caller.meeting.create_time,
        "excludeFromDashboard": "true",
        "userdata-bbb_show_public_chat_on_login": "false",
        "userdata-bbb_show_participants_on_login": "false",
        "userdata-bbb_hide_notifications": "true",
        "userdata-bbb_skip_video_preview": "true",
        "userdata-bbb_skip_check_audio": "true",
    }


class InviteRequest(BaseModel):
    """Body of ``POST /invites``."""

    model_config = ConfigDict(extra="forbid")
    server_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class CommandRequest(BaseModel):
    """Body of ``POST /room/commands``; the command is checked against the room's command models."""

    model_config = ConfigDict(extra="forbid")
    invite: str = Field(min_length=1, max_length=64)
    command: dict[str, Any]


def _expiry(value: str) -> float:
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return 0.0


def create_app(settings: InviteSettings, clock: Callable[[], float] = time.time,
               transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """Build the service; ``clock`` gives seconds (tests move it), ``transport`` replaces the network."""
    store = InviteStore(keep=settings.limits.invites_kept)
    per_session = Budget(settings.limits.requests_per_minute)
    per_meeting = Budget(settings.limits.invites_per_minute)
    tokens = {key: value.get_secret_value() for key, value in settings.tokens.items()}
    default_dir = settings.directory.url
    limit = settings.limits.max_body_bytes

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with httpx.AsyncClient(follow_redirects=False, transport=transport,
                                     headers={"User-Agent": f"roomagent-invite/{__version__}"}) as client:
            app.state.bbb = BbbApi(settings.bbb, client)
            app.state.directories = DirectoryClient(client, settings.directory.timeout_s,
                                                    settings.directory.command_timeout_s)
            log.info("invite service ready: BigBlueButton %s, directory %s, %d token(s)",
                     settings.bbb.api_base, default_dir, len(tokens))
            yield

    app = FastAPI(title="roomagent invite service", version=__version__, lifespan=lifespan,
                  description="Backend of the roomagent BigBlueButton plugin: invite a lecture room, control it.")
    install_error_handlers(app)

    def refuse_large(request: Request) -> None:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise InviteError(413, "too_large", f"The request is larger than {limit} bytes.")

    def throttle(request: Request) -> None:
        token = request.headers.get("x-session-token")
        if token:
            wait = per_session.take(token[:128], clock())
            if wait is not None:
                raise InviteError(429, "rate_limited", f"Too many requests; try again in {wait} s.",
                                  {"Retry-After": str(wait)})

    async def caller_of(request: Request) -> Caller:
        throttle(request)
        return await identify(request.app.state.bbb, token=request.headers.get("x-session-token"),
                              jsessionid=request.cookies.get("JSESSIONID"))

    async def json_body(request: Request, model: type[BaseModel]) -> Any:
        try:
            raw = await read_limited(request, limit)
        except BodyTooLarge:
            raise InviteError(413, "too_large", f"The request is larger than {limit} bytes.") from None
        if not raw.strip():
            raise InviteError(422, "invalid", "The request has no body.")
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise InviteError(422, "invalid", validation_message(exc.errors(), "body")) from None

    @app.get("/servers")
    async def servers(request: Request, search: Annotated[str, Query(max_length=100)] = "",
                      page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                      per_page: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
        """The default directory's institutions, each marked whether this BBB holds a token for it."""
        refuse_large(request)
        await caller_of(request)
        items, total = await request.app.state.directories.servers(
            default_dir, search=search, page=page, per_page=per_page, default=settings.directory.default_server)
        default_id = settings.directory.default_server
        listed = [{**s, "default": s["id"] == default_id, "available": s["id"] in tokens} for s in items]
        return {"servers": listed, "total": total, "page": page, "per_page": per_page}

    @app.post("/invites", status_code=201)
    async def invite(request: Request) -> dict[str, Any]:
        """A code for a new room user in the caller's meeting, minted by the chosen institution's directory."""
        refuse_large(request)
        caller = await caller_of(request)
        body: InviteRequest = await json_body(request, InviteRequest)
        directories: DirectoryClient = request.app.state.directories
        server = await directories.server(default_dir, body.server_id)
        if server is None:
            raise InviteError(404, "unknown_server", f"The directory does not list an institution {body.server_id!r}.")
        token = tokens.get(server["id"])
        if token is None:
            raise InviteError(422, "no_token", f"This BigBlueButton cannot invite rooms of {server['name']}: it holds "
                              "no token for that institution's directory.")
        wait = per_meeting.take(caller.meeting.internal_id, clock())
        if wait is not None:
            raise InviteError(429, "rate_limited", f"Too many invitations in this meeting; try again in {wait} s.",
                              {"Retry-After": str(wait)})
        room_user = ROOM_USER_PREFIX + secrets.token_hex(6)
        bbb: BbbApi = request.app.state.bbb
        join_url = bbb.url("join", room_join_params(caller, server, settings.room_name_prefix, room_user))
        code, expires = await directories.create_code(server["url"], token, join_url)
        record = Invite(id=secrets.token_urlsafe(9), meeting=caller.meeting.internal_id, code=code, expires=expires,
                        expires_at=_expiry(expires), server=server, room_user=room_user, created_at=clock())
        store.add(record)
        log.info("room invited into meeting %s for institution %s", caller.meeting.meeting_id, server["id"])
        return {"invite": record.id, "code": code, "expires": expires, "server": server}

    async def refresh(invite: Invite, caller: Caller, directories: DirectoryClient) -> dict[str, Any]:
        """The invite's current status (and the room's state when it is in the meeting)."""
        if invite.status in ("left", "expired"):
            return invite.public()
        token = tokens.get(invite.server["id"], "")
        status = await directories.status(invite.server["url"], token, invite.code)
        if status is None or status.get("status") == "expired":
            invite.status = "left" if invite.room or (status and status.get("room")) else "expired"
            return invite.public()
        if status.get("status") == "pending":
            if invite.expires_at and clock() > invite.expires_at:
                invite.status = "expired"
            return invite.public()
        invite.room = status.get("room")
        try:
            reply = await directories.command(invite.server["url"], token, invite.code, {"action": "get_state"})
        except InviteError as exc:
            if exc.code == "room_left":
                invite.status = "left"
                return invite.public()
            return invite.public(error={"code": exc.code, "message": exc.message})
        data = reply.get("data") if reply.get("status") == "ok" else None
        meeting = (data or {}).get("meeting") or {}
        if data is not None and meeting.get("id") == caller.meeting.meeting_id:
            invite.status = "joined"
            return invite.public(state=data)
        if reply.get("status") == "error" and (reply.get("error") or {}).get("code") in LEFT_CODES or data is not None:
            invite.status = "left"
        return invite.public()

    async def refresh_or_error(invite: Invite, caller: Caller, directories: DirectoryClient) -> dict[str, Any]:
        try:
            return await refresh(invite, caller, directories)
        except InviteError as exc:  # one directory that is down does not hide the other rooms
            return invite.public(error={"code": exc.code, "message": exc.message})

    #: invite id -> its refresh under way. The plugin of every moderator polls every 2 s; a silent room
    #: answers only after the relay's timeout, so polls share the refresh in progress instead of piling
    #: up one relay command per poll. At most one call per invite is in flight.
    refreshing: dict[str, asyncio.Task[dict[str, Any]]] = {}

    def _refreshed(invite_id: str, task: asyncio.Task) -> None:
        refreshing.pop(invite_id, None)
        if not task.cancelled():
            task.exception()  # retrieved: a poll that went away must not leave "never retrieved" noise

    def shared_refresh(invite: Invite, caller: Caller, directories: DirectoryClient) -> asyncio.Future:
        task = refreshing.get(invite.id)
        if task is None:
            task = asyncio.ensure_future(refresh_or_error(invite, caller, directories))
            refreshing[invite.id] = task
            task.add_done_callback(lambda done, key=invite.id: _refreshed(key, done))
        # A poll that disconnects cancels its wait, not the refresh the others share.
        return asyncio.shield(task)

    @app.get("/room")
    async def rooms(request: Request) -> dict[str, Any]:
        """Every room invited into the caller's meeting, newest first, with its state when it is there.

        The rooms are refreshed all at once, so the answer takes at most one relay timeout however many
        rooms are silent (one after another, three silent rooms took three timeouts)."""
        refuse_large(request)
        caller = await caller_of(request)
        directories = request.app.state.directories
        invites = store.of_meeting(caller.meeting.internal_id)
        return {"rooms": list(await asyncio.gather(*(shared_refresh(i, caller, directories) for i in invites)))}

    @app.post("/room/commands")
    async def room_command(request: Request) -> JSONResponse:
        """A command for a room of the caller's meeting, through its directory's relay; the room's reply."""
        refuse_large(request)
        caller = await caller_of(request)
        body: CommandRequest = await json_body(request, CommandRequest)
        invite = store.get(caller.meeting.internal_id, body.invite)
        if invite is None:
            raise InviteError(404, "room_not_found", "No room was invited into this meeting with that invitation.")
        command = {k: v for k, v in body.command.items() if k != "meeting"}  # the relay sets the meeting
        try:
            COMMAND.validate_python(command)
        except ValidationError as exc:
            raise InviteError(422, "invalid", validation_message(exc.errors(), "command")) from None
        if invite.status == "left":
            raise InviteError(410, "room_left", "The room has left this meeting.")
        token = tokens.get(invite.server["id"], "")
        reply = await request.app.state.directories.command(invite.server["url"], token, invite.code, command)
        if reply.get("status") == "error" and (reply.get("error") or {}).get("code") in LEFT_CODES:
            invite.status = "left"
            raise InviteError(410, "room_left", "The room has left this meeting.")
        log.info("command %s for a room of meeting %s: %s", command.get("action"), caller.meeting.meeting_id,
                 reply.get("status"))
        return JSONResponse(json.loads(json.dumps(reply)))

    add_diagnostics(app, throttle)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """200 while the process serves (for systemd and monitoring)."""
        return {"status": "ok"}

    return app

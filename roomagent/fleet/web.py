"""The dashboard's web app (FastAPI): server-rendered pages (Jinja2, autoescaped) that htmx keeps live
over Server-Sent Events, and operator actions through the normal command contract.

Pages: ``/login``, ``/`` (overview), ``/rooms/{id}``; streams: ``/events`` and ``/rooms/{id}/events``;
actions: ``POST /rooms/{id}/actions/{action}``, bulk actions ``/bulk`` (:mod:`roomagent.fleet.bulk`). Every
page needs a signed-in operator; every POST needs the session's CSRF token; every action is written to the
audit log, and so is every action refused for the account's role or buildings (403).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sse_starlette import EventSourceResponse
from starlette.middleware.sessions import SessionMiddleware

from roomagent import __version__
from roomagent.control.parse import describe_error
from roomagent.core.commands import COMMAND
from roomagent.fleet.access import AuditLog, Authenticator, SignInLimiter, csrf_ok, new_csrf_token
from roomagent.fleet.bulk import add_bulk_routes
from roomagent.fleet.config import FleetSettings
from roomagent.fleet.history_web import add_history_routes
from roomagent.fleet.hub import BROKER, COUNTS, Hub, Subscriber
from roomagent.fleet.link import FleetLink
from roomagent.fleet.model import Fleet, Room
from roomagent.fleet.render import install as install_filters
from roomagent.fleet.watch import Watchers

log = logging.getLogger("roomagent.fleet")
HERE = Path(__file__).parent

#: SSE comment lines this often keep proxies from closing an idle stream.
SSE_PING_S = 15
#: The operator actions offered on a room's page, in the command contract's names.
ACTIONS = {
    "identify_screens": "Identify screens",
    "show_message": "Show a message",
    "reload": "Reload screens",
    "leave": "Leave the meeting",
}
_SECURITY_HEADERS = {
    # Only our own scripts and styles: no inline code, no eval (htmx.config.allowEval is off), so room
    # text that somehow became markup could still not run.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class NotSignedIn(Exception):
    """No operator: a page redirects to the sign-in, anything else gets 401 (403 for a refused proxy)."""

    def __init__(self, why: str = "", status: int = 401) -> None:
        super().__init__(why)
        self.why = why
        self.status = status


class _NotFound(Exception):
    """A room id the dashboard has never seen."""


def clock(ts: float | None, now: float | None = None) -> str:
    """``08:12`` today, ``3 Dec 08:12`` otherwise (the server's local time)."""
    if ts is None:
        return "?"
    now = time.time() if now is None else now
    same_day = time.localtime(ts)[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M:%S" if same_day else "%-d %b %H:%M", time.localtime(ts))


class Dashboard:
    """The running dashboard: the fleet model, the open streams, the MQTT link, the audit log."""

    def __init__(self, settings: FleetSettings, *, clock_fn: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.now = clock_fn
        self.fleet = Fleet(settings.rooms, settings.web.history_per_room)
        self.hub = Hub()
        self.audit = AuditLog(settings.web.audit_log)
        self.auth = Authenticator(settings.auth)
        self.limiter = SignInLimiter()
        self.connected = False
        self.broker_problem = "connecting to the broker"
        self.started_at = clock_fn()
        self.link: FleetLink | None = None
        self.watch = Watchers(settings, clock_fn)  # history and alerts ([history], [alerts])
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Connect to the broker (in paho's thread); messages come back on this event loop."""
        self._loop = asyncio.get_running_loop()
        self.link = FleetLink(self.settings.mqtt, self._from_paho_message, self._from_paho_connection)
        self.link.start()

    def stop(self) -> None:
        """Disconnect."""
        if self.link is not None:
            self.link.stop()

    # paho's thread -> the event loop
    def _from_paho_message(self, room: str, leaf: str, payload: bytes, retained: bool) -> None:
        self._loop.call_soon_threadsafe(self.on_message, room, leaf, payload, retained)

    def _from_paho_connection(self, connected: bool, why: str) -> None:
        self._loop.call_soon_threadsafe(self.on_connection, connected, why)

    def on_message(self, room: str, leaf: str, payload: bytes, retained: bool) -> None:
        """One room message (event loop)."""
        now = self.now()
        changed = self.fleet.apply(room, leaf, payload, retained=retained, now=now)
        if changed is not None:
            self.watch.observe(changed, now)
            self.hub.changed(changed.id, COUNTS)

    def on_connection(self, connected: bool, why: str) -> None:
        """The broker link came up or went down (event loop)."""
        if (connected, why) != (self.connected, self.broker_problem):
            self.connected, self.broker_problem = connected, why
            self.hub.changed(BROKER)


def create_app(settings: FleetSettings, *, clock_fn: Callable[[], float] = time.time) -> FastAPI:
    """The dashboard app; connecting to the broker happens in its lifespan."""
    board = Dashboard(settings, clock_fn=clock_fn)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await board.watch.start()  # the history is read back before the first message comes
        board.start()
        try:
            yield
        finally:
            board.stop()
            await board.watch.stop()

    app = FastAPI(title="roomagent fleet", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.board = board
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape is on for .html
    # Compact output: 1,000 tiles are one page and every update goes to every open page.
    templates.env.trim_blocks = templates.env.lstrip_blocks = True
    templates.env.filters["clock"] = lambda ts: clock(ts, board.now())
    install_filters(templates.env)
    app.add_middleware(SessionMiddleware, secret_key=settings.web.session_secret(), session_cookie="fleet_session",
                       max_age=int(settings.web.session_hours * 3600), same_site="strict",
                       https_only=settings.web.secure_cookies)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if exc.status == 401 and request.method == "GET" and "text/html" in request.headers.get("accept", "") \
                and "hx-request" not in request.headers:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return JSONResponse({"detail": exc.why or "sign in first"}, status_code=exc.status)

    def operator(request: Request) -> str:
        """The signed-in operator, or NotSignedIn."""
        if board.auth.proxy_mode:
            client = request.client.host if request.client else None
            name, why = board.auth.proxy_user(client, request.headers)
            if name is None:
                raise NotSignedIn(why, status=403)
            request.session.setdefault("csrf", new_csrf_token())
            return name
        name = request.session.get("user")
        # A session of a user since removed from [[auth.users]] has no role any more: sign in again.
        if not name or board.auth.principal(name) is None:
            raise NotSignedIn()
        return name

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("csrf", request.session.setdefault("csrf", new_csrf_token()))
        if context.get("user"):  # what the header and the action controls show depend on the role
            context.setdefault("me", board.auth.principal(context["user"]))
        return templates.TemplateResponse(request, name, {"board": board, "actions": ACTIONS, **context},
                                          status_code=status)

    def fragment(name: str, **context: Any) -> str:
        return templates.get_template(name).render(board=board, actions=ACTIONS, **context)

    def room_or_404(room_id: str) -> Room:
        room = board.fleet.rooms.get(room_id)
        if room is None:
            raise _NotFound(room_id)
        return room

    @app.exception_handler(_NotFound)
    async def not_found(request: Request, exc: _NotFound) -> Response:
        return page(request, "message.html", status=404, title="Unknown room",
                    message=f"No room {exc.args[0]} has been seen on the broker.")

    # ----- sign-in ------------------------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str = "/") -> Response:
        if board.auth.proxy_mode:
            return RedirectResponse("/", status_code=303)
        return page(request, "login.html", next=_local(next), error="")

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        if board.auth.proxy_mode:
            return RedirectResponse("/", status_code=303)
        form = await request.form()
        name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
        target = _local(str(form.get("next", "/")))
        peer = request.client.host if request.client else None
        if not csrf_ok(request.session.get("csrf"), str(form.get("csrf", ""))):
            return page(request, "login.html", status=403, next=target,
                        error="The sign-in form had expired. Please try again.")
        wait = board.limiter.wait_s(name)
        if wait > 0:
            log.warning("sign-in for %r from %s refused: too many failures", name[:64], peer)
            return page(request, "login.html", status=429, next=target,
                        error=f"Too many failed sign-ins for this name. Try again in {wait / 60:.0f} min.")
        # argon2 takes tens of milliseconds on purpose: off the event loop, so pages stay live meanwhile.
        if not await asyncio.to_thread(board.auth.check_password, name, password):
            board.limiter.failed(name)
            board.audit.write(who=name[:64] or "-", what="sign-in refused", peer=peer)
            log.warning("sign-in refused for %r from %s", name[:64], peer)
            return page(request, "login.html", status=401, next=target, error="Wrong name or password.")
        board.limiter.succeeded(name)
        request.session.clear()
        request.session.update(user=name, csrf=new_csrf_token())
        board.audit.write(who=name, what="signed in", peer=peer)
        return RedirectResponse(target, status_code=303)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        who = operator(request)
        form = await request.form()
        if not csrf_ok(request.session.get("csrf"), str(form.get("csrf", ""))):
            return JSONResponse({"detail": "missing or wrong CSRF token"}, status_code=403)
        board.audit.write(who=who, what="signed out", peer=request.client.host if request.client else None)
        request.session.clear()
        return RedirectResponse("/login" if not board.auth.proxy_mode else "/", status_code=303)

    # ----- pages ------------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    async def overview(request: Request, q: str = "", problems: bool = False) -> Response:
        who = operator(request)
        return page(request, "overview.html", user=who, rooms=board.fleet.ordered(), counts=board.fleet.counts(),
                    q=q.strip().lower()[:100], only_problems=problems)

    @app.get("/rooms/{room_id}", response_class=HTMLResponse)
    async def room_page(request: Request, room_id: str) -> Response:
        who = operator(request)
        return page(request, "room.html", user=who, room=room_or_404(room_id), reply=None)

    @app.get("/healthz")
    async def health() -> dict:
        """For monitoring, without signing in: whether the dashboard follows the broker, nothing about the
        fleet (how many rooms there are is for operators only)."""
        return {"status": "ok" if board.connected else "broker unreachable", "mqtt": board.connected}

    # ----- live updates -------------------------------------------------------------------------------------
    # ``v`` and ``run``: the version of the fleet the page showed (hub.py replays what changed after it).
    @app.get("/events")
    async def overview_events(request: Request, v: int | None = Query(None, ge=0),
                              run: str = Query("", max_length=32)) -> Response:
        operator(request)
        return EventSourceResponse(_stream(None, v, run), ping=SSE_PING_S)

    @app.get("/rooms/{room_id}/events")
    async def room_events(request: Request, room_id: str, v: int | None = Query(None, ge=0),
                          run: str = Query("", max_length=32)) -> Response:
        operator(request)
        room_or_404(room_id)
        return EventSourceResponse(_stream(room_id, v, run), ping=SSE_PING_S)

    async def _stream(room: str | None, since: int | None, run: str) -> AsyncIterator[dict]:
        subscriber, known = board.hub.open(board.fleet, room, since, run)
        try:
            while True:
                for key in await subscriber.next_keys():
                    for event in _render(subscriber, key, known):
                        yield event
        finally:
            board.hub.remove(subscriber)

    def _render(subscriber: Subscriber, key: str, known: set[str]) -> list[dict]:
        if key == BROKER:
            return [{"event": "broker", "data": fragment("_broker.html")}]
        if key == COUNTS:
            return [{"event": "counts", "data": fragment("_counts.html", counts=board.fleet.counts())}]
        room = board.fleet.rooms.get(key)
        if room is None:
            return []
        if subscriber.room is not None:
            return [{"event": "room", "data": fragment("_room_detail.html", room=room)},
                    {"event": "history", "data": fragment("_history.html", room=room)}]
        if key not in known:  # a room the page has never shown: appended to the grid
            known.add(key)
            return [{"event": "new-tile", "data": fragment("_tile.html", room=room, q="")}]
        return [{"event": f"tile-{key}", "data": fragment("_tile.html", room=room, q="")}]

    # ----- actions --------------------------------------------------------------------------------------------
    @app.post("/rooms/{room_id}/actions/{action}", response_class=HTMLResponse)
    async def act(request: Request, room_id: str, action: str) -> Response:
        who = operator(request)
        room = room_or_404(room_id)
        # The role before anything else: a viewer's (or an out-of-scope operator's) attempt is refused and
        # audited whatever the form holds; the page never offered it.
        refused = refuse_for_role(request, who, action, room)
        if refused is not None:
            return refused
        form = await request.form()
        peer = request.client.host if request.client else None
        if not csrf_ok(request.session.get("csrf"), str(form.get("csrf", ""))):
            _audit_refused(who, action, room, "missing or wrong CSRF token", peer)
            return JSONResponse({"detail": "missing or wrong CSRF token"}, status_code=403)
        reply = await _act(who, room, action, {k: str(v) for k, v in form.items()}, peer)
        if reply["outcome"] == "refused":  # nothing was sent, and still one audit line says who tried what
            _audit_refused(who, action, room, reply["message"], peer)
        if "hx-request" in request.headers:
            return HTMLResponse(fragment("_reply.html", reply=reply, room=room))
        return page(request, "room.html", user=who, room=room, reply=reply)

    def refuse_for_role(request: Request, who: str, action: str, room: Room) -> Response | None:
        """403 and an audit line when ``who`` may not act on ``room``; None when they may."""
        why = board.auth.principal(who).why_not(room.building)
        if not why:
            return None
        peer = request.client.host if request.client else None
        board.audit.write(who=who, what=action[:40], room=room.id, outcome="refused", why=why, peer=peer)
        log.warning("%s: %s on %s refused: %s", who, action[:40], room.id, why)
        return JSONResponse({"detail": why}, status_code=403)

    def _audit_refused(who: str, action: str, room: Room, why: str, peer: str | None) -> None:
        """A refused action's audit line: ``reply`` is the dashboard's own refusal (no room was asked)."""
        board.audit.write(who=who, what=action[:64], room=room.id, reply={"status": "refused", "message": why},
                          outcome="refused", why=why, peer=peer)
        log.info("%s: %s on %s refused: %s", who, action[:64], room.id, why)

    async def _act(who: str, room: Room, action: str, form: dict[str, str], peer: str | None,
                   bulk: str | None = None) -> dict:
        request = {"id": f"fleet-{secrets.token_hex(6)}", "action": action}
        if action not in ACTIONS:
            return {"label": action, "outcome": "refused", "message": f"{action!r} is not an action of this page"}
        if action == "show_message":
            request["text"] = form.get("text", "").strip()
            if form.get("seconds", "").strip():
                request["seconds"] = form["seconds"].strip()
        elif action == "reload" and form.get("screen", "").strip():
            request["screen"] = form["screen"].strip()
        elif action == "leave" and form.get("confirm") != "yes":
            return {"label": ACTIONS[action], "outcome": "refused",
                    "message": "Tick the box to confirm that the meeting ends for this room."}
        try:
            command = COMMAND.validate_python(request)
        except ValidationError as exc:
            return {"label": ACTIONS[action], "outcome": "refused", "message": f"Not sent: {describe_error(exc)}"}
        payload = command.model_dump(mode="json", exclude_none=True)
        body, why = await board.link.request(room.id, payload, settings.web.command_timeout_s)
        if body is None:
            outcome, message = "no reply", why
        elif body.get("status") == "ok":
            outcome, message = "ok", "done"
        else:
            error = body.get("error") if isinstance(body.get("error"), dict) else {}
            outcome = "error"
            message = f"{error.get('code', 'error')}: {error.get('message', '')}".strip(": ")
        board.audit.write(who=who, what=action, room=room.id, request=payload, reply=body, outcome=outcome, peer=peer,
                          bulk=bulk)
        log.info("%s: %s on %s -> %s", who, action, room.id, outcome)
        if board.fleet.note(room.id, f"{who}: {ACTIONS[action]} → {outcome} ({message})", board.now()):
            board.hub.changed(room.id)
        return {"label": ACTIONS[action], "outcome": outcome, "message": message}

    add_bulk_routes(app, board, page=page, operator=operator, act=_act)
    add_history_routes(app, board, operator=operator, page=page, fragment=fragment, room_or_404=room_or_404)
    return app


def _local(target: str) -> str:
    """Only paths on this site are followed after signing in (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"

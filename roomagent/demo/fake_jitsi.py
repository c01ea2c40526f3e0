"""A fake Jitsi Meet server for the adapter tests and the demo: the documented IFrame API surface.

* ``GET /external_api.js`` defines ``window.JitsiMeetExternalAPI`` (see ``fake_external_api.js``):
  the constructor, listeners, ``executeCommand(s)``, the ``is…()`` promises and ``dispose()``, with
  the state changes and events the real API reports (handbook: dev-guide-iframe, -commands, -events).
* ``GET /{room}`` and ``GET /{tenant}/{room}`` are the conference page the API puts in its iframe.
* Server-driven events (a moderator kicks, the meeting ends, a connection error, a remote mute) are
  queued by the ``POST /_fake/…`` controls and fetched by every API instance of that room from
  ``GET /_fake/pending``.

Everything the page does or hears is recorded in a thread-safe log (``app.state.fake``,
``GET /_fake/log``), each record with ``kind``, ``room``, ``client`` and ``t``.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from roomagent.demo.meeting_server import LoadLog, read_page_event

#: Id of the local participant in every event payload (the real ones are random hex).
LOCAL_ID = "local1"
MODERATOR_ID = "mod1"
_TILES = (("#d1495b", "Ada L."), ("#0f8b8d", "Alan T."), ("#b7791f", "Grace H."), ("#4f7c2a", "You"))


class FakeJitsiState:
    """The record log and the per-client event queues of one fake Jitsi server; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log = LoadLog()
        # room -> client id -> events not yet fetched
        self._queues: dict[str, dict[str, list[dict[str, Any]]]] = {}
        # events for a room no client has polled yet: the first client to poll gets them
        self._backlog: dict[str, list[dict[str, Any]]] = {}

    def record(self, kind: str, /, **fields: Any) -> None:
        """Append ``{"kind", "room", "client", "t", **fields}`` to the log."""
        entry: dict[str, Any] = {"kind": kind, "room": None, "client": None}
        entry.update(fields, t=time.time())
        self._log.add(entry)

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The log, oldest first, optionally only records of ``kind``."""
        return self._log.snapshot(kind)

    def reset(self) -> None:
        """Forget every record, client and queued event."""
        with self._lock:
            self._queues.clear()
            self._backlog.clear()
        self._log.clear()

    def push(self, room: str, events: list[dict[str, Any]]) -> int:
        """Queue ``events`` for every client of ``room``; returns how many clients there are."""
        with self._lock:
            clients = self._queues.get(room)
            if not clients:
                self._backlog.setdefault(room, []).extend(events)
                return 0
            for queue in clients.values():
                queue.extend(events)
            return len(clients)

    def take(self, room: str, client: str) -> list[dict[str, Any]]:
        """The events queued for ``client`` of ``room`` (registering it on first sight)."""
        with self._lock:
            clients = self._queues.setdefault(room, {})
            if client not in clients:
                clients[client] = self._backlog.pop(room, [])
            events, clients[client] = clients[client], []
            return events


def _state(request: Request) -> FakeJitsiState:
    return request.app.state.fake


def _room(request: Request) -> str | None:
    return request.query_params.get("room") or None


async def _external_api(request: Request) -> Response:
    return Response(request.app.state.api_js, media_type="application/javascript")


def conference_page(room: str, tenant: str) -> str:
    """The conference page shown inside the API's iframe: a few participant tiles."""
    esc = html.escape
    tiles = "".join(
        f'<div class="tile" style="background:{colour}"><span>{esc(name)}</span></div>'
        for colour, name in _TILES
    )
    label = f"{tenant}/{room}" if tenant else room
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(label)} | Jitsi Meet</title>
<style>html, body {{ margin: 0; height: 100%; background: #040404; color: #fff;
                    font-family: "DejaVu Sans", sans-serif; overflow: hidden; }}
  #videospace {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1vw; padding: 1vw; height: 90vh; }}
  .tile {{ border-radius: 1vh; display: flex; align-items: flex-end; padding: 1vh; font-size: 2.5vh; }}
  h1 {{ margin: 0; padding: 1vh 1vw; font-size: 3vh; }}</style></head>
<body><h1 id="roomName">{esc(label)}</h1>
<div id="videospace" data-room="{esc(label)}">{tiles}</div></body></html>
"""


async def _conference(request: Request) -> Response:
    room = request.path_params["room"]
    tenant = request.path_params.get("tenant", "")
    full = f"{tenant}/{room}" if tenant else room
    _state(request).record("page_load", room=full, tenant=tenant or None, jwt=request.query_params.get("jwt"))
    return HTMLResponse(conference_page(room, tenant))


async def _event(request: Request) -> Response:
    event = await read_page_event(request)
    if isinstance(event, Response):
        return event
    kind, fields = event
    _state(request).record(kind, **fields)
    return Response(status_code=204)


async def _pending(request: Request) -> Response:
    room, client = _room(request), request.query_params.get("client")
    if not room or not client:
        return PlainTextResponse("room and client are required", status_code=400)
    return JSONResponse(_state(request).take(room, client))


async def _log(request: Request) -> Response:
    return JSONResponse(_state(request).records(request.query_params.get("kind")))


async def _reset(request: Request) -> Response:
    _state(request).reset()
    return Response(status_code=204)


def _control(request: Request, kind: str, events: list[dict[str, Any]], **fields: Any) -> Response:
    room = _room(request)
    if room is None:
        return PlainTextResponse("room is required", status_code=400)
    clients = _state(request).push(room, events)
    _state(request).record(kind, room=room, clients=clients, **fields)
    return JSONResponse({"clients": clients})


async def _kick(request: Request) -> Response:
    kicked = {"kicked": {"id": LOCAL_ID, "local": True}, "kicker": {"id": MODERATOR_ID}}
    left = {"roomName": _room(request)}
    events = [{"name": "participantKickedOut", "data": kicked}, {"name": "videoConferenceLeft", "data": left}]
    return _control(request, "ctl_kick", events)


async def _end(request: Request) -> Response:
    events = [
        {"name": "videoConferenceLeft", "data": {"roomName": _room(request)}},
        {"name": "readyToClose", "data": {}},
    ]
    return _control(request, "ctl_end", events)


async def _error(request: Request) -> Response:
    name = request.query_params.get("name", "conference.connectionError.someError")
    # The documented errorOccurred payload (handbook, dev-guide-iframe-events): flat, not nested.
    data = {
        "name": name,
        "message": request.query_params.get("message", f"fake {name}"),
        "type": request.query_params.get("type", "CONNECTION"),
        "isFatal": request.query_params.get("fatal", "true") != "false",
        "details": {},
    }
    return _control(request, "ctl_error", [{"name": "errorOccurred", "data": data}], error=name)


async def _remote_mute(request: Request) -> Response:
    return _control(request, "ctl_remote_mute", [{"name": "audioMuteStatusChanged", "data": {"muted": True}}])


async def _no_favicon(request: Request) -> Response:
    return Response(status_code=404)


def _read_api_js() -> str:
    from importlib.resources import files

    return (files("roomagent.demo") / "fake_external_api.js").read_text(encoding="utf-8")


def create_jitsi_app() -> Starlette:
    """A fresh fake Jitsi Meet server; its log and event queues are ``app.state.fake``."""
    routes = [
        Route("/external_api.js", _external_api),
        Route("/_fake/event", _event, methods=["POST"]),
        Route("/_fake/pending", _pending),
        Route("/_fake/log", _log),
        Route("/_fake/reset", _reset, methods=["POST"]),
        Route("/_fake/kick", _kick, methods=["POST"]),
        Route("/_fake/end", _end, methods=["POST"]),
        Route("/_fake/error", _error, methods=["POST"]),
        Route("/_fake/remote_mute", _remote_mute, methods=["POST"]),
        # Browsers ask for it on their own; it must not count as a conference called "favicon.ico".
        Route("/favicon.ico", _no_favicon),
        Route("/{room}", _conference),
        Route("/{tenant}/{room}", _conference),
    ]
    # A wrapper page served from elsewhere (another origin, a data: URL) may still use the API; the
    # real external_api.js talks to its iframe by postMessage and needs no CORS, our fetches do.
    cors = Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"], allow_headers=["*"])
    middleware = [cors]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.fake = FakeJitsiState()
    app.state.api_js = _read_api_js()
    return app

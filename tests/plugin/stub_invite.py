"""A STUB of the invite service's HTTP contract (INVITE_API.md), for developing the plugin alone.

It is not the invite service: it checks no session, holds no secret, talks to no directory and no room.
A test plays the room itself (:meth:`StubInvite.join`). The real chain is exercised in
``test_plugin_e2e.py``; this stub keeps the plugin's own behaviour (dialogs, errors in words, polling)
testable when that chain is not the subject.
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

SERVERS = [
    {"id": "uni-a", "name": "University A", "url": "https://dir.uni-a.example", "default": True, "available": True},
    *({"id": f"inst-{n:02d}", "name": f"Institute {n:02d}", "url": f"https://dir.inst-{n:02d}.example",
       "default": False, "available": n != 3} for n in range(1, 8)),
]
ROOM_STATE = {
    "state": "in_meeting", "layout": "lecture", "layouts": ["lecture", "discussion", "slides"], "muted": False,
    "sources": [{"id": "hdmi1", "name": "HDMI 1", "label": "Lectern", "present": True, "signal": True},
                {"id": "hdmi2", "name": "HDMI 2", "label": "Wall", "present": True, "signal": False}],
    "sharing": None,
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class StubInvite:
    """The stub's state; ``app`` serves the contract's four endpoints."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rooms: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.tokens: list[str] = []
        self.directory_down = False
        self.rate_limited = False
        #: ``(status, body)`` that GET /servers answers instead: a dict as JSON, a str as HTML (a proxy's page).
        self.servers_failure: tuple[int, dict[str, Any] | str] | None = None
        self.app = Starlette(routes=[
            Route("/servers", self._servers),
            Route("/invites", self._invites, methods=["POST"]),
            Route("/room", self._room),
            Route("/room/commands", self._command, methods=["POST"]),
        ])

    def join(self, invite: str) -> None:
        """The room redeemed ``invite`` and is in the meeting."""
        with self._lock:
            room = next(r for r in self.rooms if r["invite"] == invite)
            room.update(status="joined", room={"id": "h0104", "name": "Lecture Hall 1"},
                        state={**ROOM_STATE, "sources": [dict(s) for s in ROOM_STATE["sources"]]})

    async def _servers(self, request: Request) -> Response:
        self.tokens.append(request.headers.get("x-session-token", ""))
        if self.servers_failure is not None:
            status, body = self.servers_failure
            return JSONResponse(body, status_code=status) if isinstance(body, dict) else HTMLResponse(body, status)
        if self.directory_down:
            return _error(502, "directory_unavailable", "The directory cannot be reached.")
        q = request.query_params
        search = q.get("search", "").lower()
        page, per_page = int(q.get("page", "1")), int(q.get("per_page", "10"))
        hits = [s for s in SERVERS if search in s["name"].lower()]
        return JSONResponse({"servers": hits[(page - 1) * per_page : page * per_page], "total": len(hits),
                             "page": page, "per_page": per_page})

    async def _invites(self, request: Request) -> JSONResponse:
        if self.rate_limited:
            answer = _error(429, "rate_limited", "Too many invites.")
            answer.headers["Retry-After"] = "30"
            return answer
        wanted = (await request.json()).get("server_id")
        server = next((s for s in SERVERS if s["id"] == wanted), None)
        if server is None:
            return _error(404, "unknown_server", "No such institution.")
        expires = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
        code = "-".join(secrets.token_hex(2).upper()[:3] for _ in range(3))
        entry = {"invite": secrets.token_hex(6), "code": code, "expires": expires,
                 "server": {k: server[k] for k in ("id", "name", "url")}, "status": "waiting", "room": None,
                 "state": None}
        with self._lock:
            self.rooms.insert(0, entry)
        return JSONResponse({k: entry[k] for k in ("invite", "code", "expires", "server")}, status_code=201)

    async def _room(self, request: Request) -> JSONResponse:
        with self._lock:
            return JSONResponse({"rooms": [dict(r) for r in self.rooms]})

    async def _command(self, request: Request) -> JSONResponse:
        body = await request.json()
        command = body.get("command") or {}
        with self._lock:
            self.commands.append(command)
            room = next((r for r in self.rooms if r["invite"] == body.get("invite")), None)
            if room is None or room["status"] != "joined":
                return _error(409, "room_not_joined", "The room has not joined.")
            state, action, reply = room["state"], command.get("action"), {"id": secrets.token_hex(4), "status": "ok"}
            if action == "set_layout":
                state["layout"] = command["layout"]
            elif action in ("mute", "unmute"):
                state["muted"] = action == "mute"
            elif action == "share_source":
                source = next(s for s in state["sources"] if s["id"] == command["source"])
                if not source["signal"]:
                    reply = {**reply, "status": "error", "error": {"code": "no_signal", "message": "no picture"}}
                else:
                    state["sharing"] = source["id"]
            elif action == "stop_share":
                state["sharing"] = None
            elif action == "leave":
                room["status"] = "left"
            return JSONResponse(reply)

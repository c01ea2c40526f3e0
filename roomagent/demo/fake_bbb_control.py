"""The fake BigBlueButton's test controls (``/_fake/*``) and its logged-out page.

``/_fake/log`` and ``/_fake/reset`` read and clear the record log; ``/_fake/end``, ``kick``, ``mute``
and ``role`` act on sessions as a moderator or the server would; ``/_fake/event`` is where the client
page reports what happened in it; ``/_fake/status`` is what that page polls.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from roomagent.demo.fake_bbb_api import ROLES
from roomagent.demo.fake_bbb_page import logged_out_page
from roomagent.demo.fake_bbb_state import BbbSession, FakeBbbState
from roomagent.demo.meeting_server import read_page_event


def _state(request: Request) -> FakeBbbState:
    return request.app.state.fake


async def _logged_out(request: Request) -> Response:
    return HTMLResponse(logged_out_page(request.query_params.get("reason", "")))


async def _event(request: Request) -> Response:
    event = await read_page_event(request)
    if isinstance(event, Response):
        return event
    kind, fields = event
    state = _state(request)
    state.record(kind, state.session(fields.get("token")), **fields)
    return Response(status_code=204)


async def _log(request: Request) -> Response:
    return JSONResponse(_state(request).records(request.query_params.get("kind")))


async def _reset(request: Request) -> Response:
    _state(request).reset()
    return Response(status_code=204)


async def _status(request: Request) -> Response:
    return JSONResponse(_state(request).status(request.query_params.get("sessionToken", "")))


async def _end(request: Request) -> Response:
    state = _state(request)
    meeting = request.query_params.get("meetingID", "")
    if not meeting:
        return PlainTextResponse("meetingID is required", status_code=400)
    count = state.end(meeting)
    state.record("ctl_end", meeting=meeting, sessions=count)
    return JSONResponse({"sessions": count})


def _targeted(request: Request, kind: str, act: Callable[[list[BbbSession]], None]) -> Response:
    state, q = _state(request), request.query_params
    sessions = state.select(q.get("sessionName"), q.get("token"))
    if not sessions:
        # A 404 makes a typo in a test's session name fail loudly instead of waiting in vain.
        return JSONResponse({"sessions": 0}, status_code=404)
    act(sessions)
    for s in sessions:
        state.record(kind, s)
    return JSONResponse({"sessions": len(sessions)})


async def _kick(request: Request) -> Response:
    return _targeted(request, "ctl_kick", _state(request).kick)


async def _mute(request: Request) -> Response:
    return _targeted(request, "ctl_mute", _state(request).moderator_mute)


async def _role(request: Request) -> Response:
    role = request.query_params.get("role", "").upper()
    if role not in ROLES:
        return PlainTextResponse("role must be MODERATOR or VIEWER", status_code=400)
    return _targeted(request, "ctl_role", lambda sessions: _state(request).set_role(sessions, role))


def log_routes() -> list[Route]:
    """``GET /_fake/log`` and ``POST /_fake/reset`` (a fake Scalelite has these too)."""
    return [Route("/_fake/log", _log), Route("/_fake/reset", _reset, methods=["POST"])]


def control_routes() -> list[Route]:
    """Every route of this module."""
    return [
        Route("/", _logged_out),
        Route("/_fake/event", _event, methods=["POST"]),
        *log_routes(),
        Route("/_fake/status", _status),
        Route("/_fake/end", _end, methods=["POST"]),
        Route("/_fake/kick", _kick, methods=["POST"]),
        Route("/_fake/mute", _mute, methods=["POST"]),
        Route("/_fake/role", _role, methods=["POST"]),
    ]

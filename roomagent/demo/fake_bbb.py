"""A fake BigBlueButton 3 server (and a fake Scalelite in front of it) for the adapter tests and the demo.

It reproduces the surfaces DESIGN.md §3.3 builds on, nothing more:

* ``GET /bigbluebutton/api/join`` answers 302 to ``/html5client/join?sessionToken=…`` and sets a
  ``JSESSIONID`` cookie (Path=/bigbluebutton) that binds the new session to this browser profile;
* ``GET /bigbluebutton/api/getJoinUrl`` mints a further join URL for the same user, honoured only
  with that cookie (bbb-web's session binding); absent on a BBB 2.x server (``get_join_url=False``);
* ``GET /bigbluebutton/api/enter`` tells the client page who it is, again only with the cookie;
* ``GET /html5client/join`` is a small client page with the ui-command layout events, the
  ``data-test`` buttons, ``getDisplayMedia`` on the share button and BBB's unload handlers
  (see ``fake_bbb_page.py`` and ``fake_bbb_client.js``).

With a ``secret`` the fake also checks checksums and knows meetings and roles: ``create``,
``getMeetingInfo``, ``isMeetingRunning``, ``end`` and bbb-web's session checks are in ``fake_bbb_api.py``;
joins then need a created meeting and a role, and ``getJoinUrl`` clones the calling user (same user id
and role). Plugins and the ``/roomagent-invite/`` proxy are in ``fake_bbb_plugins.py``.

Everything that happens is recorded in a thread-safe log (``app.state.fake``, also ``GET /_fake/log``);
the ``/_fake/*`` endpoints let a test end a meeting, kick or mute a session. Absolute URLs use the base
URL the request came in on, so the same app answers correctly as ``127.0.0.1`` and as ``localhost``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from roomagent.demo.bbb_generations import DEFAULT_GENERATION, BbbGeneration
from roomagent.demo.bbb_generations import generation as generation_named
from roomagent.demo.fake_bbb_api import ROLES, MeetingRegistry, api_routes, checksum_ok
from roomagent.demo.fake_bbb_page import client_page, logged_out_page
from roomagent.demo.fake_bbb_plugins import DEFAULT_PLUGIN_SETTINGS, plugin_head, plugin_routes
from roomagent.demo.fake_bbb_viewer import surviving_join_params
from roomagent.demo.meeting_server import LoadLog
from roomagent.invite.checksum import signed_query

#: The layouts bbb-web accepts for ``enforceLayout`` (BBB 3.0 API documentation).
LAYOUTS = frozenset(
    "PRESENTATION_ONLY CAMERAS_ONLY PARTICIPANTS_AND_CHAT_ONLY MEDIA_ONLY CUSTOM_LAYOUT SMART_LAYOUT"
    " PRESENTATION_FOCUS VIDEO_FOCUS".split()
)
SESSION_COOKIE = "JSESSIONID"
USERDATA_PREFIX = "userdata-"


@dataclass
class BbbSession:
    """One joined client session, as bbb-web keeps it behind a ``sessionToken``."""

    token: str
    meeting: str
    full_name: str
    session_name: str
    enforce_layout: str
    userdata: dict[str, str]
    jsessionid: str
    parent: str | None
    user_id: str = ""
    ext_user_id: str = ""
    role: str = "VIEWER"
    presenter: bool = False
    kicked: bool = False
    mute_pending: bool = field(default=False, repr=False)

    def info(self) -> dict[str, Any]:
        """What ``enter`` tells the client page."""
        return {
            "meetingID": self.meeting,
            "fullname": self.full_name,
            "sessionName": self.session_name,
            "enforceLayout": self.enforce_layout,
            "userdata": dict(self.userdata),
            "sessionToken": self.token,
        }


class FakeBbbState:
    """Sessions, ended meetings and the record log of one fake server; safe to use from any thread."""

    def __init__(self, *, get_join_url: bool, layout_events: tuple[str, ...], status_poll_ms: int,
                 secret: str | None = None, graphql_user_agent_check: bool = False,
                 generation: BbbGeneration = DEFAULT_GENERATION) -> None:
        self.get_join_url = get_join_url
        #: Which upstream 3.0.x variant this server reproduces (``bbb_generations.py``).
        self.generation = generation
        #: With a secret: checksums are checked, joins need a created meeting and a role.
        self.secret = secret
        #: One bbb-web version answers checkGraphqlAuthorization only to a hasura-graphql-engine User-Agent.
        self.graphql_user_agent_check = graphql_user_agent_check
        self.meetings = MeetingRegistry()
        self.layout_events = tuple(layout_events)
        self.status_poll_ms = status_poll_ms
        self._lock = threading.Lock()
        self._log = LoadLog()
        self._sessions: dict[str, BbbSession] = {}
        self._ended: set[str] = set()

    def record(self, kind: str, session: BbbSession | None = None, /, **fields: Any) -> None:
        """Append ``{"kind", "token", "session_name", "meeting", "t", **fields}`` to the log."""
        entry: dict[str, Any] = {"kind": kind}
        for key in ("token", "session_name", "meeting"):
            entry[key] = fields.pop(key, None)
        if session is not None:
            entry.update(token=session.token, session_name=session.session_name, meeting=session.meeting)
        entry.update(fields, t=time.time())
        self._log.add(entry)

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The log, oldest first, optionally only records of ``kind``."""
        return self._log.snapshot(kind)

    def reset(self) -> None:
        """Forget every record, session and ended meeting."""
        with self._lock:
            self._sessions.clear()
            self._ended.clear()
        self.meetings.clear()
        self._log.clear()

    def add_session(self, session: BbbSession) -> None:
        """Register a freshly joined session."""
        with self._lock:
            self._sessions[session.token] = session

    def session(self, token: str | None) -> BbbSession | None:
        """The session behind ``token``, if any."""
        with self._lock:
            return self._sessions.get(token or "")

    def attendees(self, meeting: str) -> list[BbbSession]:
        """The users in ``meeting`` (one entry per user id, however many sessions it has), oldest first."""
        with self._lock:
            if meeting in self._ended:
                return []
            users: dict[str, BbbSession] = {}
            for s in self._sessions.values():
                if s.meeting == meeting and not s.kicked:
                    users.setdefault(s.user_id, s)
            return list(users.values())

    def set_role(self, sessions: list[BbbSession], role: str) -> None:
        """Promote or demote the users of ``sessions`` (every session of each user)."""
        with self._lock:
            users = {s.user_id for s in sessions}
            for s in self._sessions.values():
                if s.user_id in users:
                    s.role = role

    def end(self, meeting: str) -> int:
        """Mark ``meeting`` ended; returns how many sessions were in it."""
        with self._lock:
            self._ended.add(meeting)
            created = self.meetings.get(meeting)
            if created is not None:
                created.ended = True
            return sum(1 for s in self._sessions.values() if s.meeting == meeting)

    def ended(self, meeting: str) -> bool:
        """True once :meth:`end` was called for ``meeting``."""
        with self._lock:
            return meeting in self._ended

    def select(self, session_name: str | None, token: str | None) -> list[BbbSession]:
        """Sessions matching ``token`` and/or ``session_name`` (none when neither is given)."""
        if not session_name and not token:
            return []
        with self._lock:
            return [
                s
                for s in self._sessions.values()
                if (not token or s.token == token) and (not session_name or s.session_name == session_name)
            ]

    def status(self, token: str) -> dict[str, Any]:
        """What the client page's poll sees; a pending moderator mute is delivered once."""
        with self._lock:
            s = self._sessions.get(token)
            if s is None:
                return {"ended": False, "kicked": False, "muted_by_moderator": False, "known": False}
            muted, s.mute_pending = s.mute_pending, False
            ended = s.meeting in self._ended
            return {"ended": ended, "kicked": s.kicked, "muted_by_moderator": muted, "known": True}

    def kick(self, sessions: list[BbbSession]) -> None:
        """Remove ``sessions`` from their meeting (their pages leave on the next poll)."""
        with self._lock:
            for s in sessions:
                s.kicked = True

    def moderator_mute(self, sessions: list[BbbSession]) -> None:
        """Let a moderator mute ``sessions`` (their pages flip the mic on the next poll)."""
        with self._lock:
            for s in sessions:
                s.mute_pending = True


def base_url(request: Request) -> str:
    """``scheme://host:port`` the request was addressed to (no trailing slash)."""
    return f"{request.url.scheme}://{request.url.netloc}"


def _state(request: Request) -> FakeBbbState:
    return request.app.state.fake


def _xml_failed(key: str, message: str) -> Response:
    body = (
        "<response><returncode>FAILED</returncode>"
        f"<messageKey>{escape(key)}</messageKey><message>{escape(message)}</message></response>"
    )
    return Response(body, media_type="text/xml")


def _json_failed(key: str, message: str) -> JSONResponse:
    return JSONResponse({"response": {"returncode": "FAILED", "messageKey": key, "message": message}})


def _userdata(request: Request) -> dict[str, str]:
    return {
        k[len(USERDATA_PREFIX) :]: v for k, v in request.query_params.items() if k.startswith(USERDATA_PREFIX)
    }


def fake_checksum() -> str:
    """40 hex digits, shaped like bbb-web's SHA-1 checksum (nothing checks it here)."""
    return secrets.token_hex(20)


def _join_role(state: FakeBbbState, q, parent: BbbSession | None) -> str | None:
    """The role of a join: the parent's for a getJoinUrl clone, else ``role`` or the meeting's password."""
    if parent is not None:
        return parent.role
    role = q.get("role", "").upper()
    if role in ROLES:
        return role
    created = state.meetings.get(q.get("meetingID", ""))
    password = q.get("password")
    if created is not None and password:
        if password == created.moderator_pw:
            return "MODERATOR"
        if password == created.attendee_pw:
            return "VIEWER"
        return None
    return None if state.secret is not None else "VIEWER"


def _join_refused(state: FakeBbbState, request: Request, meeting: str) -> Response | None:
    """Why a join is refused, or ``None``."""
    q = request.query_params
    if not meeting or not q.get("checksum") or not checksum_ok(request, "join"):
        state.record("join", meeting=meeting or None, ok=False, reason="checksumError")
        return _xml_failed("checksumError", "Checksums do not match")
    created = state.meetings.get(meeting)
    if state.ended(meeting) or (state.secret is not None and created is None):
        state.record("join", meeting=meeting, ok=False, reason="meetingNotFound")
        return _xml_failed("meetingNotFound", "We could not find a meeting with that meeting ID")
    if created is not None and q.get("createTime") and q.get("createTime") != str(created.create_time):
        state.record("join", meeting=meeting, ok=False, reason="mismatchCreateTime")
        return _xml_failed("mismatchCreateTime", "The createTime parameter submitted mismatches with the current meeting.")
    return None


async def _join(request: Request) -> Response:
    state, q = _state(request), request.query_params
    meeting = q.get("meetingID", "")
    refused = _join_refused(state, request, meeting)
    if refused is not None:
        return refused
    parent = state.session(q.get("parent"))
    parent = parent if parent is not None and parent.meeting == meeting else None
    role = _join_role(state, q, parent)
    if role is None:
        state.record("join", meeting=meeting, ok=False, reason="invalidPassword")
        return _xml_failed("invalidPassword", "You either did not supply a password or the password supplied is "
                           "neither the attendee or moderator password for this conference.")
    user_id = parent.user_id if parent else "w_" + secrets.token_hex(6)
    session = BbbSession(
        token=secrets.token_hex(8),
        meeting=meeting,
        full_name=q.get("fullName", ""),
        session_name=q.get("sessionName", ""),
        enforce_layout=q.get("enforceLayout", ""),
        userdata=_userdata(request),
        jsessionid=secrets.token_hex(16).upper(),
        parent=q.get("parent") or None,
        user_id=user_id,
        ext_user_id=parent.ext_user_id if parent else (q.get("userID") or user_id),
        role=role,
    )
    state.add_session(session)
    state.record(
        "join",
        session,
        ok=True,
        full_name=session.full_name,
        enforce_layout=session.enforce_layout,
        userdata=dict(session.userdata),
        parent=session.parent,
        user_id=session.user_id,
        ext_user_id=session.ext_user_id,
        role=session.role,
        host=request.url.netloc,
        cookie_sent=request.cookies.get(SESSION_COOKIE),
    )
    response = RedirectResponse(f"{base_url(request)}/html5client/join?sessionToken={session.token}", 302)
    # Path=/: BBB 3.0 clients send JSESSIONID to /api/rest/* and /graphql too, which nginx checks with
    # bbb-web's checkGraphqlAuthorization (BBB issue #25212), and so to the invite service on the same host.
    response.set_cookie(SESSION_COOKIE, session.jsessionid, path="/", httponly=True)
    return response


def _bound_session(request: Request) -> BbbSession | None:
    """The session named by ``sessionToken`` if this request carries the cookie its join set."""
    session = _state(request).session(request.query_params.get("sessionToken"))
    cookie = request.cookies.get(SESSION_COOKIE)
    if session is None or not cookie or not secrets.compare_digest(cookie, session.jsessionid):
        return None
    return session


async def _get_join_url(request: Request) -> Response:
    state, q = _state(request), request.query_params
    if not state.get_join_url:
        return PlainTextResponse("Not Found", status_code=404)
    token = q.get("sessionToken", "")
    session_name, layout, userdata = q.get("sessionName", ""), q.get("enforceLayout", ""), _userdata(request)
    session = _bound_session(request)
    common = {"token": token, "session_name": session_name, "enforce_layout": layout, "userdata": userdata}
    if session is None:
        state.record("getJoinUrl", meeting=None, ok=False, reason="invalidSession", **common)
        return _json_failed("invalidSession", "Invalid session token or no session cookie")
    if layout and layout not in LAYOUTS:
        state.record("getJoinUrl", meeting=session.meeting, ok=False, reason="invalidLayout", **common)
        return _json_failed("invalidLayout", f"Unknown layout {layout}")
    params = {"meetingID": session.meeting, "fullName": session.full_name, "sessionName": session_name}
    if layout:
        params["enforceLayout"] = layout
    params.update({USERDATA_PREFIX + k: v for k, v in userdata.items()})
    params["parent"] = session.token
    params = surviving_join_params(state.generation, session, params)  # a VIEWER's may be dropped (issue 20)
    if state.secret is not None:  # bbb-web signs the URL it mints with its own secret
        query = signed_query("join", params, state.secret)
    else:
        query = urlencode({**params, "checksum": fake_checksum()})
    url = f"{base_url(request)}/bigbluebutton/api/join?{query}"
    state.record("getJoinUrl", meeting=session.meeting, ok=True, url=url, **common)
    return JSONResponse({"response": {"returncode": "SUCCESS", "message": "Join URL provided", "url": url}})


async def _enter(request: Request) -> Response:
    session = _bound_session(request)
    if session is None:
        return _json_failed("missingSession", "Session not found")
    return JSONResponse({"response": {"returncode": "SUCCESS", **session.info()}})


async def _client(request: Request) -> Response:
    state = _state(request)
    token = request.query_params.get("sessionToken", "")
    config = {
        "token": token,
        "pollMs": state.status_poll_ms,
        "layoutEvents": list(state.layout_events),
        "base": base_url(request),
        "generation": state.generation.client_facts(),
    }
    session = state.session(token)
    meeting = state.meetings.get(session.meeting) if session is not None else None
    head = ""
    if session is not None and meeting is not None and meeting.plugin_manifests:
        head = plugin_head(session, meeting, request.app.state.plugin_settings)
    return HTMLResponse(client_page(config, request.app.state.client_js, head))


async def _logged_out(request: Request) -> Response:
    return HTMLResponse(logged_out_page(request.query_params.get("reason", "")))


async def _event(request: Request) -> Response:
    # sendBeacon posts text/plain, fetch posts application/json: read the body either way.
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return PlainTextResponse("body is not JSON", status_code=400)
    if not isinstance(body, dict) or not isinstance(body.get("kind"), str) or not body["kind"]:
        return PlainTextResponse("a JSON object with a 'kind' is required", status_code=400)
    state = _state(request)
    kind = body.pop("kind")
    state.record(kind, state.session(body.get("token")), **body)
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


def _read_client_js() -> str:
    from importlib.resources import files

    return (files("roomagent.demo") / "fake_bbb_client.js").read_text(encoding="utf-8")


def create_bbb_app(
    *,
    get_join_url: bool = True,
    layout_events: tuple[str, ...] | None = None,
    status_poll_ms: int = 250,
    secret: str | None = None,
    plugin_dir: str | Path | None = None,
    invite_base: str | None = None,
    plugin_settings: dict[str, Any] | None = None,
    graphql_user_agent_check: bool = False,
    generation: BbbGeneration | str = DEFAULT_GENERATION,
) -> Starlette:
    """A fresh fake BBB server; its state and log are ``app.state.fake`` (a :class:`FakeBbbState`).

    ``get_join_url=False`` is a BBB 2.x server (no getJoinUrl); ``layout_events`` are the window event
    names the client page listens to (``("CHANGE_ENFORCED_LAYOUT",)`` = an early 3.0 client);
    ``status_poll_ms`` is how often the page asks whether it was ended, kicked or muted.

    ``secret``: check checksums, require created meetings and roles (see the module docstring).
    ``plugin_dir``: the repository's ``bbb-plugin/`` (its ``host/`` and ``dist/`` are served);
    ``invite_base``: where ``/roomagent-invite/`` forwards to (also settable later as
    ``app.state.invite_base``); ``plugin_settings``: what the plugins read as their settings.
    ``generation``: the upstream 3.0.x variant to reproduce (a :class:`BbbGeneration` or its name);
    ``layout_events`` defaults to that generation's.
    """
    gen = generation_named(generation) if isinstance(generation, str) else generation
    routes = [
        Route("/", _logged_out),
        Route("/bigbluebutton/api/join", _join),
        Route("/bigbluebutton/api/getJoinUrl", _get_join_url),
        Route("/bigbluebutton/api/enter", _enter),
        Route("/html5client/join", _client),
        Route("/_fake/event", _event, methods=["POST"]),
        Route("/_fake/log", _log),
        Route("/_fake/reset", _reset, methods=["POST"]),
        Route("/_fake/status", _status),
        Route("/_fake/end", _end, methods=["POST"]),
        Route("/_fake/kick", _kick, methods=["POST"]),
        Route("/_fake/mute", _mute, methods=["POST"]),
        Route("/_fake/role", _role, methods=["POST"]),
        *api_routes(),
        *plugin_routes(Path(plugin_dir) if plugin_dir is not None else None),
    ]
    app = Starlette(routes=routes)
    app.state.fake = FakeBbbState(
        get_join_url=get_join_url, layout_events=gen.layout_events if layout_events is None else layout_events,
        status_poll_ms=status_poll_ms, secret=secret, graphql_user_agent_check=graphql_user_agent_check,
        generation=gen,
    )
    app.state.client_js = _read_client_js()
    app.state.invite_base = invite_base
    app.state.plugin_settings = plugin_settings if plugin_settings is not None else DEFAULT_PLUGIN_SETTINGS
    return app


# -- Scalelite ---------------------------------------------------------------------------------------


async def _scalelite_join(request: Request) -> Response:
    state: FakeBbbState = request.app.state.fake
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "checksum"]
    # Scalelite re-signs the call with the chosen server's secret, so the checksum changes on the way.
    params.append(("checksum", fake_checksum()))
    target = f"{request.app.state.target_base}/bigbluebutton/api/join?{urlencode(params)}"
    state.record("join", meeting=request.query_params.get("meetingID"), target=target, host=request.url.netloc)
    return RedirectResponse(target, 302)


def create_scalelite_app(target_base: str) -> Starlette:
    """A fake Scalelite: ``/bigbluebutton/api/join`` answers 302 to the same call on ``target_base``.

    Its own log (``app.state.fake``, ``GET /_fake/log``, ``POST /_fake/reset``) records each redirect
    as ``{"kind": "join", "meeting", "target", "host"}``; every other path is a 404.
    """
    app = Starlette(
        routes=[
            Route("/bigbluebutton/api/join", _scalelite_join),
            Route("/_fake/log", _log),
            Route("/_fake/reset", _reset, methods=["POST"]),
        ]
    )
    app.state.fake = FakeBbbState(get_join_url=False, layout_events=(), status_poll_ms=0)
    app.state.target_base = target_base.rstrip("/")
    return app

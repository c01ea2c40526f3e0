"""The fake BigBlueButton's join surfaces: ``join``, ``getJoinUrl``, ``enter`` and the client page.

* ``GET /bigbluebutton/api/join`` answers 302 to ``/html5client/join?sessionToken=…`` and sets the
  ``JSESSIONID`` cookie that binds the new session to this browser profile;
* ``GET /bigbluebutton/api/getJoinUrl`` mints a further join URL for the same user, honoured only with
  that cookie (bbb-web's session binding);
* ``GET /bigbluebutton/api/enter`` tells the client page who it is, again only with the cookie;
* ``GET /html5client/join`` is the client page (``fake_bbb_page.py``, ``fake_bbb_client.js``).
"""

from __future__ import annotations

import secrets
from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from roomagent.demo.fake_bbb_api import ROLES, checksum_ok
from roomagent.demo.fake_bbb_page import client_page
from roomagent.demo.fake_bbb_plugins import plugin_head
from roomagent.demo.fake_bbb_state import BbbSession, FakeBbbState
from roomagent.demo.fake_bbb_viewer import surviving_join_params
from roomagent.invite.checksum import signed_query

#: The layouts bbb-web accepts for ``enforceLayout`` (BBB 3.0 API documentation).
LAYOUTS = frozenset(
    "PRESENTATION_ONLY CAMERAS_ONLY PARTICIPANTS_AND_CHAT_ONLY MEDIA_ONLY CUSTOM_LAYOUT SMART_LAYOUT"
    " PRESENTATION_FOCUS VIDEO_FOCUS".split()
)
SESSION_COOKIE = "JSESSIONID"
USERDATA_PREFIX = "userdata-"

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


def join_routes() -> list[Route]:
    """The routes this module adds to the fake BigBlueButton."""
    return [
        Route("/bigbluebutton/api/join", _join),
        Route("/bigbluebutton/api/getJoinUrl", _get_join_url),
        Route("/bigbluebutton/api/enter", _enter),
        Route("/html5client/join", _client),
    ]

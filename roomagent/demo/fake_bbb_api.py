"""The fake BigBlueButton's administration API and bbb-web's session checks (DESIGN.md §3.4).

* the API root (versions), ``create``, ``getMeetingInfo``, ``getMeetings``, ``isMeetingRunning`` and
  ``end`` under ``/bigbluebutton/api/``, with checksum checking (:mod:`roomagent.invite.checksum`) when
  the fake has a secret; ``join`` itself lives in ``fake_bbb_join.py`` and uses :class:`MeetingRegistry`.
* ``/bigbluebutton/connection/checkAuthorization`` (session token in the ``x-original-uri`` query) and
  ``checkGraphqlAuthorization`` (``x-session-token`` header), as bbb-web 3.0 answers nginx's
  ``auth_request``: both need the ``JSESSIONID`` cookie of the join unless the meeting was created with
  ``allowRequestsWithoutSession=true``. ``checkGraphqlAuthorization`` takes the shape of the fake's
  generation (``bbb_generations.SessionCheck``; upstream ``ConnectionController.groovy``):
  **A** wants a ``hasura-graphql-engine`` User-Agent and answers only a JSON body of Hasura session
  variables (``X-Hasura-UserId``, ``X-Hasura-MeetingId`` = the *internal* meeting id,
  ``X-Hasura-ModeratorInMeeting``...), and answers a removed user's token even without the cookie;
  **B** answers identity headers (``Meeting-External-Id``, ``User-Id``, ``User-Is-Moderator``...);
  **C** adds ``User-Notes-Enabled``. Every shape still answers 200 for a user who was removed or whose
  meeting ended, which is why the invite service asks ``getMeetingInfo`` as well.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from roomagent.invite import checksum

if TYPE_CHECKING:
    from roomagent.demo.fake_bbb_state import BbbSession, FakeBbbState

ROLES = ("MODERATOR", "VIEWER")


@dataclass
class FakeMeeting:
    """One meeting created with ``create``."""

    meeting_id: str
    internal_id: str
    name: str
    create_time: int
    moderator_pw: str
    attendee_pw: str
    plugin_manifests: list[str] = field(default_factory=list)
    allow_requests_without_session: bool = False
    ended: bool = False


class MeetingRegistry:
    """Created meetings by external id; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._meetings: dict[str, FakeMeeting] = {}

    def create(self, meeting_id: str, **fields: Any) -> tuple[FakeMeeting, bool]:
        """The meeting ``meeting_id``, created now unless a running one exists (then ``False``)."""
        with self._lock:
            existing = self._meetings.get(meeting_id)
            if existing is not None and not existing.ended:
                return existing, False
            now = int(time.time() * 1000)
            internal = f"{hashlib.sha1(meeting_id.encode()).hexdigest()}-{now}"
            meeting = FakeMeeting(meeting_id=meeting_id, internal_id=internal, create_time=now, **fields)
            self._meetings[meeting_id] = meeting
            return meeting, True

    def get(self, meeting_id: str) -> FakeMeeting | None:
        """The meeting with this external id, ended ones included."""
        with self._lock:
            return self._meetings.get(meeting_id)

    def all(self) -> list[FakeMeeting]:
        """Every meeting, ended ones included, oldest first."""
        with self._lock:
            return list(self._meetings.values())

    def clear(self) -> None:
        """Forget every meeting."""
        with self._lock:
            self._meetings.clear()


def xml_response(returncode: str, **fields: Any) -> Response:
    """bbb-web's XML envelope; values may be strings, bools, numbers or pre-rendered XML (``_xml`` keys)."""
    parts = [f"<returncode>{returncode}</returncode>"]
    for key, value in fields.items():
        if key.endswith("_xml"):
            parts.append(value)
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(f"<{key}>{escape(text)}</{key}>")
    return Response("<response>" + "".join(parts) + "</response>", media_type="text/xml")


def failed(key: str, message: str) -> Response:
    """A ``FAILED`` answer with bbb-web's message key."""
    return xml_response("FAILED", messageKey=key, message=message)


def checksum_ok(request: Request, call: str) -> bool:
    """True when the fake has no secret (any checksum goes) or the call is correctly signed."""
    secret = request.app.state.fake.secret
    if secret is None:
        return True
    return checksum.valid(call, request.url.query, secret)


def _state(request: Request) -> FakeBbbState:
    return request.app.state.fake


async def _create(request: Request) -> Response:
    state, q = _state(request), request.query_params
    meeting_id = q.get("meetingID", "")
    if not checksum_ok(request, "create"):
        state.record("create", meeting=meeting_id or None, ok=False, reason="checksumError")
        return failed("checksumError", "Checksums do not match")
    if not meeting_id:
        return failed("missingParamMeetingID", "You must specify a meeting ID for the meeting.")
    try:
        manifests = [str(m["url"]) for m in json.loads(q.get("pluginManifests") or q.get("pluginsManifests") or "[]")]
    except (ValueError, TypeError, KeyError):
        return failed("invalidPluginManifests", "pluginManifests must be a JSON list of {\"url\": ...}")
    meeting, created = state.meetings.create(
        meeting_id,
        name=q.get("name", meeting_id),
        moderator_pw=q.get("moderatorPW", secrets.token_hex(4)),
        attendee_pw=q.get("attendeePW", secrets.token_hex(4)),
        plugin_manifests=manifests,
        allow_requests_without_session=q.get("allowRequestsWithoutSession", "").lower() == "true",
    )
    state.record("create", meeting=meeting_id, ok=True, created=created, plugins=manifests)
    extra = {} if created else {"messageKey": "duplicateWarning", "message": "This conference was already in existence"}
    return xml_response("SUCCESS", meetingID=meeting.meeting_id, internalMeetingID=meeting.internal_id,
                        createTime=meeting.create_time, moderatorPW=meeting.moderator_pw,
                        attendeePW=meeting.attendee_pw, **extra)


def _attendees_xml(users: list[BbbSession]) -> str:
    rows = []
    for s in users:
        rows.append(
            "<attendee>"
            f"<userID>{escape(s.user_id)}</userID><fullName>{escape(s.full_name)}</fullName>"
            f"<role>{s.role}</role><isPresenter>{str(s.presenter).lower()}</isPresenter>"
            "<isListeningOnly>false</isListeningOnly><hasJoinedVoice>false</hasJoinedVoice>"
            "<hasVideo>false</hasVideo><clientType>HTML5</clientType>"
            "</attendee>"
        )
    return "<attendees>" + "".join(rows) + "</attendees>"


async def _get_meeting_info(request: Request) -> Response:
    state = _state(request)
    meeting_id = request.query_params.get("meetingID", "")
    if not checksum_ok(request, "getMeetingInfo"):
        state.record("getMeetingInfo", meeting=meeting_id or None, ok=False, reason="checksumError")
        return failed("checksumError", "Checksums do not match")
    meeting = state.meetings.get(meeting_id)
    if meeting is None or meeting.ended:
        state.record("getMeetingInfo", meeting=meeting_id, ok=False, reason="notFound")
        return failed("notFound", "We could not find a meeting with that meeting ID")
    users = state.attendees(meeting_id)
    state.record("getMeetingInfo", meeting=meeting_id, ok=True)
    return xml_response(
        "SUCCESS", meetingName=meeting.name, meetingID=meeting.meeting_id, internalMeetingID=meeting.internal_id,
        createTime=meeting.create_time, running=bool(users), participantCount=len(users),
        moderatorCount=sum(1 for u in users if u.role == "MODERATOR"), attendees_xml=_attendees_xml(users),
    )


def _meeting_xml(state: FakeBbbState, meeting: FakeMeeting) -> str:
    users = state.attendees(meeting.meeting_id)
    return (
        f"<meeting><meetingName>{escape(meeting.name)}</meetingName><meetingID>{escape(meeting.meeting_id)}</meetingID>"
        f"<internalMeetingID>{meeting.internal_id}</internalMeetingID><createTime>{meeting.create_time}</createTime>"
        f"<running>{str(bool(users)).lower()}</running><participantCount>{len(users)}</participantCount>"
        f"{_attendees_xml(users)}</meeting>"
    )


async def _get_meetings(request: Request) -> Response:
    """Every running meeting with its attendees (bbb-web's ``get-meetings.ftlx``)."""
    state = _state(request)
    if not checksum_ok(request, "getMeetings"):
        state.record("getMeetings", ok=False, reason="checksumError")
        return failed("checksumError", "Checksums do not match")
    state.record("getMeetings", ok=True)
    running = [m for m in state.meetings.all() if not m.ended]
    if not running:
        return xml_response("SUCCESS", messageKey="noMeetings", message="no meetings were found on this server")
    return xml_response("SUCCESS", meetings_xml="<meetings>" + "".join(_meeting_xml(state, m) for m in running)
                        + "</meetings>")


async def _api_index(request: Request) -> Response:
    """``GET /bigbluebutton/api``: no checksum, the API and server versions."""
    return xml_response("SUCCESS", version="2.0", apiVersion="2.0",
                        bbbVersion=f"3.0.0-fake-{_state(request).generation.name}")


async def _is_meeting_running(request: Request) -> Response:
    meeting_id = request.query_params.get("meetingID", "")
    if not checksum_ok(request, "isMeetingRunning"):
        return failed("checksumError", "Checksums do not match")
    meeting = _state(request).meetings.get(meeting_id)
    running = meeting is not None and not meeting.ended and bool(_state(request).attendees(meeting_id))
    return xml_response("SUCCESS", running=running)


async def _end_api(request: Request) -> Response:
    state = _state(request)
    meeting_id = request.query_params.get("meetingID", "")
    if not checksum_ok(request, "end"):
        return failed("checksumError", "Checksums do not match")
    meeting = state.meetings.get(meeting_id)
    if meeting is None or meeting.ended:
        return failed("notFound", "We could not find a meeting with that meeting ID - perhaps the meeting is not yet running?")
    state.end(meeting_id)
    state.record("end", meeting=meeting_id, ok=True)
    return xml_response("SUCCESS", messageKey="sentEndMeetingRequest", message="A request to end the meeting was sent.")


def _cookie_session(request: Request, token: str) -> tuple[BbbSession | None, bool]:
    """The session behind ``token`` and whether the request may use it (its JSESSIONID, or the meeting's
    ``allowRequestsWithoutSession``)."""
    state = _state(request)
    session = state.session(token)
    if session is None:
        return None, False
    meeting = state.meetings.get(session.meeting)
    cookie = request.cookies.get("JSESSIONID", "")
    bound = bool(cookie) and secrets.compare_digest(cookie, session.jsessionid)
    return session, bound or (meeting is not None and meeting.allow_requests_without_session)


def _unauthorized(request: Request, kind: str, token: str, reason: str, *, as_json: bool = False) -> Response:
    _state(request).record(kind, token=token or None, ok=False, reason=reason)
    if as_json:  # checkGraphqlAuthorization renders its refusal as JSON in every version
        return JSONResponse({"response": "unauthorized"}, status_code=401, headers={"Cache-Control": "no-cache"})
    return Response("unauthorized", status_code=401, media_type="text/plain", headers={"Cache-Control": "no-cache"})


async def _check_authorization(request: Request) -> Response:
    # The same in every 3.0.x version read (ConnectionController A, B and C).
    uri = request.headers.get("x-original-uri", "")
    token = (parse_qs(urlsplit(uri).query).get("sessionToken") or [""])[0]
    session, allowed = _cookie_session(request, token)
    state = _state(request)
    if session is None or not allowed or session.kicked or state.ended(session.meeting):
        return _unauthorized(request, "checkAuthorization", token, "invalidSession")
    meeting = state.meetings.get(session.meeting)
    state.record("checkAuthorization", session, ok=True)
    headers = {
        "Cache-Control": "no-cache",
        "User-Id": session.user_id,
        "Meeting-Id": meeting.internal_id if meeting else session.meeting,
        "Voice-Bridge": "70001",
        "User-Name": quote(session.full_name),
    }
    return Response("authorized", media_type="text/plain", headers=headers)


def _hasura_body(session: BbbSession, internal_id: str, online: bool) -> dict[str, str]:
    """Version A's answer: Hasura session variables in a JSON body, no identity headers."""
    if not online:  # the removed-user branch
        return {"response": "authorized", "X-Hasura-Role": "not_joined_bbb_client", "X-Hasura-ModeratorInMeeting": "",
                "X-Hasura-PresenterInMeeting": "", "X-Hasura-UserId": session.user_id,
                "X-Hasura-MeetingId": internal_id}
    return {
        "response": "authorized",
        "X-Hasura-Role": "bbb_client",
        "X-Hasura-ModeratorInMeeting": internal_id if session.role == "MODERATOR" else "",
        "X-Hasura-PresenterInMeeting": internal_id if session.presenter else "",
        "X-Hasura-UserId": session.user_id,
        "X-Hasura-MeetingId": internal_id,
        "X-Hasura-CursorNotLockedInMeeting": internal_id,
        "X-Hasura-CursorLockedUserId": "",
        "X-Hasura-AnnotationsNotLockedInMeeting": internal_id,
        "X-Hasura-AnnotationsLockedUserId": "",
        "X-Hasura-UserListNotLockedInMeeting": internal_id,
        "X-Hasura-WebcamsNotLockedInMeeting": internal_id,
        "X-Hasura-WebcamsLockedUserId": "",
    }


async def _check_graphql_authorization(request: Request) -> Response:
    """bbb-web's ``checkGraphqlAuthorization`` in the shape of this fake's generation (A, B or C)."""
    state = _state(request)
    shape = state.generation.session_check
    kind = "checkGraphqlAuthorization"
    if shape == "A" and not request.headers.get("user-agent", "").startswith("hasura-graphql-engine"):
        return _unauthorized(request, kind, "", "invalidUserAgent", as_json=True)
    if shape != "A" and request.headers.get("x-original-method") == "OPTIONS":
        # B and C let nginx's CORS preflight through without any session.
        return Response("graphql-success", media_type="text/plain", headers={"Cache-Control": "no-cache"})
    token = request.headers.get("x-session-token", "")
    session, allowed = _cookie_session(request, token)
    online = session is not None and not session.kicked and not state.ended(session.meeting)
    # Version A answers a removed user's token without looking at the cookie; B and C check it first.
    if session is None or not (allowed or (shape == "A" and not online)):
        return _unauthorized(request, kind, token, "invalidSession", as_json=True)
    meeting = state.meetings.get(session.meeting)
    internal_id = meeting.internal_id if meeting else session.meeting
    state.record(kind, session, ok=True, online=online)
    if shape == "A":
        return JSONResponse(_hasura_body(session, internal_id, online), headers={"Cache-Control": "no-cache"})
    moderator = "true" if session.role == "MODERATOR" else "false"
    headers = {
        "Cache-Control": "no-cache",
        "Meeting-Id": internal_id,
        "Meeting-External-Id": session.meeting,
        "User-Id": session.user_id,
        "User-External-Id": session.ext_user_id,
        "User-Name": quote(session.full_name),
        "User-Is-Moderator": moderator,
        "User-Is-Presenter": "true" if session.presenter and online else "false",
    }
    if shape == "C":
        headers["User-Notes-Enabled"] = "true" if online else "false"
    body = {"response": "authorized", "X-Currently-Online": "true" if online else "false", "X-Moderator": moderator,
            "X-Presenter": headers["User-Is-Presenter"], "X-UserId": session.user_id, "X-MeetingId": internal_id}
    return JSONResponse(body, headers=headers)


def api_routes() -> list[Route]:
    """The routes this module adds to the fake BigBlueButton."""
    return [
        Route("/bigbluebutton/api", _api_index),
        Route("/bigbluebutton/api/", _api_index),
        Route("/bigbluebutton/api/create", _create),
        Route("/bigbluebutton/api/getMeetings", _get_meetings),
        Route("/bigbluebutton/api/getMeetingInfo", _get_meeting_info),
        Route("/bigbluebutton/api/isMeetingRunning", _is_meeting_running),
        Route("/bigbluebutton/api/end", _end_api),
        Route("/bigbluebutton/connection/checkAuthorization", _check_authorization),
        Route("/bigbluebutton/connection/checkGraphqlAuthorization", _check_graphql_authorization),
    ]

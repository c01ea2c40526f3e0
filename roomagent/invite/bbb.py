"""The invite service's calls to BigBlueButton: signed API calls and bbb-web's session check.

Every call is signed with the secret (:mod:`roomagent.invite.checksum`); URLs with a checksum are never
logged. Answers are bbb-web's XML (``getMeetingInfo``, ``getMeetings``) or the session check's answer.

bbb-web's ``ConnectionController.checkGraphqlAuthorization`` comes in three shapes across 3.0.x
(README "Installing on a BigBlueButton server"): **B** and **C** name the session in headers
(``Meeting-External-Id``, ``User-Id``, ``User-Is-Moderator``...); the oldest, **A**, checks for Hasura's
User-Agent and answers only a JSON body of Hasura session variables (``X-Hasura-UserId``,
``X-Hasura-MeetingId`` = the *internal* meeting id, ``X-Hasura-ModeratorInMeeting``). :meth:`BbbApi.check_session`
reads either; with A the external meeting id is unknown and :meth:`BbbApi.meeting_by_internal_id` finds
the meeting with ``getMeetings``. An answer in neither shape is ``identity_unsupported`` (503), not
"BigBlueButton unavailable": the server is reachable, it just does not say who the caller is.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import unquote

import httpx

from roomagent.invite.checksum import signed_query
from roomagent.invite.errors import InviteError
from roomagent.invite.settings import BbbSettings

log = logging.getLogger("roomagent.invite.bbb")

#: bbb-web answers a few kilobytes; a meeting with hundreds of attendees stays well below this.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
#: One bbb-web version answers checkGraphqlAuthorization only to Hasura's User-Agent (DESIGN.md §3.4).
SESSION_CHECK_AGENT = "hasura-graphql-engine (roomagent-invite)"
BBB_UNAVAILABLE = (502, "bbb_unavailable", "BigBlueButton cannot be reached right now; try again in a moment.")
#: The server answers, but its session check names nobody in a form this service reads.
IDENTITY_UNSUPPORTED = (503, "identity_unsupported", "This BigBlueButton server does not tell the invite service "
                        "who you are, so rooms cannot be invited from it yet. Ask the administrator to run "
                        "'roomagent invite check' on the server.")


CHECKSUM_REFUSED = (502, "bbb_error", "The invite service is misconfigured (BigBlueButton refused its signature); "
                    "tell the administrator.")


@dataclass(frozen=True)
class Attendee:
    """One user in a meeting as ``getMeetingInfo`` lists it."""

    user_id: str
    full_name: str
    role: str


@dataclass(frozen=True)
class MeetingInfo:
    """What ``getMeetingInfo`` says about a meeting."""

    meeting_id: str
    internal_id: str
    name: str
    create_time: str
    running: bool
    attendees: tuple[Attendee, ...]


@dataclass(frozen=True)
class SessionFacts:
    """What bbb-web's ``checkGraphqlAuthorization`` says about a session token."""

    internal_meeting_id: str
    meeting_id: str
    user_id: str
    user_name: str
    moderator: bool
    #: Which upstream shape answered: "A" (Hasura JSON body), "B" or "C" (headers; C has User-Notes-Enabled).
    shape: str = "B"


class BbbApi:
    """Signed calls to one BigBlueButton (or Scalelite); ``client`` is an ``httpx.AsyncClient``."""

    def __init__(self, settings: BbbSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    def _secret(self) -> str:
        assert self.settings.secret is not None  # the settings refuse a config without one
        return self.settings.secret.get_secret_value()

    def url(self, call: str, params: dict[str, str]) -> str:
        """The signed URL of ``call`` (a join URL for a room, or an API call)."""
        return self.settings.api_base + call + "?" + signed_query(call, params, self._secret(), self.settings.checksum)

    async def _xml(self, call: str, params: dict[str, str]) -> ET.Element:
        try:
            answer = await self.client.get(self.url(call, params), timeout=self.settings.timeout_s)
        except httpx.HTTPError as exc:
            log.warning("BigBlueButton %s failed: %s", call, type(exc).__name__)
            raise InviteError(*BBB_UNAVAILABLE) from None
        if answer.status_code != 200 or len(answer.content) > MAX_ANSWER_BYTES:
            log.warning("BigBlueButton %s answered HTTP %d", call, answer.status_code)
            raise InviteError(*BBB_UNAVAILABLE)
        try:
            return ET.fromstring(answer.content)
        except ET.ParseError:
            log.warning("BigBlueButton %s answered something that is not XML", call)
            raise InviteError(*BBB_UNAVAILABLE) from None

    async def meeting_info(self, meeting_id: str) -> MeetingInfo | None:
        """The meeting, or ``None`` when BigBlueButton does not know it (ended or never created)."""
        root = await self._xml("getMeetingInfo", {"meetingID": meeting_id})
        if root.findtext("returncode") != "SUCCESS":
            key = root.findtext("messageKey") or ""
            if key == "checksumError":
                log.error("BigBlueButton refused our checksum: check [bbb] secret and checksum")
                raise InviteError(*CHECKSUM_REFUSED)
            return None
        return parse_meeting(root, meeting_id)

    async def meeting_by_internal_id(self, internal_id: str) -> MeetingInfo | None:
        """The running meeting whose internal id is ``internal_id`` (``getMeetings``), or ``None``."""
        root = await self._xml("getMeetings", {})
        if root.findtext("returncode") != "SUCCESS":
            if (root.findtext("messageKey") or "") == "checksumError":
                log.error("BigBlueButton refused our checksum: check [bbb] secret and checksum")
                raise InviteError(*CHECKSUM_REFUSED)
            return None
        for element in root.iterfind("meetings/meeting"):
            if internal_id and element.findtext("internalMeetingID") == internal_id:
                return parse_meeting(element, "")
        return None

    async def check_session(self, token: str, cookie: str | None) -> SessionFacts | None:
        """bbb-web's verdict on ``token`` (with the caller's ``JSESSIONID``), or ``None`` when it refuses."""
        headers = {"x-session-token": token, "User-Agent": SESSION_CHECK_AGENT, "Accept": "application/json"}
        if cookie:
            headers["Cookie"] = f"JSESSIONID={cookie}"
        url = self.settings.connection_base + "checkGraphqlAuthorization"
        try:
            answer = await self.client.get(url, headers=headers, timeout=self.settings.timeout_s)
        except httpx.HTTPError as exc:
            log.warning("bbb-web session check failed: %s", type(exc).__name__)
            raise InviteError(*BBB_UNAVAILABLE) from None
        if answer.status_code == 401:
            return None
        if answer.status_code >= 500:
            log.warning("bbb-web session check answered HTTP %d", answer.status_code)
            raise InviteError(*BBB_UNAVAILABLE)
        facts = session_facts(answer) if answer.status_code == 200 else None
        if facts is None:
            log.warning("bbb-web session check answered HTTP %d in no known shape (headers %s)", answer.status_code,
                        ", ".join(sorted(answer.headers.keys())))
            raise InviteError(*IDENTITY_UNSUPPORTED)
        return facts


def session_facts(answer: httpx.Response) -> SessionFacts | None:
    """The identity in a 200 answer of ``checkGraphqlAuthorization`` (shape A, B or C), or ``None``."""
    h = answer.headers
    if h.get("meeting-external-id") and h.get("user-id"):
        return SessionFacts(
            internal_meeting_id=h.get("meeting-id", ""),
            meeting_id=h["meeting-external-id"],
            user_id=h["user-id"],
            user_name=unquote(h.get("user-name", "")),
            moderator=h.get("user-is-moderator", "").lower() == "true",
            shape="C" if "user-notes-enabled" in h else "B",
        )
    if len(answer.content) > MAX_ANSWER_BYTES:
        return None
    try:
        body = answer.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    user_id, internal = body.get("X-Hasura-UserId"), body.get("X-Hasura-MeetingId")
    if not isinstance(user_id, str) or not isinstance(internal, str) or not user_id or not internal:
        return None
    # Shape A names the moderator's meeting in X-Hasura-ModeratorInMeeting ("" for everyone else).
    return SessionFacts(internal_meeting_id=internal, meeting_id="", user_id=user_id, user_name="",
                        moderator=body.get("X-Hasura-ModeratorInMeeting") == internal, shape="A")


def parse_meeting(root: ET.Element, meeting_id: str) -> MeetingInfo:
    """A ``getMeetingInfo`` answer or one ``getMeetings`` ``<meeting>`` element."""
    attendees = tuple(
        Attendee(user_id=a.findtext("userID") or "", full_name=a.findtext("fullName") or "",
                 role=(a.findtext("role") or "").upper())
        for a in root.iterfind("attendees/attendee")
    )
    return MeetingInfo(
        meeting_id=root.findtext("meetingID") or meeting_id,
        internal_id=root.findtext("internalMeetingID") or "",
        name=root.findtext("meetingName") or "",
        create_time=root.findtext("createTime") or "",
        running=(root.findtext("running") or "").lower() == "true",
        attendees=attendees,
    )

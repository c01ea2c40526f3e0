"""Who is calling the invite service: a moderator of a running meeting, or nobody.

BigBlueButton 3.0 has no documented way for a third-party service to verify a plugin's user
(DESIGN.md §3.4). This module combines the two facts that can be checked independently, and both must
agree:

1. **The session**, from bbb-web: the caller's ``sessionToken`` (header ``X-Session-Token``, which the
   plugin reads with the SDK's ``getSessionToken()``) and its ``JSESSIONID`` cookie (sent along because
   the plugin calls on the client's own origin with ``credentials: "include"``) go to bbb-web's
   ``/bigbluebutton/connection/checkGraphqlAuthorization`` — the check nginx's ``auth_request`` uses for
   BBB's own ``/api/rest`` and GraphQL. It names the meeting (internal and external id) and the user.
   Without the cookie it refuses, unless the meeting was created with ``allowRequestsWithoutSession``:
   so a token seen in a screen share alone is not enough. The oldest 3.0 shape (A, see
   :mod:`roomagent.invite.bbb`) names only the user id and the *internal* meeting id, in a JSON body.
2. **The meeting**, from the API with the secret: ``getMeetingInfo`` of that external id must be a
   running meeting with the same internal id, listing that user id *now* with role ``MODERATOR``.
   With shape A the external id is unknown, so ``getMeetings`` finds the running meeting with that
   internal id instead — the same attendee list, so the same checks (role and name come from there).
   bbb-web answers step 1 with 200 even for a removed user or an ended meeting; step 2 catches both,
   and a demotion since the join.

Anything else is refused before anything is created: no or malformed token → 401 ``invalid_session``;
bbb-web refuses it (forged, expired, another browser's cookie) → 401 ``invalid_session``; meeting
unknown or not running → 403 ``meeting_not_running``; user not listed, or not a moderator → 403
``not_moderator``. A token of another meeting can only ever name that other meeting, whose own
moderators it then must belong to.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from roomagent.invite.bbb import BbbApi, MeetingInfo
from roomagent.invite.errors import InviteError

log = logging.getLogger("roomagent.invite.identity")

#: bbb-web's session tokens are short alphanumeric strings; anything else is refused unseen.
SESSION_TOKEN = re.compile(r"[A-Za-z0-9_-]{4,128}")
COOKIE = re.compile(r"[A-Za-z0-9._-]{1,256}")


@dataclass(frozen=True)
class Caller:
    """A verified moderator of a running meeting."""

    session_token: str
    user_id: str
    user_name: str
    meeting: MeetingInfo


def invalid_session(message: str = "Your BigBlueButton session could not be verified; reload the meeting "
                    "and try again.") -> InviteError:
    """401 ``invalid_session``."""
    return InviteError(401, "invalid_session", message)


async def identify(bbb: BbbApi, token: str | None, jsessionid: str | None) -> Caller:
    """The moderator behind ``token`` (+ cookie), or :class:`InviteError` (401/403) saying why not."""
    if not token:
        raise invalid_session("This request carries no BigBlueButton session (X-Session-Token is missing).")
    if not SESSION_TOKEN.fullmatch(token):
        raise invalid_session()
    cookie = jsessionid if jsessionid and COOKIE.fullmatch(jsessionid) else None
    facts = await bbb.check_session(token, cookie)
    if facts is None:
        raise invalid_session()
    if facts.meeting_id:
        meeting = await bbb.meeting_info(facts.meeting_id)
    else:
        meeting = await bbb.meeting_by_internal_id(facts.internal_meeting_id)
    if meeting is None or not meeting.running:
        raise InviteError(403, "meeting_not_running", "This meeting is not running (it has ended or not started).")
    if facts.internal_meeting_id and meeting.internal_id and facts.internal_meeting_id != meeting.internal_id:
        # The same external id, another instance (ended and created again): the session is stale.
        raise InviteError(403, "meeting_not_running", "This meeting has ended; your session belongs to an "
                          "earlier meeting with the same name.")
    attendee = next((a for a in meeting.attendees if a.user_id == facts.user_id), None)
    if attendee is None:
        raise InviteError(403, "not_moderator", "You are no longer in this meeting.")
    if attendee.role != "MODERATOR" or not facts.moderator:
        log.info("refused a non-moderator of meeting %s", meeting.meeting_id)
        raise InviteError(403, "not_moderator", "Only moderators of this meeting can invite or control a room.")
    return Caller(session_token=token, user_id=facts.user_id, user_name=attendee.full_name, meeting=meeting)

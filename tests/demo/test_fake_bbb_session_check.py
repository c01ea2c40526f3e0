"""bbb-web's session checks in each upstream shape the fake reproduces (``bbb_generations.SessionCheck``):
A (hasura User-Agent, a JSON body of Hasura variables, no identity headers), B (identity headers) and
C (B plus ``User-Notes-Enabled``); ``checkAuthorization`` is the same in all three."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from roomagent.demo.bbb_generations import GENERATIONS
from roomagent.demo.fake_bbb import create_bbb_app
from roomagent.invite.checksum import signed_query
from roomagent.serving import RunningServer, run_in_thread

SECRET = "fake-session-check-secret-0123456789"
HASURA = "hasura-graphql-engine/2.40"
IDENTITY_HEADERS = ("meeting-id", "meeting-external-id", "user-id", "user-external-id", "user-name",
                    "user-is-moderator", "user-is-presenter")


@pytest.fixture(scope="module", params=list(GENERATIONS))
def bbb(request) -> Iterator[tuple[RunningServer, str]]:
    gen = GENERATIONS[request.param]
    server = run_in_thread(create_bbb_app(secret=SECRET, generation=gen))
    yield server, gen.session_check
    server.stop()


def _api(server: RunningServer, call: str, **params: str) -> str:
    return f"{server.url}/bigbluebutton/api/{call}?{signed_query(call, params, SECRET)}"


def _join(server: RunningServer, meeting: str, name: str, role: str) -> tuple[str, str]:
    httpx.get(_api(server, "create", meetingID=meeting))
    joined = httpx.get(_api(server, "join", meetingID=meeting, fullName=name, role=role, userID=f"ext-{name}"))
    return joined.headers["location"].split("sessionToken=")[1], joined.cookies["JSESSIONID"]


def _graphql(server: RunningServer, token: str, cookie: str | None, agent: str = HASURA) -> httpx.Response:
    return httpx.get(f"{server.url}/bigbluebutton/connection/checkGraphqlAuthorization",
                     headers={"User-Agent": agent, "x-session-token": token},
                     cookies={"JSESSIONID": cookie} if cookie else None)


def _internal_id(server: RunningServer, meeting: str) -> str:
    text = httpx.get(_api(server, "getMeetingInfo", meetingID=meeting)).text
    return text.split("<internalMeetingID>")[1].split("<")[0]


def test_each_shape_answers_a_moderator_as_its_upstream_version_does(bbb) -> None:
    server, shape = bbb
    token, cookie = _join(server, "m-shape", "Ada Ö", "MODERATOR")
    ok = _graphql(server, token, cookie)
    assert ok.status_code == 200 and ok.json()["response"] == "authorized"
    internal = _internal_id(server, "m-shape")
    present = [h for h in IDENTITY_HEADERS if h in ok.headers]
    if shape == "A":
        assert present == []  # the shape that made the invite service answer 502
        body = ok.json()
        assert body["X-Hasura-Role"] == "bbb_client" and body["X-Hasura-MeetingId"] == internal
        assert body["X-Hasura-ModeratorInMeeting"] == internal and body["X-Hasura-UserId"].startswith("w_")
        assert "user-notes-enabled" not in ok.headers
    else:
        assert present == list(IDENTITY_HEADERS)
        assert ok.headers["meeting-external-id"] == "m-shape" and ok.headers["meeting-id"] == internal
        assert ok.headers["user-name"] == quote("Ada Ö") and ok.headers["user-is-moderator"] == "true"
        assert ("user-notes-enabled" in ok.headers) == (shape == "C")
        assert ok.json()["X-UserId"] == ok.headers["user-id"]


def test_the_user_agent_matters_only_to_shape_a(bbb) -> None:
    server, shape = bbb
    token, cookie = _join(server, "m-agent", "Bo", "VIEWER")
    other = _graphql(server, token, cookie, agent="curl/8")
    if shape == "A":
        assert other.status_code == 401 and other.json() == {"response": "unauthorized"}
    else:
        assert other.status_code == 200 and other.headers["user-is-moderator"] == "false"


def test_a_viewer_is_no_moderator_in_any_shape_and_a_missing_cookie_is_refused(bbb) -> None:
    server, shape = bbb
    token, cookie = _join(server, "m-viewer", "Cy", "VIEWER")
    answer = _graphql(server, token, cookie)
    if shape == "A":
        assert answer.json()["X-Hasura-ModeratorInMeeting"] == ""
    else:
        assert answer.headers["user-is-moderator"] == "false"
    refused = _graphql(server, token, None)
    assert refused.status_code == 401 and refused.json() == {"response": "unauthorized"}
    assert _graphql(server, "not-a-token", cookie).status_code == 401


def test_a_removed_user_still_gets_200_and_shape_a_skips_the_cookie_then(bbb) -> None:
    server, shape = bbb
    token, cookie = _join(server, "m-removed", "Di", "MODERATOR")
    httpx.post(f"{server.url}/_fake/kick", params={"token": token}).raise_for_status()
    with_cookie = _graphql(server, token, cookie)
    assert with_cookie.status_code == 200
    if shape == "A":
        assert with_cookie.json()["X-Hasura-Role"] == "not_joined_bbb_client"
        assert with_cookie.json()["X-Hasura-ModeratorInMeeting"] == ""
        assert _graphql(server, token, None).status_code == 200  # upstream A: no cookie check on this branch
    else:
        assert with_cookie.json()["X-Currently-Online"] == "false"
        assert _graphql(server, token, None).status_code == 401


def test_cors_preflight_passes_b_and_c_without_a_session(bbb) -> None:
    server, shape = bbb
    answer = httpx.get(f"{server.url}/bigbluebutton/connection/checkGraphqlAuthorization",
                       headers={"x-original-method": "OPTIONS", "User-Agent": "nginx"})
    assert answer.status_code == (401 if shape == "A" else 200)


def test_check_authorization_is_the_same_in_every_shape(bbb) -> None:
    server, _shape = bbb
    token, cookie = _join(server, "m-legacy", "Ed", "MODERATOR")
    url = f"{server.url}/bigbluebutton/connection/checkAuthorization"
    original = {"x-original-uri": f"/html5client/x?sessionToken={token}"}
    ok = httpx.get(url, headers=original, cookies={"JSESSIONID": cookie})
    assert ok.status_code == 200 and ok.text == "authorized"
    assert ok.headers["meeting-id"] == _internal_id(server, "m-legacy") and ok.headers["user-name"] == "Ed"
    assert "meeting-external-id" not in ok.headers
    assert httpx.get(url, headers=original).status_code == 401


def test_get_meetings_lists_internal_ids_and_attendees_and_the_root_names_versions(bbb) -> None:
    server, _shape = bbb
    _join(server, "m-list", "Fa", "MODERATOR")
    listing = httpx.get(_api(server, "getMeetings")).text
    assert f"<internalMeetingID>{_internal_id(server, 'm-list')}</internalMeetingID>" in listing
    assert "<fullName>Fa</fullName><role>MODERATOR</role>" in listing
    assert "checksumError" in httpx.get(f"{server.url}/bigbluebutton/api/getMeetings?checksum=00").text
    root = httpx.get(f"{server.url}/bigbluebutton/api").text
    assert "<returncode>SUCCESS</returncode>" in root and "<apiVersion>2.0</apiVersion>" in root

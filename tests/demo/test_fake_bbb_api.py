"""The fake BigBlueButton's API with a secret: checksums, meetings, roles, getJoinUrl clones, bbb-web's
session checks, plugin pages and the invite proxy (what the invite service and the plugin build on)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import httpx
import pytest

from roomagent.demo.fake_bbb import create_bbb_app
from roomagent.invite.checksum import checksum, signed_query, valid
from roomagent.serving import RunningServer, run_in_thread

SECRET = "fake-api-test-secret-0123456789"


@pytest.fixture(scope="module")
def bbb() -> Iterator[tuple[RunningServer, object]]:
    app = create_bbb_app(secret=SECRET)
    server = run_in_thread(app)
    yield server, app
    server.stop()


def _api(server: RunningServer, call: str, secret: str = SECRET, algorithm: str = "sha256", **params: str) -> str:
    return f"{server.url}/bigbluebutton/api/{call}?{signed_query(call, params, secret, algorithm)}"


def test_checksum_matches_the_bbb_api_documentation_example() -> None:
    # The example of BigBlueButton's API documentation (create, SHA-1).
    query = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444"
    secret = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"
    assert checksum("create", query, secret, "sha1") == "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"
    assert valid("create", f"{query}&checksum=1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17", secret)
    assert not valid("create", f"{query}&checksum=1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f18", secret)
    assert not valid("join", f"{query}&checksum=1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17", secret)


def test_wrong_checksums_are_refused_and_every_algorithm_is_accepted(bbb) -> None:
    server, app = bbb
    assert "checksumError" in httpx.get(_api(server, "create", secret="wrong", meetingID="m-a")).text
    for algorithm in ("sha1", "sha256", "sha384", "sha512"):
        answer = httpx.get(_api(server, "create", algorithm=algorithm, meetingID=f"m-{algorithm}"))
        assert "<returncode>SUCCESS</returncode>" in answer.text, (algorithm, answer.text)
    forged = httpx.get(f"{server.url}/bigbluebutton/api/join?meetingID=m-sha1&fullName=X&role=MODERATOR&checksum=00")
    assert "checksumError" in forged.text and forged.status_code == 200


def test_joins_need_a_created_meeting_and_a_role_and_clones_keep_the_user(bbb) -> None:
    server, app = bbb
    assert "meetingNotFound" in httpx.get(_api(server, "join", meetingID="nope", fullName="A", role="VIEWER")).text
    httpx.get(_api(server, "create", meetingID="m-roles", moderatorPW="mp", attendeePW="ap"))
    assert "invalidPassword" in httpx.get(_api(server, "join", meetingID="m-roles", fullName="A")).text
    teacher = httpx.get(_api(server, "join", meetingID="m-roles", fullName="Ada", password="mp"))
    assert teacher.status_code == 302
    token = teacher.headers["location"].split("sessionToken=")[1]
    with httpx.Client(cookies=teacher.cookies) as browser:
        minted = browser.get(f"{server.url}/bigbluebutton/api/getJoinUrl",
                             params={"sessionToken": token, "sessionName": "left"}).json()["response"]["url"]
        assert valid("join", minted.split("?", 1)[1], SECRET)  # bbb-web signs what it mints
        assert browser.get(minted).status_code == 302
    joins = [r for r in app.state.fake.records("join") if r["meeting"] == "m-roles" and r["ok"]]
    assert [(r["role"], r["user_id"] == joins[0]["user_id"]) for r in joins] == [("MODERATOR", True)] * 2
    info = httpx.get(_api(server, "getMeetingInfo", meetingID="m-roles")).text
    assert info.count("<attendee>") == 1 and "<role>MODERATOR</role>" in info and "<running>true</running>" in info
    assert "<running>true</running>" in httpx.get(_api(server, "isMeetingRunning", meetingID="m-roles")).text
    assert "sentEndMeetingRequest" in httpx.get(_api(server, "end", meetingID="m-roles")).text
    assert "notFound" in httpx.get(_api(server, "getMeetingInfo", meetingID="m-roles")).text
    assert "<running>false</running>" in httpx.get(_api(server, "isMeetingRunning", meetingID="m-roles")).text


def test_the_session_checks_need_the_cookie_and_report_removed_users_offline(bbb) -> None:
    server, app = bbb
    httpx.get(_api(server, "create", meetingID="m-auth"))
    joined = httpx.get(_api(server, "join", meetingID="m-auth", fullName="Ada Ö", role="MODERATOR", userID="ext-1"))
    token, cookie = joined.headers["location"].split("sessionToken=")[1], joined.cookies["JSESSIONID"]
    graphql = f"{server.url}/bigbluebutton/connection/checkGraphqlAuthorization"
    hasura = {"User-Agent": "hasura-graphql-engine/2", "x-session-token": token}
    assert httpx.get(graphql, headers=hasura).status_code == 401  # no cookie
    ok = httpx.get(graphql, headers=hasura, cookies={"JSESSIONID": cookie})
    assert ok.status_code == 200 and ok.headers["meeting-external-id"] == "m-auth"
    assert ok.headers["user-is-moderator"] == "true" and ok.headers["user-external-id"] == "ext-1"
    assert ok.headers["user-name"] == quote("Ada Ö") and ok.json()["X-Currently-Online"] == "true"
    legacy = httpx.get(f"{server.url}/bigbluebutton/connection/checkAuthorization",
                       headers={"x-original-uri": f"/html5client/x?sessionToken={token}"}, cookies={"JSESSIONID": cookie})
    assert legacy.status_code == 200 and legacy.headers["user-id"] == ok.headers["user-id"]
    httpx.post(f"{server.url}/_fake/kick", params={"token": token}).raise_for_status()
    removed = httpx.get(graphql, headers=hasura, cookies={"JSESSIONID": cookie})
    assert removed.status_code == 200 and removed.json()["X-Currently-Online"] == "false"  # as bbb-web does
    assert "<attendee>" not in httpx.get(_api(server, "getMeetingInfo", meetingID="m-auth")).text


def test_plugin_meetings_load_the_host_and_the_proxy_forwards(tmp_path) -> None:
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "host.js").write_text("// host")
    seen: list = []

    async def invite(scope, receive, send):
        body = (await receive())["body"]
        seen.append((scope["method"], scope["path"], scope["query_string"], dict(scope["headers"]), body))
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})

    target = run_in_thread(invite)
    app = create_bbb_app(secret=SECRET, plugin_dir=tmp_path, invite_base=target.url)
    server = run_in_thread(app)
    try:
        manifests = json.dumps([{"url": f"{server.url}/plugins/roomagent/manifest.json"}])
        httpx.get(_api(server, "create", meetingID="m-plug", pluginManifests=manifests))
        httpx.get(_api(server, "create", meetingID="m-plain"))
        pages = {}
        for meeting in ("m-plug", "m-plain"):
            with httpx.Client(follow_redirects=True) as browser:
                pages[meeting] = browser.get(_api(server, "join", meetingID=meeting, fullName="Ada", role="MODERATOR")).text
        assert 'src="/_plugin_host/host.js"' in pages["m-plug"] and '"role": "MODERATOR"' in pages["m-plug"]
        assert "__FAKE_BBB__" not in pages["m-plain"]
        assert httpx.get(f"{server.url}/_plugin_host/host.js").text == "// host"
        answer = httpx.post(f"{server.url}/roomagent-invite/invites?x=1", content=b'{"server_id": "a"}',
                            headers={"X-Session-Token": "t0k", "Content-Type": "application/json",
                                     "Cookie": "JSESSIONID=C00K"})
        assert answer.status_code == 201 and answer.json() == {"ok": True}
        method, path, query, headers, body = seen[0]
        assert (method, path, query, body) == ("POST", "/invites", b"x=1", b'{"server_id": "a"}')
        assert headers[b"x-session-token"] == b"t0k" and headers[b"cookie"] == b"JSESSIONID=C00K"
        big = httpx.post(f"{server.url}/roomagent-invite/invites", content=b"x" * (65 * 1024))
        assert big.status_code == 413 and len(seen) == 1
    finally:
        server.stop()
        target.stop()


def test_without_a_secret_the_fake_stays_as_lenient_as_before() -> None:
    server = run_in_thread(create_bbb_app())
    try:
        query = urlencode({"meetingID": "free", "fullName": "Room", "checksum": "anything"})
        assert httpx.get(f"{server.url}/bigbluebutton/api/join?{query}").status_code == 302
    finally:
        server.stop()

"""The fake BigBlueButton and Scalelite: the HTTP contract with httpx, the client page in real QtWebEngine."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pytestqt.qtbot import QtBot

from roomagent.ui.browser import BrowserSession
from tests.demo.conftest import LOAD_TIMEOUT_MS, MakeSession
from tests.demo.fixtures import BbbServer, ScaleliteServer

TIMEOUT_S = 5.0  # failure guard for loopback HTTP


def _client() -> httpx.Client:
    """A fresh 'browser profile': its own cookie jar, redirects followed by hand."""
    return httpx.Client(follow_redirects=False, timeout=TIMEOUT_S)


def _join(client: httpx.Client, url: str) -> str:
    """Open a join URL, check the redirect into the client and return the session token."""
    reply = client.get(url)
    assert reply.status_code == 302, reply.text
    location = reply.headers["location"]
    assert "/html5client/join?sessionToken=" in location
    return parse_qs(urlsplit(location).query)["sessionToken"][0]


def _get_join_url(client: httpx.Client, server: BbbServer, token: str, **params: str) -> dict:
    reply = client.get(f"{server.url}/bigbluebutton/api/getJoinUrl", params={"sessionToken": token, **params})
    assert reply.status_code == 200
    return reply.json()["response"]


def _status(server: BbbServer, token: str) -> dict:
    return httpx.get(f"{server.url}/_fake/status", params={"sessionToken": token}, timeout=TIMEOUT_S).json()


# -- join, cookie, getJoinUrl ------------------------------------------------------------------------


def test_join_answers_302_into_the_client_and_sets_a_session_cookie(bbb_server: BbbServer) -> None:
    url = bbb_server.join_url("m1", "Room H 0104", userdata={"bbb_auto_join_audio": "true"})
    with _client() as client:
        reply = client.get(url)
    assert reply.status_code == 302
    token = parse_qs(urlsplit(reply.headers["location"]).query)["sessionToken"][0]
    assert reply.headers["location"] == f"{bbb_server.url}/html5client/join?sessionToken={token}"
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith("JSESSIONID=") and "Path=/;" in cookie and "HttpOnly" in cookie
    [join] = bbb_server.log("join")
    assert join["ok"] is True and join["token"] == token and join["meeting"] == "m1"
    assert join["full_name"] == "Room H 0104" and join["userdata"] == {"bbb_auto_join_audio": "true"}
    assert isinstance(join["t"], float)


@pytest.mark.parametrize("drop", ["checksum", "meetingID"])
def test_join_without_checksum_or_meeting_is_refused(bbb_server: BbbServer, drop: str) -> None:
    parts = urlsplit(bbb_server.join_url())
    query = "&".join(p for p in parts.query.split("&") if not p.startswith(f"{drop}="))
    reply = httpx.get(f"{bbb_server.url}{parts.path}?{query}", timeout=TIMEOUT_S)
    assert reply.status_code == 200
    assert "<returncode>FAILED</returncode>" in reply.text
    assert "<messageKey>checksumError</messageKey>" in reply.text
    assert "set-cookie" not in reply.headers


def test_get_join_url_is_bound_to_the_cookie_of_the_join(bbb_server: BbbServer) -> None:
    with _client() as first, _client() as other, _client() as stranger:
        token = _join(first, bbb_server.join_url())
        _join(other, bbb_server.join_url())  # another session's cookie is no better than none
        for client in (stranger, other):
            refused = _get_join_url(client, bbb_server, token, sessionName="left")
            assert refused["returncode"] == "FAILED" and refused["messageKey"] == "invalidSession"
        unknown = _get_join_url(first, bbb_server, "no-such-token")
        assert unknown["messageKey"] == "invalidSession"
        bad_layout = _get_join_url(first, bbb_server, token, enforceLayout="BIG_SCREEN")
        assert bad_layout["messageKey"] == "invalidLayout"
        minted = _get_join_url(
            first, bbb_server, token, sessionName="left", enforceLayout="CAMERAS_ONLY",
            **{"userdata-bbb_hide_nav_bar": "true"},
        )
    assert minted["returncode"] == "SUCCESS"
    query = parse_qs(urlsplit(minted["url"]).query)
    assert minted["url"].startswith(f"{bbb_server.url}/bigbluebutton/api/join?")
    assert query["meetingID"] == ["m1"] and query["fullName"] == ["Room H 0104"]
    assert query["sessionName"] == ["left"] and query["enforceLayout"] == ["CAMERAS_ONLY"]
    assert query["userdata-bbb_hide_nav_bar"] == ["true"] and query["parent"] == [token]
    assert len(query["checksum"][0]) == 40
    records = bbb_server.log("getJoinUrl")
    assert [(r["ok"], r.get("reason")) for r in records] == [
        (False, "invalidSession"), (False, "invalidSession"), (False, "invalidSession"),
        (False, "invalidLayout"), (True, None),
    ]
    assert records[-1]["token"] == token and records[-1]["session_name"] == "left"
    assert records[-1]["enforce_layout"] == "CAMERAS_ONLY"
    assert records[-1]["userdata"] == {"bbb_hide_nav_bar": "true"}


def test_minted_url_joins_a_fresh_profile_with_its_own_cookie(bbb_server: BbbServer) -> None:
    with _client() as media, _client() as left:
        parent = _join(media, bbb_server.join_url())
        minted = _get_join_url(media, bbb_server, parent, sessionName="left", enforceLayout="PRESENTATION_ONLY")
        child = _join(left, minted["url"])
        assert child != parent
        assert left.cookies["JSESSIONID"] != media.cookies["JSESSIONID"]
        entered = left.get(f"{bbb_server.url}/bigbluebutton/api/enter", params={"sessionToken": child}).json()
        crossed = media.get(f"{bbb_server.url}/bigbluebutton/api/enter", params={"sessionToken": child}).json()
    assert entered["response"]["returncode"] == "SUCCESS"
    assert entered["response"]["sessionName"] == "left"
    assert entered["response"]["enforceLayout"] == "PRESENTATION_ONLY"
    assert crossed["response"]["messageKey"] == "missingSession"
    joins = bbb_server.log("join")
    assert joins[-1]["parent"] == parent and joins[-1]["session_name"] == "left"


def test_enter_without_the_cookie_is_a_missing_session(bbb_server: BbbServer) -> None:
    with _client() as client:
        token = _join(client, bbb_server.join_url())
    url = f"{bbb_server.url}/bigbluebutton/api/enter"
    reply = httpx.get(url, params={"sessionToken": token}, timeout=TIMEOUT_S)
    assert reply.json()["response"] == {
        "returncode": "FAILED", "messageKey": "missingSession", "message": "Session not found",
    }


def test_bbb2_has_no_get_join_url(bbb2_server: BbbServer) -> None:
    with _client() as client:
        token = _join(client, bbb2_server.join_url())
        reply = client.get(f"{bbb2_server.url}/bigbluebutton/api/getJoinUrl", params={"sessionToken": token})
    assert reply.status_code == 404
    assert bbb2_server.log("getJoinUrl") == []


def test_scalelite_redirects_to_the_bbb_host_with_a_new_checksum(scalelite_server: ScaleliteServer) -> None:
    assert scalelite_server.host == "localhost" and scalelite_server.bbb.host == "127.0.0.1"
    url = scalelite_server.join_url("m7", "Room H 0104", sessionName="media")
    with _client() as client:
        first = client.get(url)
        assert first.status_code == 302
        target = first.headers["location"]
        token = _join(client, target)
        assert client.get(f"{scalelite_server.url}/bigbluebutton/api/getJoinUrl").status_code == 404
    assert target.startswith(f"{scalelite_server.bbb.url}/bigbluebutton/api/join?")
    sent, forwarded = parse_qs(urlsplit(url).query), parse_qs(urlsplit(target).query)
    assert forwarded["checksum"] != sent["checksum"]
    assert {k: v for k, v in forwarded.items() if k != "checksum"} == {
        k: v for k, v in sent.items() if k != "checksum"
    }
    [redirect] = scalelite_server.log("join")
    assert redirect["meeting"] == "m7" and redirect["target"] == target
    [join] = scalelite_server.bbb.log("join")
    assert join["token"] == token and join["session_name"] == "media"


# -- the moderator's side ----------------------------------------------------------------------------


def test_an_ended_meeting_refuses_joins_and_tells_its_pages(bbb_server: BbbServer) -> None:
    with _client() as client:
        token = _join(client, bbb_server.join_url("m1"))
        assert _status(bbb_server, token)["ended"] is False
        bbb_server.end("m1")
        reply = client.get(bbb_server.join_url("m1"))
        other = _join(client, bbb_server.join_url("m2"))
    assert "<messageKey>meetingNotFound</messageKey>" in reply.text
    assert _status(bbb_server, token)["ended"] is True
    assert _status(bbb_server, other)["ended"] is False
    assert [r["ok"] for r in bbb_server.log("join")] == [True, False, True]
    assert bbb_server.log("ctl_end")[0]["meeting"] == "m1"


def test_kick_and_mute_reach_only_the_named_session(bbb_server: BbbServer) -> None:
    with _client() as client:
        left = _join(client, bbb_server.join_url(sessionName="left"))
        right = _join(client, bbb_server.join_url(sessionName="right"))
    bbb_server.mute("left")
    assert _status(bbb_server, left)["muted_by_moderator"] is True
    assert _status(bbb_server, left)["muted_by_moderator"] is False  # delivered once
    bbb_server.kick(token=right)
    assert _status(bbb_server, right)["kicked"] is True
    assert _status(bbb_server, left)["kicked"] is False
    with pytest.raises(httpx.HTTPStatusError):
        bbb_server.kick("nobody")
    assert [(r["kind"], r["token"]) for r in bbb_server.log() if r["kind"].startswith("ctl_")] == [
        ("ctl_mute", left), ("ctl_kick", right),
    ]


def test_page_events_are_recorded_with_their_session_and_reset_forgets(bbb_server: BbbServer) -> None:
    with _client() as client:
        token = _join(client, bbb_server.join_url(sessionName="media"))
    ok = httpx.post(f"{bbb_server.url}/_fake/event", json={"kind": "vote", "token": token, "answer": "Yes"})
    beacon = httpx.post(
        f"{bbb_server.url}/_fake/event", content=f'{{"kind": "left", "token": "{token}"}}',
        headers={"content-type": "text/plain"},
    )
    bad = httpx.post(f"{bbb_server.url}/_fake/event", json={"token": token})
    assert (ok.status_code, beacon.status_code, bad.status_code) == (204, 204, 400)
    [vote] = bbb_server.log("vote")
    assert vote["session_name"] == "media" and vote["meeting"] == "m1" and vote["answer"] == "Yes"
    assert [r["kind"] for r in bbb_server.log()] == ["join", "vote", "left"]
    bbb_server.reset()
    assert bbb_server.log() == []
    assert _status(bbb_server, token)["known"] is False


def test_client_and_logout_pages_are_served(bbb_server: BbbServer) -> None:
    page = httpx.get(f"{bbb_server.url}/html5client/join", params={"sessionToken": "abc"}, timeout=TIMEOUT_S)
    assert page.status_code == 200 and 'id="client-template"' in page.text
    assert '"layoutEvents": ["SET_ENFORCED_LAYOUT", "CHANGE_ENFORCED_LAYOUT"]' in page.text
    logout = httpx.get(f"{bbb_server.url}/?reason=removed", timeout=TIMEOUT_S)
    assert "<title>Logged out</title>" in logout.text and "You have left the meeting" in logout.text


# -- the client page in a real browser ---------------------------------------------------------------


def _wait_log(qtbot: QtBot, server: BbbServer, kind: str, count: int = 1) -> list[dict]:
    qtbot.waitUntil(lambda: len(server.log(kind)) >= count, timeout=LOAD_TIMEOUT_MS)
    return server.log(kind)


def _js(qtbot: QtBot, session: BrowserSession, expression: str) -> Any:
    result: list = []
    session.run_json(expression, lambda value, error: result.append((value, error)))
    qtbot.waitUntil(lambda: bool(result), timeout=LOAD_TIMEOUT_MS)
    value, error = result[0]
    assert error is None, error
    return value


def _open(
    qtbot: QtBot, make_session: MakeSession, server: BbbServer, media: bool = False, **join: Any
) -> tuple[BrowserSession, str]:
    """A session that opened a join URL of ``server``, once its client page said ``ready``; and its token."""
    session = make_session([server.host], media=media)
    session.load(server.join_url(**join))
    [ready] = _wait_log(qtbot, server, "ready")
    return session, ready["token"]


def _dispatch(name: str, layout: str) -> str:
    """The ui-command an adapter dispatches in the page."""
    return f"window.dispatchEvent(new CustomEvent('{name}', {{detail: {{layoutType: '{layout}'}}}}))"


def _click(qtbot: QtBot, session: BrowserSession, test_id: str) -> None:
    _js(qtbot, session, f"document.querySelector('[data-test=\"{test_id}\"]').click()")


def test_page_follows_set_enforced_layout(
    qtbot: QtBot, make_session: MakeSession, bbb_server: BbbServer
) -> None:
    session, token = _open(
        qtbot, make_session, bbb_server, sessionName="left", enforceLayout="PRESENTATION_ONLY"
    )
    assert session.title == "BigBlueButton - m1"
    layout_of = "document.querySelector('main#layout').dataset.enforcedLayout"
    assert _js(qtbot, session, layout_of) == "PRESENTATION_ONLY"
    assert _js(qtbot, session, "!!document.querySelector('[data-test=\"joinAudio\"]')") is True
    _js(qtbot, session, _dispatch("SET_ENFORCED_LAYOUT", "CAMERAS_ONLY"))
    [layout] = _wait_log(qtbot, bbb_server, "layout")
    assert (layout["event"], layout["layout"], layout["token"], layout["session_name"]) == (
        "SET_ENFORCED_LAYOUT", "CAMERAS_ONLY", token, "left",
    )
    assert _js(qtbot, session, layout_of) == "CAMERAS_ONLY"


def test_early_30_client_hears_only_the_old_event(
    qtbot: QtBot, make_session: MakeSession, bbb30_server: BbbServer
) -> None:
    session, _ = _open(qtbot, make_session, bbb30_server)
    for name in ("SET_ENFORCED_LAYOUT", "CHANGE_ENFORCED_LAYOUT"):
        _js(qtbot, session, _dispatch(name, "MEDIA_ONLY"))
    _wait_log(qtbot, bbb30_server, "layout")
    assert [r["event"] for r in bbb30_server.log("layout")] == ["CHANGE_ENFORCED_LAYOUT"]


def test_mute_button_flips_and_a_moderator_mute_is_not_a_click(
    qtbot: QtBot, make_session: MakeSession, bbb_server: BbbServer
) -> None:
    session, _ = _open(
        qtbot, make_session, bbb_server, sessionName="media", userdata={"bbb_auto_join_audio": "true"}
    )
    present = (
        "['muteMicButton', 'unmuteMicButton', 'joinAudio']"
        ".filter(t => document.querySelector(`[data-test=\"${t}\"]`))"
    )
    assert _js(qtbot, session, present) == ["muteMicButton"]
    _click(qtbot, session, "muteMicButton")
    _wait_log(qtbot, bbb_server, "mute")
    assert _js(qtbot, session, present) == ["unmuteMicButton"]
    _click(qtbot, session, "unmuteMicButton")
    _wait_log(qtbot, bbb_server, "unmute")
    assert _js(qtbot, session, present) == ["muteMicButton"]
    bbb_server.mute("media")
    [moderator] = _wait_log(qtbot, bbb_server, "muted_by_moderator")
    assert moderator["applied"] is True
    assert _js(qtbot, session, present) == ["unmuteMicButton"]
    assert len(bbb_server.log("mute")) == 1


def test_share_button_records_the_display_media_label(
    qtbot: QtBot, make_session: MakeSession, bbb_server: BbbServer
) -> None:
    session = make_session([bbb_server.host], media=True)
    # What the adapter injects: getDisplayMedia answered by a camera (here Chromium's fake one).
    session.add_script(
        "share",
        "navigator.mediaDevices.getDisplayMedia = (c) => navigator.mediaDevices.getUserMedia({video: true});",
    )
    session.load(bbb_server.join_url(sessionName="media"))
    _wait_log(qtbot, bbb_server, "ready")
    _click(qtbot, session, "startScreenShare")
    [started] = _wait_log(qtbot, bbb_server, "share_started")
    assert started["label"]
    _click(qtbot, session, "stopScreenShare")
    [stopped] = _wait_log(qtbot, bbb_server, "share_stopped")
    assert stopped["reason"] == "button"
    assert bbb_server.log("share_failed") == []


# Offscreen there is no X display to capture; Qt says so before the request is refused.
@pytest.mark.qt_log_ignore(r"^(Screen|Window) capturing is not available\. Media list will be empty\.$")
def test_share_without_a_capture_source_fails_visibly(
    qtbot: QtBot, make_session: MakeSession, bbb_server: BbbServer
) -> None:
    session, _ = _open(qtbot, make_session, bbb_server)
    _click(qtbot, session, "startScreenShare")
    [failed] = _wait_log(qtbot, bbb_server, "share_failed")
    assert failed["error"]
    assert bbb_server.log("share_started") == []


def test_ended_meeting_shows_the_modal_then_leaves(
    qtbot: QtBot, make_session: MakeSession, bbb_server: BbbServer
) -> None:
    session, _ = _open(qtbot, make_session, bbb_server)
    logged_out = f"{bbb_server.url}/"
    with qtbot.waitSignal(session.loaded, timeout=LOAD_TIMEOUT_MS, check_params_cb=lambda _, url: url == logged_out):
        bbb_server.end("m1")
    assert session.title == "Logged out"
    assert [r["kind"] for r in bbb_server.log() if r["kind"] in ("ended_shown", "left")][:1] == ["ended_shown"]


def test_kicked_session_leaves_at_once(
    qtbot: QtBot, make_session: MakeSession, bbb_server: BbbServer
) -> None:
    session, _ = _open(qtbot, make_session, bbb_server, sessionName="left")
    removed = f"{bbb_server.url}/?reason=removed"
    with qtbot.waitSignal(session.loaded, timeout=LOAD_TIMEOUT_MS, check_params_cb=lambda _, url: url == removed):
        bbb_server.kick("left")
    assert session.title == "Logged out"
    _wait_log(qtbot, bbb_server, "left")


def test_a_page_without_its_cookie_finds_no_session(
    qtbot: QtBot, make_session: MakeSession, bbb_server: BbbServer
) -> None:
    with _client() as client:
        token = _join(client, bbb_server.join_url())
    session = make_session([bbb_server.host])
    with qtbot.waitSignal(session.loaded, timeout=LOAD_TIMEOUT_MS):
        session.load(f"{bbb_server.url}/html5client/join?sessionToken={token}")
    [record] = _wait_log(qtbot, bbb_server, "not_found")
    assert record["reason"] == "missingSession"
    assert session.title == "Session not found"

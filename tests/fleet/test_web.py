"""Access to the dashboard over HTTP (no browser): no anonymous access, CSRF on every action, the
reverse-proxy header believed only from trusted addresses, no open redirect, and a room command that
nobody answers ends in "no reply", written to the audit log."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from roomagent.fleet.web import create_app
from roomagent.serving import run_in_thread
from tests.control.broker import GUARD_S, Mosquitto
from tests.fleet.conftest import PASSWORD, SimRoom, audit_lines, make_settings, state
from tests.fleet.conftest import csrf_of as _csrf
from tests.fleet.conftest import signed_in as _signed_in


@pytest.fixture(scope="module")
def room(broker):
    sim = SimRoom(broker.port, "h0104").connect(state())
    yield sim
    sim.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory, broker):
    settings = make_settings(tmp_path_factory.mktemp("fleet"), broker.url)
    # Short: the simulated room never answers, and the "no reply" test waits this long once.
    return settings.model_copy(update={"web": settings.web.model_copy(update={"command_timeout_s": 0.5})})


@pytest.fixture(scope="module")
def server(settings, room):
    with run_in_thread(create_app(settings)) as running:
        yield running


def test_nothing_without_signing_in(server):
    with httpx.Client(base_url=server.url, timeout=GUARD_S) as client:
        # Health for monitoring, and nothing about the fleet (issue 21: it showed the number of rooms).
        health = client.get("/healthz")
        assert health.status_code == 200 and set(health.json()) == {"status", "mqtt"}, health.text
        assert health.json()["status"] in ("ok", "broker unreachable")
        page = client.get("/", headers={"accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/"
        for path in ("/events", "/rooms/h0104", "/rooms/h0104/events"):
            assert client.get(path).status_code == 401, path
        assert client.post("/rooms/h0104/actions/identify_screens", data={"csrf": "x"}).status_code == 401
        # A forged cookie is no session.
        client.cookies.set("fleet_session", "eyJ1c2VyIjogImFsaWNlIn0=.forged.sig")
        assert client.get("/rooms/h0104").status_code == 401


def test_sign_in_needs_the_forms_token_and_the_right_password(server, settings):
    with httpx.Client(base_url=server.url, timeout=GUARD_S) as client:
        token = _csrf(client.get("/login").text)
        no_token = client.post("/login", data={"name": "alice", "password": PASSWORD})
        assert no_token.status_code == 403
        wrong = client.post("/login", data={"csrf": token, "name": "alice", "password": "guess"})
        assert wrong.status_code == 401 and "Wrong name or password." in wrong.text
        unknown = client.post("/login", data={"csrf": token, "name": "mallory", "password": PASSWORD})
        assert unknown.status_code == 401
        assert client.get("/rooms/h0104").status_code == 401
    refused = [r["who"] for r in audit_lines(settings) if r["what"] == "sign-in refused"]
    assert "alice" in refused and "mallory" in refused


def test_actions_need_the_sessions_csrf_token(server, settings):
    with _signed_in(server) as client:
        before = len(audit_lines(settings))
        for token in ("", "wrong-token"):
            response = client.post("/rooms/h0104/actions/identify_screens", data={"csrf": token})
            assert response.status_code == 403
    # Nothing was sent, and each attempt is audited as refused (a forged request rides on a real session).
    refused = audit_lines(settings)[before:]
    assert [(r["who"], r["what"], r["room"], r["outcome"]) for r in refused] == \
        [("alice", "identify_screens", "h0104", "refused")] * 2
    assert all(r["reply"] == {"status": "refused", "message": "missing or wrong CSRF token"} and "request" not in r
               for r in refused)


def test_a_room_that_does_not_answer_is_reported_and_audited(server, settings):
    with _signed_in(server) as client:
        token = _csrf(client.get("/rooms/h0104").text)
        response = client.post("/rooms/h0104/actions/show_message", data={"csrf": token, "text": "Back in 5 min"},
                               headers={"hx-request": "true"})
        assert response.status_code == 200
        assert "Show a message</strong>: no reply — no reply within 0.5 s" in response.text
        # Invalid input never leaves the dashboard.
        empty = client.post("/rooms/h0104/actions/show_message", data={"csrf": token, "text": ""},
                            headers={"hx-request": "true"})
        assert "refused — Not sent:" in empty.text
        other = client.post("/rooms/h0104/actions/mute", data={"csrf": token}, headers={"hx-request": "true"})
        assert "is not an action of this page" in other.text
        unconfirmed = client.post("/rooms/h0104/actions/leave", data={"csrf": token}, headers={"hx-request": "true"})
        assert "Tick the box" in unconfirmed.text
    records = audit_lines(settings)
    record = [r for r in records if r["what"] == "show_message"][0]
    assert record["who"] == "alice" and record["room"] == "h0104" and record["outcome"] == "no reply"
    assert record["request"]["text"] == "Back in 5 min" and "reply" not in record
    # Refused actions are audited too: who tried what on which room, and why nothing was sent.
    refused = [(r["what"], r["reply"]["message"]) for r in records if r.get("outcome") == "refused"]
    assert [what for what, _ in refused][-3:] == ["show_message", "mute", "leave"]
    assert refused[-3][1].startswith("Not sent:") and "not an action" in refused[-2][1] \
        and "Tick the box" in refused[-1][1]


def test_no_open_redirect_after_signing_in(server):
    with httpx.Client(base_url=server.url, timeout=GUARD_S) as client:
        token = _csrf(client.get("/login").text)
        for target in ("https://evil.example", "//evil.example/x", "/\\evil.example"):
            response = client.post("/login", data={"csrf": token, "name": "alice", "password": PASSWORD,
                                                    "next": target})
            assert response.headers["location"] == "/", target
            token = _csrf(client.get("/login").text)


def test_pages_forbid_inline_script(server):
    with _signed_in(server) as client:
        policy = client.get("/").headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe" not in policy


def test_proxy_mode_believes_the_header_only_from_trusted_proxies(tmp_path, broker):
    trusted = make_settings(tmp_path, broker.url, mode="proxy", trusted_proxies=["127.0.0.1/32"])
    untrusted = make_settings(tmp_path, broker.url, mode="proxy", trusted_proxies=["10.9.9.9/32"])
    with run_in_thread(create_app(trusted)) as good, run_in_thread(create_app(untrusted)) as bad:
        with httpx.Client(base_url=good.url, timeout=GUARD_S) as client:
            assert client.get("/").status_code == 403  # from the proxy, but it named nobody
            page = client.get("/", headers={"X-Remote-User": "bob"})
            assert page.status_code == 200 and ">bob<" in page.text
        with httpx.Client(base_url=bad.url, timeout=GUARD_S) as client:
            refused = client.get("/", headers={"X-Remote-User": "bob"})
            assert refused.status_code == 403 and "reverse proxy" in refused.text


def _wait_health(client: httpx.Client, connected: bool) -> dict:
    deadline = time.monotonic() + GUARD_S
    while (health := client.get("/healthz").json())["mqtt"] is not connected:
        assert time.monotonic() < deadline, f"the dashboard never saw the broker {'up' if connected else 'down'}"
        time.sleep(0.05)
    return health


def test_a_lost_broker_is_said_and_the_picture_is_rebuilt_after_it_returns(tmp_path):
    broker = Mosquitto(tmp_path, persistence=True).start()
    try:
        room = SimRoom(broker.port, "r-1").connect(state())
        settings = make_settings(tmp_path, broker.url)
        with run_in_thread(create_app(settings)) as server, _signed_in(server) as client:
            _wait_health(client, True)
            room.close()  # a clean disconnect: its retained "online" stays
            broker.stop()
            _wait_health(client, False)
            assert "Broker: connection to the broker lost" in client.get("/").text
            broker.start()  # same port, retained messages kept on disk
            SimRoom(broker.port, "r-2").connect(state("in_meeting", meeting={"id": "m", "platform": "jitsi",
                                                                             "host": "meet.example.org",
                                                                             "since": 1.0})).close()
            _wait_health(client, True)
            deadline = time.monotonic() + GUARD_S
            while "in a meeting: jitsi on meet.example.org" not in (page := client.get("/").text):
                assert time.monotonic() < deadline, "the dashboard did not resubscribe after the broker came back"
                time.sleep(0.05)
            assert "Broker:" not in page and 'id="tile-r-1"' in page
    finally:
        broker.stop()


def test_password_guessing_is_slowed_down_per_name(server):
    with httpx.Client(base_url=server.url, timeout=GUARD_S) as client:
        token = _csrf(client.get("/login").text)
        for _ in range(5):
            assert client.post("/login", data={"csrf": token, "name": "carol", "password": "guess"}).status_code == 401
        blocked = client.post("/login", data={"csrf": token, "name": "carol", "password": "guess"})
        assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
        # Another name is not affected.
        assert client.post("/login", data={"csrf": token, "name": "alice", "password": PASSWORD}).status_code == 303


def test_the_limiter_forgets_old_failures():
    from roomagent.fleet.access import SignInLimiter

    now = [0.0]
    limiter = SignInLimiter(max_failures=2, window_s=10, clock=lambda: now[0])
    limiter.failed("Alice")
    limiter.failed("alice")
    assert limiter.wait_s("ALICE") == 10
    now[0] = 4
    assert limiter.wait_s("alice") == 6
    now[0] = 10
    assert limiter.wait_s("alice") == 0
    limiter.failed("bob")
    limiter.succeeded("bob")
    assert limiter.wait_s("bob") == 0


def test_the_filter_works_without_javascript_too(server):
    with _signed_in(server) as client:
        page = client.get("/", params={"q": "SCIENCE", "problems": "true"}).text
        hall = re.search(r'<article id="tile-h0104"[^>]*>', page).group(0)
        seminar = re.search(r'<article id="tile-s2-201"[^>]*>', page).group(0)
        assert " hidden" in hall and " hidden" not in seminar
        assert 'class="tiles only-problems"' in page and 'value="science"' in page
        assert client.get("/rooms/nowhere").status_code == 404


def test_a_closed_event_stream_is_forgotten(settings, room):
    app = create_app(settings)
    hub = app.state.board.hub

    def wait_subscribers(count: int) -> None:
        deadline = time.monotonic() + GUARD_S
        while len(hub.subscribers) != count:
            assert time.monotonic() < deadline, f"{len(hub.subscribers)} streams open, expected {count}"
            time.sleep(0.02)

    with run_in_thread(app) as server, _signed_in(server) as client:
        for _ in range(3):
            with client.stream("GET", "/events") as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                wait_subscribers(1)
            wait_subscribers(0)

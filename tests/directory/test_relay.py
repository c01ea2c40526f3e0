"""The meeting-scoped relay over real HTTP and a real broker: GET /meeting/status, POST /meeting/command.

A private mosquitto (``mosquitto_url``) carries the commands; a fake room (``FakeRoom``) answers them.
Tests taking ``store_url`` (directly or through the fixtures) run on the memory store and on Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from roomagent.configload import ConfigError
from roomagent.core.commands import MAX_COMMAND_BYTES
from roomagent.core.meeting_url import describe_join_url
from roomagent.directory.client import MAX_ROOM_NAME, DirectoryClient, JoinTicket
from roomagent.directory.server.app import create_app
from roomagent.directory.server.main import RunningServer, run_in_thread
from roomagent.directory.server.settings import DirectorySettings, load_settings
from roomagent.directory.server.store import RELAY_TOMBSTONE_S, MemoryStore, RelayNew, RoomTag
from roomagent.serving import free_port
from tests.control.broker import Probe
from tests.directory.conftest import private_mosquitto
from tests.directory.fakeroom import READY_TIMEOUT_S, FakeRoom, new_room_id
from tests.directory.helpers import (
    AUTH,
    BBB_URL,
    OTHER_TOKEN,
    FakeClock,
    assert_error,
    create_code,
    http_client,
    settings_for,
)

MEETING_ID = describe_join_url(BBB_URL).meeting_id
OTHER_AUTH = {"Authorization": f"Bearer {OTHER_TOKEN}"}
RELAY_TTL_S = 43_200


class Relay:
    """A running directory with its app (for the relay's readiness) and an HTTP client of it."""

    def __init__(self, server: RunningServer, app: FastAPI) -> None:
        self.server = server
        self.app = app
        self.http = http_client(server.url)

    def status(self, code: str, headers: dict | None = None) -> httpx.Response:
        return self.http.get("/meeting/status", headers={"Code": code, **(AUTH if headers is None else headers)})

    def command(self, code: str, body: object, headers: dict | None = None) -> httpx.Response:
        headers = {"Code": code, **(AUTH if headers is None else headers)}
        return self.http.post("/meeting/command", json=body, headers=headers)

    def redeem(self, code: str, room_id: str | None, room_name: str | None = None) -> str:
        """Redeem as a room does (the headers DirectoryClient sends, without its ~80 ms TLS set-up)."""
        headers = {"Code": code}
        if room_id is not None:
            headers["Room-Id"] = room_id
        if room_name is not None:
            headers["Room-Name"] = quote(room_name, safe="")
        response = self.http.get("/meeting", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["data"]["join_url"]

    def redeem_with_client(self, code: str, room_id: str | None, room_name: str | None = None) -> JoinTicket:
        with DirectoryClient(self.server.url, room_id=room_id, room_name=room_name) as client:
            return client.redeem(code)


@pytest.fixture
def start_relay(make_settings, clock, mosquitto_url, stopping_servers) -> Iterator[Callable[..., Relay]]:
    """Factory: a directory relaying through the private broker (settings overrides as keywords).

    Returns once the relay is connected and subscribed, unless ``mqtt`` is overridden.
    """
    started: list[Relay] = []

    def start(**overrides) -> Relay:
        wait = "mqtt" not in overrides
        overrides.setdefault("mqtt", {"url": mosquitto_url})
        settings = make_settings(**overrides)
        app = create_app(settings, clock)
        relay = Relay(run_in_thread(settings, clock=clock, app=app), app)
        started.append(relay)
        if wait:
            assert app.state.relay.ready_event.wait(READY_TIMEOUT_S), "relay did not connect to the broker"
        return relay

    yield start
    for relay in started:
        relay.http.close()
        relay.server.stop(wait=False)
        stopping_servers.append(relay.server)


@pytest.fixture(scope="module")
def relay(module_store_url, mosquitto_url) -> Iterator[Relay]:
    """One relaying directory per module and store, for tests that do not move its clock.

    Every test makes codes of its own and rooms have ids of their own, so tests cannot see each other's.
    Tests that move time or change settings start their own with ``start_relay``.
    """
    settings = settings_for(module_store_url, mqtt={"url": mosquitto_url}, redeem_limit_per_min=10_000)
    app = create_app(settings, FakeClock())
    with run_in_thread(settings, clock=FakeClock(), app=app) as server:
        assert app.state.relay.ready_event.wait(READY_TIMEOUT_S), "relay did not connect to the broker"
        relay = Relay(server, app)
        yield relay
        relay.http.close()


@pytest.fixture
def room(mosquitto_url) -> Iterator[FakeRoom]:
    """A fake room that answers every command with an echo."""
    with FakeRoom(mosquitto_url, new_room_id()) as fake:
        yield fake


def test_create_status_redeem_status_command(start_relay, room):
    relay = start_relay()
    code = create_code(relay.http)
    pending = relay.status(code)
    assert pending.status_code == 200
    assert pending.json() == {
        "data": {"status": "pending", "room": None, "redeemed_at": None},
        "meta": {"status": "success"},
    }

    assert relay.redeem_with_client(code, room.room_id, "Hörsaal H 0104 — Süd").join_url == BBB_URL
    redeemed = relay.status(code).json()["data"]
    assert redeemed["status"] == "redeemed"
    assert redeemed["room"] == {"id": room.room_id, "name": "Hörsaal H 0104 — Süd"}
    assert redeemed["redeemed_at"] == "2023-11-14T22:13:20+00:00"  # the fake clock's start

    answer = relay.command(code, {"action": "mute"})
    assert answer.status_code == 200, answer.text
    got = room.next_command()
    assert got.topic == f"roomagent/{room.room_id}/command"
    assert got.command["action"] == "mute"
    assert got.command["meeting"] == MEETING_ID == "m1"
    assert got.command["id"].startswith("relay-")
    assert (got.qos, got.retain) == (1, False)
    # The reply topic names the room: only its MQTT user may write it (kiosk/mosquitto/roomagent.acl).
    assert got.response_topic == relay.app.state.relay.reply_topic(room.room_id)
    assert got.response_topic.startswith(f"roomagent/_relay/{room.room_id}/") and got.response_topic.endswith("/reply")
    assert got.correlation and got.expiry_s == 10  # relay_timeout_s: never executed after the caller gave up
    assert answer.json() == {
        "data": {"id": got.command["id"], "status": "ok", "data": {"echo": got.command}},
        "meta": {"status": "success"},
    }


def test_the_callers_meeting_is_overridden_and_its_id_kept(relay, room):
    code = create_code(relay.http)
    relay.redeem(code, room.room_id)
    body = {"action": "set_layout", "layout": "lecture", "id": "mine-1", "meeting": "another-meeting"}
    answer = relay.command(code, body)
    assert answer.status_code == 200, answer.text
    got = room.next_command().command
    assert got == {"action": "set_layout", "layout": "lecture", "id": "mine-1", "meeting": MEETING_ID}
    assert answer.json()["data"]["id"] == "mine-1"


def test_a_generic_join_url_is_scoped_as_the_agent_computes_it(relay, room):
    url = "https://meet.example.net/lecture-42"
    code = create_code(relay.http, url)
    relay.redeem(code, room.room_id)
    assert relay.command(code, {"action": "get_state"}).status_code == 200
    assert room.next_command().command["meeting"] == describe_join_url(url).meeting_id


def test_the_rooms_error_reply_is_passed_through(relay, mosquitto_url):
    with FakeRoom(mosquitto_url, new_room_id(), answer="error") as room:
        code = create_code(relay.http)
        relay.redeem(code, room.room_id)
        answer = relay.command(code, {"action": "unmute", "id": "u1"})
    assert answer.status_code == 200
    error = {"code": "wrong_meeting", "message": "the room is in another meeting"}
    assert answer.json() == {"data": {"id": "u1", "status": "error", "error": error}, "meta": {"status": "success"}}


def test_a_reply_that_is_not_a_reply_is_502(relay, mosquitto_url):
    with FakeRoom(mosquitto_url, new_room_id(), answer="garbage") as room:
        code = create_code(relay.http)
        relay.redeem(code, room.room_id)
        assert_error(relay.command(code, {"action": "mute"}), 502)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer forged-token-0123456789"}, {"Authorization": AUTH["Authorization"][7:]}],
    ids=["missing", "forged", "no-scheme"],
)
def test_a_stranger_gets_401(relay, room, headers):
    code = create_code(relay.http)
    relay.redeem(code, room.room_id)
    for response in (relay.status(code, headers), relay.command(code, {"action": "mute"}, headers)):
        assert_error(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    # Not even the body is looked at.
    oversize = relay.http.post("/meeting/command", content=b"x" * (MAX_COMMAND_BYTES + 1), headers={"Code": code})
    assert_error(oversize, 401)
    assert room.received.empty()


def test_another_meeting_server_cannot_see_or_command_the_room(relay, room):
    code = create_code(relay.http)  # created with the "bbb" token
    relay.redeem(code, room.room_id)
    unknown = relay.status("ABC-DEF-234", OTHER_AUTH)
    for response in (relay.status(code, OTHER_AUTH), relay.command(code, {"action": "leave"}, OTHER_AUTH)):
        assert_error(response, 404)
        assert response.content == unknown.content
    assert room.received.empty()  # nothing was published for the other server
    assert relay.command(code, {"action": "get_state"}).status_code == 200
    assert room.next_command().command["action"] == "get_state"


@pytest.mark.parametrize("code", ["ABC-DEF-234", "not a code", "X" * 500, ""])
def test_unknown_and_malformed_codes_are_404(relay, code):
    assert_error(relay.status(code), 404)
    assert_error(relay.command(code, {"action": "mute"}), 404)
    assert_error(relay.http.get("/meeting/status", headers=AUTH), 404)


def test_pending_code_cannot_be_commanded(relay, room):
    code = create_code(relay.http)
    assert "not joined yet" in assert_error(relay.command(code, {"action": "mute"}), 409)
    assert relay.status(code).json()["data"]["status"] == "pending"


def test_code_expired_unredeemed_then_forgotten(start_relay, room, clock):
    relay = start_relay()
    code = create_code(relay.http)
    clock.advance(300)  # code_ttl_s
    assert relay.status(code).json()["data"] == {"status": "expired", "room": None, "redeemed_at": None}
    assert_error(relay.command(code, {"action": "mute"}), 410)
    clock.advance(RELAY_TOMBSTONE_S)
    assert_error(relay.status(code), 404)
    assert_error(relay.command(code, {"action": "mute"}), 404)


def test_relay_ends_after_its_ttl(start_relay, room, clock):
    relay = start_relay()
    code = create_code(relay.http)
    relay.redeem(code, room.room_id, "H 0104")
    clock.advance(RELAY_TTL_S - 1)
    assert relay.command(code, {"action": "mute"}).status_code == 200
    clock.advance(1)
    expired = relay.status(code).json()["data"]
    assert expired["status"] == "expired" and expired["room"] == {"id": room.room_id, "name": "H 0104"}
    assert "expired" in assert_error(relay.command(code, {"action": "mute"}), 410)
    clock.advance(RELAY_TOMBSTONE_S)
    assert_error(relay.status(code), 404)
    assert_error(relay.command(code, {"action": "mute"}), 404)
    assert room.next_command().command["action"] == "mute"
    assert room.received.empty()  # only the command sent while the relay was alive


def test_shorter_relay_ttl_setting(start_relay, room, clock):
    relay = start_relay(relay_ttl_s=600)
    code = create_code(relay.http)
    relay.redeem(code, room.room_id)
    clock.advance(600)
    assert_error(relay.command(code, {"action": "mute"}), 410)


def test_the_code_stays_single_use(relay, room):
    code = create_code(relay.http)
    relay.redeem(code, room.room_id)
    assert_error(relay.http.get("/meeting", headers={"Code": code, "Room-Id": room.room_id}), 404)
    assert relay.status(code).json()["data"]["room"]["id"] == room.room_id  # the first redeemer stays


def test_redeemed_without_room_id_is_redeemed_but_unreachable(relay):
    code = create_code(relay.http)
    relay.redeem(code, None)
    assert relay.status(code).json()["data"]["room"] is None
    assert relay.status(code).json()["data"]["status"] == "redeemed"
    assert "did not name itself" in assert_error(relay.command(code, {"action": "mute"}), 409)


def test_a_lobby_link_cannot_be_commanded(relay, room):
    code = create_code(relay.http, "https://bbb.example.org/b/abc-def-ghi")
    relay.redeem(code, room.room_id)
    assert "not a direct meeting link" in assert_error(relay.command(code, {"action": "mute"}), 409)


def test_room_that_never_answers_is_504(start_relay, mosquitto_url):
    relay = start_relay(relay_timeout_s=0.5)
    with FakeRoom(mosquitto_url, new_room_id(), answer="silent") as room:
        code = create_code(relay.http)
        relay.redeem(code, room.room_id)
        assert "did not answer" in assert_error(relay.command(code, {"action": "mute"}), 504)
        assert room.next_command().expiry_s == 1  # the broker drops it if the room is away that long


def test_a_reply_on_another_rooms_topic_is_dropped_even_with_the_right_correlation(start_relay, mosquitto_url):
    """The relay's own check, on a broker without any ACL: a reply carrying the correlation data of a
    command sent to one room counts only on that room's reply topic (issue 21 item 2)."""
    relay = start_relay(relay_timeout_s=1.0)
    forger_id = new_room_id()
    port = int(mosquitto_url.rsplit(":", 1)[1])
    with FakeRoom(mosquitto_url, new_room_id(), answer="silent") as room, Probe(port) as forger:
        code = create_code(relay.http)
        relay.redeem(code, room.room_id)
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(relay.command, code, {"action": "leave"})
            got = room.next_command()
            forged = json.dumps({"id": got.command["id"], "status": "ok"})
            elsewhere = got.response_topic.replace(f"/_relay/{room.room_id}/", f"/_relay/{forger_id}/")
            assert elsewhere != got.response_topic
            forger.publish(elsewhere, forged, correlation=got.correlation)
            answer = pending.result(timeout=READY_TIMEOUT_S)
        assert "did not answer" in assert_error(answer, 504)  # before: 200 {"status": "ok"} from the forger
        assert relay.app.state.relay.forged_replies == 1


def test_broker_down_is_503(start_relay, clock):
    relay = start_relay(mqtt={"url": f"mqtt://127.0.0.1:{free_port()}"})
    code = create_code(relay.http)
    relay.redeem(code, "h0104")
    response = relay.command(code, {"action": "mute"})
    assert "broker unavailable" in assert_error(response, 503)
    assert response.headers["retry-after"] == "5"
    assert relay.status(code).json()["data"]["status"] == "redeemed"  # status needs no broker


def test_relay_not_configured_is_501(start_relay):
    relay = start_relay(mqtt={})
    code = create_code(relay.http)
    relay.redeem(code, "h0104")
    assert "not configured" in assert_error(relay.command(code, {"action": "mute"}), 501)
    assert relay.status(code).json()["data"]["status"] == "redeemed"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "missing"),
        (b"{", "not valid JSON"),
        (b"[]", "request body"),
        (b'{"action": "dance"}', "action"),
        (b'{"action": "mute", "volume": 3}', "volume"),
        (b'{"action": "set_layout"}', "layout"),
        (b'{"action": "show_message", "text": ""}', "text"),
        (b'{"action": "mute", "meeting": 42}', "meeting"),
    ],
)
def test_invalid_commands_are_422(relay, room, content, expected):
    code = create_code(relay.http)
    relay.redeem(code, room.room_id)
    headers = {**AUTH, "Code": code, "Content-Type": "application/json"}
    message = assert_error(relay.http.post("/meeting/command", content=content, headers=headers), 422)
    assert expected in message
    assert room.received.empty()


def test_a_command_not_declared_as_json_is_415(relay, room):
    code = create_code(relay.http)
    relay.redeem(code, room.room_id)
    for content_type in (None, "text/plain"):
        headers = {**AUTH, "Code": code, **({"Content-Type": content_type} if content_type else {})}
        response = relay.http.post("/meeting/command", content=b'{"action": "mute"}', headers=headers)
        assert "application/json" in assert_error(response, 415)
    assert room.received.empty()


def test_oversized_commands_are_413(relay, room):
    code = create_code(relay.http)
    relay.redeem(code, room.room_id)
    headers = {**AUTH, "Code": code, "Content-Type": "application/json"}
    big = json.dumps({"action": "show_message", "text": "x" * MAX_COMMAND_BYTES}).encode()
    assert "larger than" in assert_error(relay.http.post("/meeting/command", content=big, headers=headers), 413)

    def chunks():
        yield b'{"action": "show_message", "text": "'
        for _ in range(70):
            yield b"x" * 1024
        yield b'"}'

    assert_error(relay.http.post("/meeting/command", content=chunks(), headers=headers), 413)
    assert room.received.empty()


@pytest.mark.parametrize(
    "headers",
    [
        {"Room-Id": "H0104"},
        {"Room-Id": "room/one"},
        {"Room-Id": "r" * 65},
        {"Room-Id": ""},
        {"Room-Id": "h0104", "Room-Name": "%ff%fe"},
        {"Room-Id": "h0104", "Room-Name": "bell%07"},
        {"Room-Id": "h0104", "Room-Name": "a" * (MAX_ROOM_NAME + 1)},
        {"Room-Id": "h0104", "Room-Name": "H\u00f6rsaal".encode()},
    ],
    ids=["upper", "slash", "long", "empty", "bad-utf8", "control", "long-name", "raw-latin1"],
)
def test_malformed_room_headers_are_422_and_do_not_consume_the_code(relay, headers):
    code = create_code(relay.http)
    assert "Room-" in assert_error(relay.http.get("/meeting", headers={"Code": code, **headers}), 422)
    assert relay.status(code).json()["data"]["status"] == "pending"
    assert relay.http.get("/meeting", headers={"Code": code}).status_code == 200


def test_room_name_without_room_id_is_ignored(relay):
    code = create_code(relay.http)
    assert relay.http.get("/meeting", headers={"Code": code, "Room-Name": "Lonely"}).status_code == 200
    assert relay.status(code).json()["data"]["room"] is None


def test_a_code_is_not_minted_again_while_its_relay_lives(start_directory, clock):
    codes = iter(["AAA-AAA-AAA", "AAA-AAA-AAA", "BBB-BBB-BBB", "AAA-AAA-AAA"])
    server = start_directory(code_factory=lambda: next(codes), relay_ttl_s=600)
    with http_client(server.url) as http:
        assert create_code(http) == "AAA-AAA-AAA"
        assert http.get("/meeting", headers={"Code": "AAA-AAA-AAA", "Room-Id": "h0104"}).status_code == 200
        # The code is used up, but its relay record still names it: the next code must differ.
        assert create_code(http) == "BBB-BBB-BBB"
        clock.advance(600 + RELAY_TOMBSTONE_S)
        assert create_code(http) == "AAA-AAA-AAA"
        status = http.get("/meeting/status", headers={**AUTH, "Code": "AAA-AAA-AAA"}).json()["data"]
        assert status == {"status": "pending", "room": None, "redeemed_at": None}


@pytest.mark.redis
def test_each_instance_gets_its_own_replies(redis_server_url, mosquitto_url, clock, room):
    import redis

    with redis.Redis.from_url(redis_server_url) as admin:
        admin.flushall()
    settings = settings_for(redis_server_url, mqtt={"url": mosquitto_url})
    apps = [create_app(settings, clock), create_app(settings, clock)]
    one, two = (run_in_thread(settings, clock=clock, app=app) for app in apps)
    with one, two:
        for app in apps:
            assert app.state.relay.ready_event.wait(READY_TIMEOUT_S)
        assert apps[0].state.relay.reply_filter != apps[1].state.relay.reply_filter
        with http_client(one.url) as a, http_client(two.url) as b:
            code = create_code(a)
            with DirectoryClient(one.url, room_id=room.room_id) as client:
                client.redeem(code)
            for http, tag in ((b, "via-two"), (a, "via-one"), (b, "via-two-again")):
                body = {"action": "get_state", "id": tag}
                answer = http.post("/meeting/command", json=body, headers={**AUTH, "Code": code})
                assert answer.status_code == 200, answer.text
                assert answer.json()["data"]["id"] == tag
    topics = [room.next_command().response_topic for _ in range(3)]
    assert topics[0] == topics[2] == apps[1].state.relay.reply_topic(room.room_id)
    assert topics[1] == apps[0].state.relay.reply_topic(room.room_id)


def test_logs_never_show_codes(relay, room, caplog):
    with caplog.at_level(logging.DEBUG, logger="roomagent"):
        code = create_code(relay.http)
        relay.status(code)
        relay.redeem(code, room.room_id)
        relay.command(code, {"action": "mute"})
        relay.command(code, {"action": "mute"}, OTHER_AUTH)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("roomagent")]
    assert any(f"code redeemed for host bbb.example.org by room {room.room_id}" in m for m in messages)
    assert any(f"command mute relayed to room {room.room_id} for meeting server bbb: ok" in m for m in messages)
    for message in messages:
        assert code not in message and code.replace("-", "") not in message
        assert "checksum" not in message


# --- the client's side --------------------------------------------------------------------------------


def test_client_sends_room_headers():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"join_url": BBB_URL}, "meta": {"status": "success"}})

    transport = httpx.MockTransport(handler)
    with DirectoryClient("https://d.example.org", transport=transport, room_id="h0104", room_name="Hörsaal 1/2") as c:
        c.redeem("ABC-DEF-234")
    with DirectoryClient("https://d.example.org", transport=transport) as plain:
        plain.redeem("ABC-DEF-234")
    name = "x" * (MAX_ROOM_NAME + 50)
    with DirectoryClient("https://d.example.org", transport=transport, room_id="r", room_name=f"\t{name}\n") as long:
        long.redeem("ABC-DEF-234")
    assert seen[0].headers["Room-Id"] == "h0104"
    assert seen[0].headers["Room-Name"] == "H%C3%B6rsaal%201%2F2"
    assert "Room-Id" not in seen[1].headers and "Room-Name" not in seen[1].headers
    assert seen[2].headers["Room-Name"] == "x" * MAX_ROOM_NAME


@pytest.mark.parametrize("room_id", ["H0104", "", "a b", "r" * 65, "räum"])
def test_client_refuses_room_ids_the_directory_would_refuse(room_id):
    with pytest.raises(ValueError, match="room id"):
        DirectoryClient("https://d.example.org", room_id=room_id)


def test_client_room_headers_reach_the_real_directory(relay):
    # A name with every awkward character still redeems and arrives intact.
    name = "Saal 3 – «Süd» %20 / ? & 日本"
    code = create_code(relay.http)
    assert relay.redeem_with_client(code, "h-0104", name).join_url == BBB_URL
    assert relay.status(code).json()["data"]["room"] == {"id": "h-0104", "name": name}


# --- the memory store's bounds ------------------------------------------------------------------------


def test_memory_relays_stay_bounded_and_are_purged():
    store = MemoryStore(max_codes=10, max_clients=10, max_relays=3)

    async def run() -> None:
        for i in range(6):
            assert await store.create(f"C{i}", BBB_URL, now=0.0, ttl_s=300, relay=RelayNew("bbb", "m1"))
        assert len(store._pending) == 3
        assert await store.relay("C0", now=0.0) is None  # the oldest were forgotten
        for i in range(3, 6):
            await store.redeem(f"C{i}", "peer", now=1.0, limit=5, room=RoomTag("r"), relay_ttl_s=100)
        assert (len(store._pending), len(store._redeemed)) == (0, 3)
        record = await store.relay("C5", now=1.0)
        assert record is not None and record.state(1.0) == "redeemed" and record.state(101.0) == "expired"
        # Past the tombstone everything is purged by the next creation.
        assert await store.create("D0", BBB_URL, now=101.0 + RELAY_TOMBSTONE_S, ttl_s=300)
        assert (len(store._pending), len(store._redeemed)) == (0, 0)

    asyncio.run(run())


# --- settings and the broker connection -------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "kiosk" / "directory.example.toml"
MINIMAL = {"allowed_join_hosts": ["*.example.org"], "tokens": {"bbb": "0123456789abcdef0123"}}


def test_relay_settings_defaults_and_example():
    settings = DirectorySettings(**MINIMAL)
    assert (settings.relay_ttl_s, settings.relay_timeout_s, settings.memory_max_relays) == (43_200, 10.0, 100_000)
    assert settings.mqtt.url is None and not settings.mqtt.enabled and settings.mqtt.topic_root == "roomagent"
    example = load_settings(EXAMPLE)
    assert example.mqtt.url is None  # the relay is opt-in
    assert example.relay_ttl_s == 43_200 and example.relay_timeout_s == 10


def test_relay_settings_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "directory.toml"
    path.write_text('allowed_join_hosts = ["*.example.org"]\n[tokens]\nbbb = "0123456789abcdef0123"\n[mqtt]\n')
    monkeypatch.setenv("ROOMAGENT_DIRECTORY_MQTT__URL", "mqtts://broker.example.org:8883")
    monkeypatch.setenv("ROOMAGENT_DIRECTORY_MQTT__TOPIC_ROOT", "campus/rooms")
    monkeypatch.setenv("ROOMAGENT_DIRECTORY_RELAY_TTL_S", "3600")
    settings = load_settings(path)
    assert settings.mqtt.url == "mqtts://broker.example.org:8883" and settings.mqtt.topic_root == "campus/rooms"
    assert settings.relay_ttl_s == 3600


def test_broken_relay_settings_name_their_keys(tmp_path):
    path = tmp_path / "directory.toml"
    path.write_text(
        'allowed_join_hosts = ["*.example.org"]\nrelay_ttl_s = 5\nrelay_timeout_s = 0\n'
        '[tokens]\nbbb = "0123456789abcdef0123"\n'
        '[mqtt]\nurl = "http://broker:1883"\npassword_file = "/nonexistent/pw"\ntopic_root = "a/#"\nport = 1\n'
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    errors = "\n".join(info.value.errors)
    keys = ["relay_ttl_s", "relay_timeout_s", "mqtt.url", "mqtt.password_file", "mqtt.topic_root", "mqtt.port"]
    for key in keys:
        assert f"{key}:" in errors, errors


@pytest.mark.parametrize(
    "url", ["mqtt://", "tcp://broker:1883", "mqtt://broker:port", "mqtt://user:pw@broker:1883"]
)
def test_refused_broker_urls(url):
    with pytest.raises(ValueError, match="mqtt.url"):
        DirectorySettings(**MINIMAL, mqtt={"url": url})


@pytest.fixture
def auth_broker(tmp_path) -> Iterator[tuple[str, Path]]:
    """A private mosquitto that only lets ``relay``/``room`` in with their passwords; yields URL and password file."""
    passwords = tmp_path / "passwd"
    for user in ("relay", "room"):
        args = ["mosquitto_passwd", "-b", *(["-c"] if user == "relay" else []), str(passwords), user, f"{user}-secret"]
        subprocess.run(args, check=True, capture_output=True, timeout=30)
    secret = tmp_path / "relay.password"
    secret.write_text("relay-secret\n")
    with private_mosquitto(tmp_path, anonymous=False, extra=f"password_file {passwords}") as url:
        yield url, secret


def test_relay_logs_in_with_its_password_file_and_own_topic_root(start_relay, auth_broker):
    url, secret = auth_broker
    mqtt = {"url": url, "username": "relay", "password_file": str(secret), "topic_root": "campus/rooms"}
    relay = start_relay(mqtt=mqtt)
    assert relay.app.state.relay.ready_event.wait(READY_TIMEOUT_S), "relay did not log in"
    with FakeRoom(url, new_room_id(), topic_root="campus/rooms", credentials=("room", "room-secret")) as room:
        code = create_code(relay.http)
        relay.redeem(code, room.room_id)
        assert relay.command(code, {"action": "mute"}).status_code == 200
        got = room.next_command()
    assert got.topic == f"campus/rooms/{room.room_id}/command"
    assert got.response_topic.startswith("campus/rooms/_relay/")


def test_a_lost_broker_ends_the_wait_and_the_relay_reconnects(tmp_path, stopping_servers):
    # Memory store only: this is about the broker connection, the store plays no part.
    pool = ThreadPoolExecutor(1)
    with private_mosquitto(tmp_path) as url:
        settings = settings_for("memory", mqtt={"url": url}, relay_timeout_s=60)
        app = create_app(settings, FakeClock())
        relay = Relay(run_in_thread(settings, app=app), app)
        stopping_servers.append(relay.server)
        assert relay.app.state.relay.ready_event.wait(READY_TIMEOUT_S)
        with FakeRoom(url, new_room_id(), answer="silent") as room:
            code = create_code(relay.http)
            relay.redeem(code, room.room_id)
            waiting = pool.submit(relay.command, code, {"action": "mute"})
            room.next_command()  # the command is out; the broker goes away while the directory waits
    # The broker is gone: the caller learns at once that the outcome is unknown, not after 60 s.
    assert "connection to the MQTT broker was lost" in assert_error(waiting.result(READY_TIMEOUT_S), 504)
    pool.shutdown()
    assert "broker unavailable" in assert_error(relay.command(code, {"action": "mute"}), 503)
    port = int(url.rsplit(":", 1)[1])
    with private_mosquitto(tmp_path, port=port), FakeRoom(url, new_room_id()) as room:
        assert relay.app.state.relay.ready_event.wait(READY_TIMEOUT_S), "relay did not reconnect"
        code = create_code(relay.http)
        relay.redeem(code, room.room_id)
        assert relay.command(code, {"action": "mute"}).status_code == 200
    relay.http.close()
    relay.server.stop(wait=False)

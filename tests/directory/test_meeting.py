"""POST/GET /meeting over real HTTP, on the memory store and on Redis."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from datetime import datetime

import pytest

from roomagent.directory.server.main import run_in_thread
from roomagent.directory.server.store import RELAY_TOMBSTONE_S, MemoryStore, Redeemed
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

JSON_AUTH = {**AUTH, "Content-Type": "application/json"}


def test_create_then_redeem_once(http):
    created = http.post("/meeting", json={"data": {"join_url": BBB_URL}}, headers=AUTH)
    assert created.status_code == 200
    body = created.json()
    assert body["meta"] == {"status": "success"}
    code = body["data"]["code"]
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3}", code)

    redeemed = http.get("/meeting", headers={"Code": code})
    assert redeemed.status_code == 200
    assert redeemed.json() == {"data": {"join_url": BBB_URL}, "meta": {"status": "success"}}

    assert assert_error(http.get("/meeting", headers={"Code": code}), 404) == "code not found or expired"


def test_expires_is_iso8601_utc_after_ttl(http, clock):
    expires = http.post("/meeting", json={"data": {"join_url": BBB_URL}}, headers=AUTH).json()["data"]["expires"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", expires)
    assert datetime.fromisoformat(expires).timestamp() == int(clock() + 300)


def test_code_works_until_ttl_then_expires(http, clock):
    early = create_code(http)
    late = create_code(http)
    clock.advance(299)
    assert http.get("/meeting", headers={"Code": early}).status_code == 200
    clock.advance(2)
    assert_error(http.get("/meeting", headers={"Code": late}), 404)


@pytest.mark.parametrize("typed", [str.lower, lambda c: c.replace("-", ""), lambda c: " ".join(c.split("-"))])
def test_redeem_ignores_case_dashes_and_spaces(http, typed):
    code = create_code(http)
    assert http.get("/meeting", headers={"Code": typed(code)}).json()["data"]["join_url"] == BBB_URL


def test_unknown_malformed_expired_and_used_look_the_same(start_directory, clock):
    http = http_client(start_directory(redeem_limit_per_min=100).url)
    used = create_code(http)
    http.get("/meeting", headers={"Code": used})
    expired = create_code(http)
    clock.advance(301)
    answers = [
        http.get("/meeting", headers={"Code": "ABC-DEF-234"}),  # unknown
        http.get("/meeting", headers={"Code": "ABC-DEF-0O1"}),  # look-alikes: not in the alphabet
        http.get("/meeting", headers={"Code": "X" * 500}),
        http.get("/meeting"),  # no header at all
        http.get("/meeting", headers={"Code": expired}),
        http.get("/meeting", headers={"Code": used}),
    ]
    http.close()
    assert {a.status_code for a in answers} == {404}
    assert len({a.content for a in answers}) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": AUTH["Authorization"].replace("Bearer", "Basic")},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer ünïcödé".encode()},
    ],
    ids=["missing", "wrong", "wrong-scheme", "empty", "non-ascii"],
)
def test_create_needs_a_configured_token(shared_http, headers):
    response = shared_http.post("/meeting", json={"data": {"join_url": BBB_URL}}, headers=headers)
    assert_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_every_configured_token_works(shared_http):
    headers = {"Authorization": f"bearer {OTHER_TOKEN}"}
    response = shared_http.post("/meeting", json={"data": {"join_url": BBB_URL}}, headers=headers)
    assert response.status_code == 200


def test_stranger_learns_nothing_about_the_body(shared_http):
    assert_error(shared_http.post("/meeting", content=b"x" * 100_000), 401)
    assert_error(shared_http.post("/meeting", json={"nonsense": True}), 401)


@pytest.mark.parametrize(
    "join_url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,<script>alert(1)</script>",
        "ftp://bbb.example.org/x",
        "https://evil.example.com/join",
        "https://example.org/join",  # the wildcard covers sub-domains only
        "https://bbb.example.org.evil.com/join",
        "https://user:pass@bbb.example.org/join",
        "https://bbb.example.org:99999/join",
        " https://bbb.example.org/join",
        "https://bbb.example.org/jo in",
        "https:///nohost",
        "https://bbb.example.org/" + "a" * 3000,
        "",
    ],
)
def test_refused_join_urls(shared_http, join_url):
    message = assert_error(shared_http.post("/meeting", json={"data": {"join_url": join_url}}, headers=AUTH), 422)
    assert "join_url" in message


@pytest.mark.parametrize(
    "join_url", ["https://meet.example.net/room", "http://a.b.example.org/x", "HTTPS://BBB.EXAMPLE.ORG/x"]
)
def test_accepted_join_urls(shared_http, join_url):
    code = create_code(shared_http, join_url)
    assert shared_http.get("/meeting", headers={"Code": code}).json()["data"]["join_url"] == join_url


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "missing"),
        (b"{", "not valid JSON"),
        (b"[]", "request body"),
        (b'{"data": {}}', "data.join_url"),
        (b'{"data": {"join_url": 42}}', "data.join_url"),
        (b'{"join_url": "https://bbb.example.org/"}', "data"),
    ],
)
def test_malformed_bodies(shared_http, content, expected):
    response = shared_http.post("/meeting", content=content, headers={**AUTH, "Content-Type": "application/json"})
    assert expected in assert_error(response, 422)


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonp", "multipart/form-data; boundary=x"])
def test_a_body_not_declared_as_json_is_415(shared_http, content_type):
    body = b'{"data": {"join_url": "https://bbb.example.org/b/abc"}}'
    headers = dict(AUTH) if content_type is None else {**AUTH, "Content-Type": content_type}
    message = assert_error(shared_http.post("/meeting", content=body, headers=headers), 415)
    assert "Content-Type: application/json" in message


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON;charset=UTF-8"])
def test_json_with_or_without_charset_is_accepted(shared_http, content_type):
    body = b'{"data": {"join_url": "https://bbb.example.org/b/abc"}}'
    response = shared_http.post("/meeting", content=body, headers={**AUTH, "Content-Type": content_type})
    assert response.status_code == 200, response.text


def test_oversized_body_is_refused_unread(shared_http):
    body = b'{"data": {"join_url": "https://bbb.example.org/' + b"a" * 20_000 + b'"}}'
    assert "larger than" in assert_error(shared_http.post("/meeting", content=body, headers=JSON_AUTH), 413)


def test_oversized_streamed_body_is_refused(shared_http):
    def chunks():
        yield b'{"data": {"join_url": "https://bbb.example.org/'
        for _ in range(40):
            yield b"a" * 1024
        yield b'"}}'

    assert_error(shared_http.post("/meeting", content=chunks(), headers=JSON_AUTH), 413)


def test_other_methods_get_405_in_error_shape(shared_http):
    assert_error(shared_http.put("/meeting", headers=AUTH), 405)
    assert_error(shared_http.delete("/server"), 405)


def test_brute_force_is_refused_then_allowed_after_the_window(http, clock):
    valid = create_code(http)
    for _ in range(5):  # redeem_limit_per_min = 5 in the test settings
        assert_error(http.get("/meeting", headers={"Code": "ABC-DEF-234"}), 404)
    refused = http.get("/meeting", headers={"Code": valid})
    assert_error(refused, 429)
    assert refused.headers["retry-after"] == "60"
    clock.advance(45)
    assert http.get("/meeting", headers={"Code": "ABC-DEF-234"}).headers["retry-after"] == "15"
    clock.advance(15)
    # The refused attempt did not consume the code.
    assert http.get("/meeting", headers={"Code": valid}).status_code == 200


def test_successes_do_not_count_as_failures(http):
    for _ in range(8):
        assert http.get("/meeting", headers={"Code": create_code(http)}).status_code == 200


def test_forwarded_for_is_ignored_without_trusted_proxies(http):
    for i in range(5):
        http.get("/meeting", headers={"Code": "ABC-DEF-234", "X-Forwarded-For": f"10.0.0.{i}"})
    assert_error(http.get("/meeting", headers={"Code": "ABC-DEF-234", "X-Forwarded-For": "10.0.0.99"}), 429)


def test_forwarded_for_from_a_trusted_proxy_separates_clients(start_directory):
    server = start_directory(trusted_proxies=["127.0.0.0/8"])
    with http_client(server.url) as client:
        for _ in range(5):
            client.get("/meeting", headers={"Code": "ABC-DEF-234", "X-Forwarded-For": "198.51.100.7"})
        assert_error(client.get("/meeting", headers={"Code": "ABC-DEF-234", "X-Forwarded-For": "198.51.100.7"}), 429)
        assert_error(client.get("/meeting", headers={"Code": "ABC-DEF-234", "X-Forwarded-For": "198.51.100.8"}), 404)


def test_a_code_is_redeemed_by_exactly_one_of_many_racing_clients(http, directory):
    code = create_code(http)
    statuses: list[int] = []
    barrier = threading.Barrier(5)

    def race() -> None:
        with http_client(directory.url) as client:
            barrier.wait()
            statuses.append(client.get("/meeting", headers={"Code": code}).status_code)

    threads = [threading.Thread(target=race) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 404, 404, 404, 404]


def test_a_colliding_code_is_replaced(start_directory):
    codes = iter(["AAA-AAA-AAA", "AAA-AAA-AAA", "BBB-BBB-BBB"])
    server = start_directory(code_factory=lambda: next(codes))
    with http_client(server.url) as client:
        assert create_code(client) == "AAA-AAA-AAA"
        assert create_code(client, "https://meet.example.net/other") == "BBB-BBB-BBB"
        assert client.get("/meeting", headers={"Code": "AAA-AAA-AAA"}).json()["data"]["join_url"] == BBB_URL


def test_gives_up_with_503_when_no_free_code_is_found(start_directory):
    server = start_directory(code_factory=lambda: "AAA-AAA-AAA")
    with http_client(server.url) as client:
        create_code(client)
        assert_error(client.post("/meeting", json={"data": {"join_url": BBB_URL}}, headers=AUTH), 503)


def test_logs_hosts_never_codes_or_urls(http, caplog):
    with caplog.at_level(logging.DEBUG, logger="roomagent.directory"):
        code = create_code(http)
        http.get("/meeting", headers={"Code": code})
        http.get("/meeting", headers={"Code": code})
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("roomagent")]
    assert any("code created for host bbb.example.org" in m for m in messages)
    assert any("code redeemed for host bbb.example.org" in m for m in messages)
    for message in messages:
        assert code not in message and code.replace("-", "") not in message
        assert "meetingID" not in message and "checksum" not in message


def test_healthz_names_the_store(http, store_url):
    body = http.get("/healthz").json()
    kind = "memory" if store_url == "memory" else "redis"
    assert body == {"data": {"status": "ok", "store": kind}, "meta": {"status": "success"}}


def test_full_memory_store_refuses_until_codes_expire():
    settings = settings_for("memory", memory_max_codes=2)
    clock = FakeClock()
    with run_in_thread(settings, clock=clock) as server, http_client(server.url) as client:
        create_code(client)
        create_code(client)
        assert "full" in assert_error(client.post("/meeting", json={"data": {"join_url": BBB_URL}}, headers=AUTH), 503)
        clock.advance(301)
        create_code(client)


def test_memory_store_stays_bounded_under_churn():
    store = MemoryStore(max_codes=3, max_clients=2)

    async def churn() -> None:
        for i in range(100):
            assert await store.create(f"C{i}", BBB_URL, now=float(i), ttl_s=300)
            assert await store.redeem(f"C{i}", "peer", now=float(i), limit=5) == Redeemed(BBB_URL)
        for i in range(10):
            await store.redeem(None, f"client-{i}", now=0.0, limit=5)

    asyncio.run(churn())
    assert len(store) == 0
    assert len(store._expiries) <= 2 * 3 + 1
    assert len(store._failures) <= 2


@pytest.mark.redis
def test_instances_sharing_redis_share_codes_and_limits(redis_server_url, clock):
    import redis

    with redis.Redis.from_url(redis_server_url) as admin:
        admin.flushall()
    settings = settings_for(redis_server_url)
    with run_in_thread(settings, clock=clock) as one, run_in_thread(settings, clock=clock) as two:
        with http_client(one.url) as a, http_client(two.url) as b:
            code = create_code(a)
            assert b.get("/meeting", headers={"Code": code}).status_code == 200
            assert_error(a.get("/meeting", headers={"Code": code}), 404)
            for _ in range(4):  # one failure above plus four: the limit of five, split over both
                assert_error(b.get("/meeting", headers={"Code": "ABC-DEF-234"}), 404)
            assert_error(a.get("/meeting", headers={"Code": "ABC-DEF-234"}), 429)
            create_code(a)
    with redis.Redis.from_url(redis_server_url) as admin:
        keys = admin.keys("roomagent:directory:*")
        # Redis forgets by itself: codes and counters within their TTL, relay records (README "Meeting-scoped
        # relay") within the relay's lifetime plus the tombstone.
        relay_limit = (settings.relay_ttl_s + RELAY_TOMBSTONE_S) * 1000
        assert keys and all(
            0 < admin.pttl(key) <= (relay_limit if key.startswith(b"roomagent:directory:relay:") else 300_000)
            for key in keys
        )

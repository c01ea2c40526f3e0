"""Attacks on the directory that held in the black-box probe, kept as regression tests against the real
server over HTTP: malformed requests never get a 5xx (nor take the server down), and a code raced by 50
clients at once is redeemed exactly once. Both stores."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from roomagent.directory.server.main import RunningServer, run_in_thread
from tests.directory.helpers import AUTH, FakeClock, create_code, http_client, provision_rooms, settings_for

GUARD_S = 15.0
JSON = {**AUTH, "Content-Type": "application/json"}


@pytest.fixture(scope="module", params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def directory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    store = "memory" if request.param == "memory" else request.getfixturevalue("redis_server_url")
    if store != "memory":
        import redis

        with redis.Redis.from_url(store) as admin:
            admin.flushall()
    # High limits: these tests are about malformed input and races, not the rate limit.
    rooms_file = tmp_path_factory.mktemp("rooms") / "rooms.toml"
    provision_rooms(rooms_file, "h0104")  # so that room credentials are checked, not just absent
    settings = settings_for(store, redeem_limit_per_min=10_000, redeem_limit_per_network_per_min=100_000,
                            http_request_timeout_s=2.0, rooms_file=str(rooms_file))
    with run_in_thread(settings, clock=FakeClock()) as server:
        yield server


#: Raw bytes no HTTP library would send.
RAW = [
    b"\x00\x01\x02garbage\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET /meeting HTTP/1.1\r\nHost: x\r\nCode: \xff\xfe\xfd\r\n\r\n",
    b"GET /meeting HTTP/1.1\r\nHost: x\r\nCode: ABC-DEF-234\r\nRoom-Id: h\xc3\xa9\r\n\r\n",
    b"GET /meeting HTTP/1.1\r\nHost: x\r\nCode: ABC\x00DEF\r\n\r\n",
    b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /server HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100_000 + b"\r\n\r\n",
    b"POST /meeting HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /meeting HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"POST /meeting HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n",
    b"BREW /meeting HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /server/%ff%fe%00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /meeting/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \r\nCode: \r\n\r\n",
    b"GET /meeting HTTP/1.1\r\nHost: x\r\nCode: ABC-DEF-234\r\nRoom-Id: h0104\r\nAuthorization: Bearer \xff\xfe\x00\r\n\r\n",
    b"GET /meeting HTTP/1.1\r\nHost: x\r\nCode: ABC-DEF-234\r\nRoom-Id: h0104\r\nAuthorization: \xc3\xa9\r\n\r\n",
]


def raw_status(port: int, payload: bytes) -> int | None:
    """The status the server answers ``payload`` with; ``None`` when it just closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=GUARD_S) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close while we are still sending a huge request
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    if not data:
        return None
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize("payload", RAW, ids=range(len(RAW)))
def test_malformed_raw_requests_never_get_a_5xx(directory, payload):
    status = raw_status(directory.port, payload)
    assert status is None or status < 500


def _requests() -> list[tuple[str, str, dict, object]]:
    deep = "[" * 5000 + "]" * 5000
    bodies = [
        "", "null", "[]", "{}", '{"data": null}', '{"data": {"join_url": 42}}', '{"data": {"join_url": ""}}',
        '{"data": {"join_url": "javascript:alert(1)"}}', '{"data": {"join_url": "https://bbb.example.org/\\r\\nX: y"}}',
        '{"data": {"join_url": "https://user:pw@bbb.example.org/"}}', '{"data": {"join_url": "https://evil.test/"}}',
        '{"data": {"join_url": "https://bbb.example.org:99999/"}}', deep, '{"data": {"join_url": 1e999999}}',
        '{"data": {"join_url": "https://bbb.example.org/' + "\\ud800" + '"}}', "\xff\xfe", '{"data": NaN}',
    ]
    cases: list[tuple[str, str, dict, object]] = [("POST", "/meeting", JSON, body) for body in bodies]
    cases += [
        ("POST", "/meeting", {"Authorization": "Bearer " + "x" * 10_000}, "{}"),
        ("POST", "/meeting", {"Authorization": "Basic Zm9vOmJhcg=="}, "{}"),
        ("GET", "/meeting", {"Code": "x" * 10_000}, None),
        ("GET", "/meeting", {"Code": "ABC-DEF-234", "Room-Id": "../../etc"}, None),
        ("GET", "/meeting", {"Code": "ABC-DEF-234", "Room-Id": "h0104", "Room-Name": "%ff%fe"}, None),
        ("GET", "/meeting", {"Code": "ABC-DEF-234", "Room-Id": "h0104", "Room-Name": "%00"}, None),
        ("GET", "/meeting", {"Code": "ABC-DEF-234", "X-Forwarded-For": "not-an-ip, ::1, 999.1.1.1"}, None),
        ("GET", "/meeting", {"Code": "ABC-DEF-234", "Room-Id": "h0104", "Authorization": "Bearer " + "x" * 10_000}, None),
        ("GET", "/meeting", {"Code": "ABC-DEF-234", "Room-Id": "h0104", "Authorization": "Bearer"}, None),
        ("GET", "/meeting", {"Code": "ABC-DEF-234", "Room-Id": "h0104", "Authorization": "Bearer \u00e9\u00ff".encode("latin-1")}, None),
        ("GET", "/meeting", {"Code": "ABC-DEF-234", "Room-Id": "nope", "Authorization": "Digest x"}, None),
        ("GET", "/meeting", {"Code": "ABC-DEF-234", "Room-Id": "h0104"}, None),
        ("DELETE", "/meeting", {}, None),
        ("PUT", "/meeting", JSON, "{}"),
        ("GET", "/server?per_page=-1&page=abc", {}, None),
        ("GET", "/server?per_page=100000000000000000000", {}, None),
        ("GET", "/server?search=" + "*a" * 50 + "b", {}, None),
        ("GET", "/server/" + "x" * 5000, {}, None),
        ("GET", "/meeting/status", {**AUTH, "Code": "\x7f" * 100}, None),
        ("POST", "/meeting/command", {**JSON, "Code": "ABC-DEF-234"}, '{"action": "leave"}'),
        ("POST", "/meeting/command", {**JSON, "Code": "ABC-DEF-234"}, deep),
        ("GET", "/openapi.json?x=" + "%" * 100, {}, None),
    ]
    return cases


CASES = _requests()


@pytest.mark.parametrize("method,path,headers,body", CASES, ids=range(len(CASES)))
def test_malformed_requests_never_get_a_5xx(directory, method, path, headers, body):
    content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else None
    with http_client(directory.url) as client:
        response = client.request(method, path, headers=headers, content=content)
    # 501 is the documented answer of /meeting/command on a directory without a broker (as here).
    assert response.status_code < 500 or (response.status_code == 501 and path == "/meeting/command"), response.text
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
        assert json.loads(response.text)["meta"]["status"] == "error"  # uvicorn's own 400s are plain text


def test_the_server_survived_them(directory):
    with http_client(directory.url) as client:
        assert client.get("/healthz").status_code == 200
        code = create_code(client)
        assert client.get("/meeting", headers={"Code": code}).status_code == 200


@pytest.mark.parametrize("round_", range(3))
def test_fifty_concurrent_redemptions_of_one_code_give_exactly_one_join_url(directory, round_):
    with http_client(directory.url) as client:
        code = create_code(client)
    clients = [http_client(directory.url) for _ in range(50)]  # one shared TLS context: fast to make
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients))

    def race(client: httpx.Client) -> None:
        barrier.wait()
        status = client.get("/meeting", headers={"Code": code}).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=race, args=(c,)) for c in clients]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(GUARD_S)
    finally:
        for client in clients:
            client.close()
    assert sorted(statuses) == [200] + [404] * 49

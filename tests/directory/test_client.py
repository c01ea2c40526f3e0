"""DirectoryClient against the real directory, misbehaving peers on real sockets, and a mock transport."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess

import httpx
import pytest

from roomagent.directory.client import (
    DEFAULT_RETRY_AFTER_S,
    BadResponse,
    CertificateError,
    CodeNotFound,
    CredentialRefused,
    DirectoryClient,
    DirectoryError,
    DirectoryUnavailable,
    JoinTicket,
    RateLimited,
    RoomSecretError,
    ServerNotFound,
    parse_retry_after,
)
from roomagent.directory.server.main import run_in_thread
from roomagent.directory.server.rooms import generate_secret, hash_secret, write_rooms
from roomagent.serving import free_port
from tests.directory.helpers import BBB_URL, create_code, http_client, provision_rooms, settings_for
from tests.directory.rawserver import RawServer, http_reply

REDEEMED = json.dumps({"data": {"join_url": BBB_URL}, "meta": {"status": "success"}}).encode()


def mock_client(handler) -> DirectoryClient:
    return DirectoryClient("https://directory.example.org", transport=httpx.MockTransport(handler))


def test_redeem_against_the_real_directory(http, directory):
    code = create_code(http)
    with DirectoryClient(directory.url) as client:
        assert client.redeem(code.lower().replace("-", " ")) == JoinTicket(join_url=BBB_URL)
        with pytest.raises(CodeNotFound):
            client.redeem(code)


def test_rate_limited_carries_retry_after(directory, clock):
    with DirectoryClient(directory.url) as client:
        for _ in range(5):
            with pytest.raises(CodeNotFound):
                client.redeem("ABC-DEF-234")
        clock.advance(20)
        with pytest.raises(RateLimited) as info:
            client.redeem("ABC-DEF-234")
    assert info.value.retry_after == 40


def test_malformed_code_makes_no_request():
    calls = []
    client = mock_client(lambda request: calls.append(request) or httpx.Response(200, content=REDEEMED))
    for typed in ["", "ABC", "ABC-DEF-2340", "ABC-DEF-23O", "ÄBC-DEF-234"]:
        with pytest.raises(CodeNotFound):
            client.redeem(typed)
    assert calls == []
    assert client.redeem("abc def 234").join_url == BBB_URL
    assert calls[0].headers["Code"] == "ABC-DEF-234"


def test_servers_from_the_real_directory(directory):
    with DirectoryClient(directory.url) as client:
        page = client.list_servers(per_page=2, page=2)
        assert [s.id for s in page.servers] == ["beta", "gamma"]
        assert (page.total, page.per_page, page.current_page, page.start, page.end) == (5, 2, 2, 3, 4)
        searched = client.list_servers(search="*jitsi", default_server="gamma")
        assert [s.id for s in searched.servers] == ["gamma", "alpha"]
        assert client.get_server("zeta").url == "https://zeta.example.org"
        with pytest.raises(ServerNotFound):
            client.get_server("no/such id")


def test_store_down_is_unavailable():
    settings = settings_for(f"redis://127.0.0.1:{free_port()}/0")
    with run_in_thread(settings) as server, DirectoryClient(server.url) as client:
        assert httpx.get(server.url + "/healthz").status_code == 503
        with pytest.raises(DirectoryUnavailable):
            client.redeem("ABC-DEF-234")


def test_connection_refused():
    with DirectoryClient(f"http://127.0.0.1:{free_port()}") as client, pytest.raises(DirectoryUnavailable):
        client.redeem("ABC-DEF-234")


def test_server_that_never_answers_times_out():
    with RawServer(None) as peer, DirectoryClient(peer.url, timeout_s=0.3) as client:
        with pytest.raises(DirectoryUnavailable, match="timed out"):
            client.redeem("ABC-DEF-234")


@pytest.mark.parametrize(
    "reply",
    [
        http_reply(b"not json at all"),
        http_reply(b"<html>hello</html>", headers="Content-Type: text/html\r\n"),
        http_reply(b'{"data": {"join_url": 42}}'),
        http_reply(b'{"data": null, "meta": {"status": "success"}}'),
        http_reply(b'["join_url"]'),
        http_reply(b""),
        http_reply(b"<html>not found</html>", status="404 Not Found", headers="Content-Type: text/html\r\n"),
        http_reply(b"", status="302 Found", headers="Location: https://elsewhere.example.org/\r\n"),
        http_reply(b"<html>who are you</html>", status="401 Unauthorized", headers="Content-Type: text/html\r\n"),
        http_reply(b'{"data": {"join_url": "' + b"a" * (1024 * 1024 + 10) + b'"}}'),
    ],
    ids=["not-json", "html", "wrong-type", "null-data", "array", "empty", "html-404", "redirect", "401", "huge"],
)
def test_garbage_is_a_bad_response(reply):
    with RawServer(reply) as peer, DirectoryClient(peer.url) as client:
        with pytest.raises(BadResponse):
            client.redeem("ABC-DEF-234")
        assert peer.requests and b"\r\ncode: abc-def-234\r\n" in peer.requests[0].lower()


def test_a_peer_that_does_not_speak_http_is_unavailable():
    with RawServer(b"SSH-2.0-OpenSSH_9.2\r\n") as peer, DirectoryClient(peer.url) as client:
        with pytest.raises(DirectoryUnavailable):
            client.redeem("ABC-DEF-234")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable(status):
    client = mock_client(lambda request: httpx.Response(status, text="<html>down</html>"))
    with pytest.raises(DirectoryUnavailable, match=str(status)):
        client.redeem("ABC-DEF-234")


def test_404_without_body_is_code_not_found():
    with pytest.raises(CodeNotFound):
        mock_client(lambda request: httpx.Response(404)).redeem("ABC-DEF-234")


@pytest.mark.parametrize(
    ("header", "expected"),
    [("17", 17.0), ("2.5", 2.5), (None, DEFAULT_RETRY_AFTER_S), ("soon", DEFAULT_RETRY_AFTER_S), ("-5", 0.0)],
)
def test_retry_after_values(header, expected):
    headers = {"Retry-After": header} if header is not None else {}
    client = mock_client(lambda request: httpx.Response(429, headers=headers, json={"data": None}))
    with pytest.raises(RateLimited) as info:
        client.redeem("ABC-DEF-234")
    assert info.value.retry_after == expected


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412450.0) == 30.0


def test_reads_servers_spelling_and_lenient_meta():
    body = {"data": {"servers": [{"id": 7, "name": "Seven", "url": "https://7.example.org"}]}, "meta": {"total": 1}}
    page = mock_client(lambda request: httpx.Response(200, json=body)).list_servers()
    assert page.servers[0].id == "7"
    assert (page.total, page.per_page, page.current_page, page.start, page.end) == (1, 20, 1, 1, 1)


@pytest.mark.parametrize(
    "body",
    [{"data": {}}, {"data": {"severs": [{"id": "x"}]}}, {"data": {"severs": []}, "meta": {"total": "many"}}, []],
)
def test_server_list_garbage(body):
    with pytest.raises(BadResponse):
        mock_client(lambda request: httpx.Response(200, json=body)).list_servers()


def test_every_error_is_a_directory_error():
    for kind in (CodeNotFound, ServerNotFound, RateLimited, DirectoryUnavailable, CertificateError, BadResponse,
                 RoomSecretError, CredentialRefused):
        assert issubclass(kind, DirectoryError)


def test_only_http_urls():
    with pytest.raises(ValueError):
        DirectoryClient("ftp://directory.example.org")


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory) -> tuple[str, str]:
    """Certificate and key for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def test_tls_is_verified_against_the_ca_bundle(self_signed):
    cert, key = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with RawServer(http_reply(REDEEMED), tls=context) as peer:
        with DirectoryClient(peer.url) as client, pytest.raises(CertificateError):
            client.redeem("ABC-DEF-234")
        with DirectoryClient(peer.url, ca_bundle=cert) as client:
            assert client.redeem("ABC-DEF-234").join_url == BBB_URL


def test_a_room_with_a_secret_proves_itself_and_follows_a_rotation(start_directory, tmp_path):
    rooms_file = tmp_path / "rooms.toml"
    old = provision_rooms(rooms_file, "h0104")["h0104"]
    secret_file = tmp_path / "directory.secret"
    secret_file.write_text(old + "\n")
    server = start_directory(rooms_file=str(rooms_file))
    with http_client(server.url) as http, DirectoryClient(server.url, room_id="h0104", secret_file=str(secret_file)) as client:
        assert client.redeem(create_code(http)).join_url == BBB_URL
        # Rotation: the directory accepts both secrets, the room's file is replaced; no restart on either side.
        new = generate_secret()
        write_rooms(rooms_file, {"h0104": (hash_secret(old), hash_secret(new))})
        secret_file.write_text(new + "\n")
        assert client.redeem(create_code(http)).join_url == BBB_URL
        write_rooms(rooms_file, {"h0104": (hash_secret(new),)})
        assert client.redeem(create_code(http)).join_url == BBB_URL
        secret_file.write_text(old + "\n")  # a stale secret is refused with a clear error
        with pytest.raises(CredentialRefused, match="room credential not accepted for room h0104"):
            client.redeem(create_code(http))
        secret_file.unlink()
        with pytest.raises(RoomSecretError, match=r"\[directory\] secret_file: file .* does not exist"):
            client.redeem(create_code(http))


def test_a_registered_room_without_its_secret_is_told_so(start_directory, tmp_path):
    rooms_file = tmp_path / "rooms.toml"
    provision_rooms(rooms_file, "h0104")
    server = start_directory(rooms_file=str(rooms_file))
    with http_client(server.url) as http, DirectoryClient(server.url, room_id="h0104") as client:
        with pytest.raises(CredentialRefused, match="room h0104 must prove who it is"):
            client.redeem(create_code(http))


def test_a_secret_needs_the_room_id(tmp_path):
    with pytest.raises(ValueError, match="needs the room id"):
        DirectoryClient("https://directory.example.org", secret_file=str(tmp_path / "x"))

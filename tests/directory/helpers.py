"""Shared constants and helpers of the directory tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import functools
import ssl
import threading
from pathlib import Path

import httpx

from roomagent.directory.server.rooms import generate_secret, hash_secret, write_rooms
from roomagent.directory.server.settings import DirectorySettings

TOKEN = "test-token-bbb-0123456789"
OTHER_TOKEN = "test-token-jitsi-9876543210"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BBB_URL = "https://bbb.example.org/bigbluebutton/api/join?meetingID=m1&checksum=abc"
SERVERS = [
    {"id": "zeta", "name": "Zeta BBB", "url": "https://zeta.example.org"},
    {"id": "alpha", "name": "alpha Jitsi", "url": "https://alpha.example.org"},
    {"id": "main", "name": "Main campus BBB", "url": "https://bbb.example.org"},
    {"id": "beta", "name": "Beta BBB", "url": "https://beta.example.org"},
    {"id": "gamma", "name": "Gamma Jitsi", "url": "https://gamma.example.org"},
]


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def http_client(base_url: str, **kwargs) -> httpx.Client:
    """An httpx client for a test directory, sharing one TLS context (building one costs ~80 ms)."""
    return httpx.Client(base_url=base_url, verify=_tls_context(), timeout=10, **kwargs)


def settings_for(store_url: str, **overrides) -> DirectorySettings:
    """Test settings on ``store_url``; keyword arguments override the defaults."""
    values = {
        "store": store_url,
        "code_ttl_s": 300,
        "allowed_join_hosts": ["*.example.org", "meet.example.net"],
        "redeem_limit_per_min": 5,
        "tokens": {"bbb": TOKEN, "jitsi": OTHER_TOKEN},
        "servers": SERVERS,
        "default_server": "main",
    }
    values.update(overrides)
    return DirectorySettings(**values)


class FakeClock:
    """An injected clock: time moves only when a test says so."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        with self._lock:
            self.now += seconds


def create_code(client: httpx.Client, join_url: str = BBB_URL) -> str:
    """POST a join URL with the test token; returns the code."""
    response = client.post("/meeting", json={"data": {"join_url": join_url}}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()["data"]["code"]


def assert_error(response: httpx.Response, status: int) -> str:
    """The answer has ``status`` and the one error shape; returns its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["data"] is None
    assert body["meta"]["status"] == "error"
    assert isinstance(body["meta"]["message"], str) and body["meta"]["message"]
    return body["meta"]["message"]


def provision_rooms(path: Path, *rooms: str) -> dict[str, str]:
    """Write a rooms file at ``path`` giving each room a fresh secret; returns room id -> secret.

    The same hashing and writing as ``roomagent directory room add`` (whose CLI has tests of its own).
    """
    secrets = {room: generate_secret() for room in rooms}
    write_rooms(path, {room: (hash_secret(secret),) for room, secret in secrets.items()})
    return secrets


def room_headers(room: str, secret: str | None = None) -> dict[str, str]:
    """``Room-Id`` and, with ``secret``, the room's ``Authorization`` header."""
    headers = {"Room-Id": room}
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return headers

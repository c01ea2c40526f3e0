"""Fixtures for the fleet dashboard: a real mosquitto (tests/control/broker.py), rooms that publish real
retained messages on it, and the real dashboard app served by uvicorn on a free port."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from roomagent.fleet.access import hash_password
from roomagent.fleet.config import FleetSettings
from tests.control.broker import GUARD_S, Mosquitto, Probe

PASSWORD = "correct horse battery staple"


@functools.cache
def password_hash() -> str:
    """The argon2id hash of :data:`PASSWORD` (argon2 is slow on purpose: computed once per run)."""
    return hash_password(PASSWORD)


def state(lifecycle: str = "idle", *, screens: list[tuple[str, str]] | None = None, meeting: dict | None = None,
          error: dict | None = None, sources: list[dict] | None = None, warnings: list[str] | None = None) -> dict:
    """A state snapshot in the shape the agent publishes (roomagent/control/schemas/state.schema.json)."""
    screens = screens if screens is not None else [("left", "loaded" if lifecycle == "in_meeting" else "idle"),
                                                   ("right", "loaded" if lifecycle == "in_meeting" else "idle")]
    return {
        "state": lifecycle, "meeting": meeting, "layout": "lecture" if meeting else None,
        "muted": False if meeting else None,
        "screens": [{"id": sid, "role": "slides" if i == 0 else "cameras", "media": i == 0, "status": status}
                    for i, (sid, status) in enumerate(screens)],
        "layouts": ["lecture"], "capabilities": [], "warnings": warnings or [], "sources": sources or [],
        "sharing": None, "previews": {}, "reconnecting": False, "engine": "qtwebengine",
        "rendering": {"mode": "software", "reason": "test"}, "codecs": {}, "version": "1.2.3", "error": error,
    }


class SimRoom:
    """A room as the broker sees it: a client with the ``offline`` will that publishes retained
    ``online`` and ``state`` and may vanish without saying goodbye."""

    def __init__(self, port: int, room: str, *, answer: bool = False, password: str | None = None) -> None:
        self.room = room
        self.probe = Probe(port, client_id=f"roomagent-{room}", handler=self._answer if answer else None,
                           username=room if password else None, password=password)
        self.probe.client.will_set(f"roomagent/{room}/availability", b"offline", qos=1, retain=True)
        self.answer = answer

    def _answer(self, client, message) -> None:
        """Reply ``ok`` to a command (paho's thread), as the contract says: to the ResponseTopic with the
        CorrelationData."""
        if not message.topic.endswith("/command"):
            return
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = message.properties.CorrelationData
        body = json.dumps({"id": json.loads(message.payload).get("id", ""), "status": "ok"})
        client.publish(message.properties.ResponseTopic, body, qos=1, properties=props)

    def connect(self, snapshot: dict) -> SimRoom:
        reason = self.probe.connect()
        assert not reason.is_failure, reason
        if self.answer:
            self.probe.subscribe(f"roomagent/{self.room}/command")
        self.publish_state(snapshot)
        self.probe.publish(f"roomagent/{self.room}/availability", b"online", retain=True)
        return self

    def publish_state(self, snapshot: dict) -> None:
        self.probe.publish(f"roomagent/{self.room}/state", json.dumps(snapshot), retain=True)

    def event(self, name: str, data: dict) -> None:
        self.probe.publish(f"roomagent/{self.room}/event", json.dumps({"event": name, "at": 1.0, "data": data}))

    def vanish(self) -> None:
        """Drop the connection without DISCONNECT: the broker publishes the will, as for a dead agent."""
        self.probe.client.loop_stop()  # no reconnect: the room is gone
        sock = self.probe.client.socket()
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        self._gone = True

    def close(self) -> None:
        if not getattr(self, "_gone", False):
            self.probe.close()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One mosquitto for the module."""
    server = Mosquitto(tmp_path_factory.mktemp("broker")).start()
    yield server
    server.stop()


def make_settings(folder: Path, broker_url: str, *, mqtt: dict | None = None, **auth) -> FleetSettings:
    """Dashboard settings for a test broker (``mqtt``: more of its ``[mqtt]``, e.g. a login); password
    sign-in unless ``auth`` says otherwise."""
    secret = folder / "session-secret"
    secret.write_text(secrets.token_hex(32))
    rooms = [{"id": "h0104", "name": "Lecture hall 1.04", "building": "Main building"},
             {"id": "s2-201", "name": "Seminar <b>201</b>", "building": "Science 2"}]
    return FleetSettings.model_validate({
        "mqtt": {"url": broker_url, **(mqtt or {})},
        "web": {"session_secret_file": str(secret), "secure_cookies": False,
                "audit_log": str(folder / "audit.jsonl"), "command_timeout_s": GUARD_S / 2},
        "auth": auth or {"mode": "password", "users": [{"name": "alice", "password_hash": password_hash()}]},
        "rooms": rooms,
    })


def audit_lines(settings: FleetSettings) -> list[dict]:
    """The audit log's records."""
    path = Path(settings.web.audit_log)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@contextlib.contextmanager
def signed_in(server) -> Iterator[httpx.Client]:
    """An HTTP client signed in as alice on a running dashboard (``run_in_thread``)."""
    with httpx.Client(base_url=server.url, timeout=GUARD_S) as client:
        token = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"csrf": token, "name": "alice", "password": PASSWORD, "next": "/"})
        assert response.status_code == 303 and response.headers["location"] == "/"
        yield client


# ----- the history and the alerts (tests/fleet/receivers.py) ------------------------------------------------
@pytest.fixture
def mail():
    """A real SMTP server for the test."""
    from tests.fleet.receivers import MailServer

    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def hook():
    """A webhook receiver for the test."""
    from tests.fleet.receivers import WebhookReceiver

    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Iterator[str]:
    """An empty history database of each kind: an SQLite file, a temporary PostgreSQL database."""
    from tests.fleet.receivers import temporary_postgres

    if request.param == "sqlite":
        yield str(tmp_path / "history.sqlite")
    else:
        with temporary_postgres() as url:
            yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (nothing downloaded), one for the module."""
    import os

    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed")
    playwright_sync.expect.set_options(timeout=int(GUARD_S * 1000))  # a failure guard
    with playwright_sync.sync_playwright() as pw:
        # --no-sandbox: the tests run as root, where Chromium's sandbox cannot start (DESIGN.md §5).
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                      args=["--no-sandbox"] if os.geteuid() == 0 else [])
        yield chromium
        chromium.close()

"""Test helpers for the history and the alerts: a real SMTP server (aiosmtpd), a webhook receiver (the
standard library's HTTP server), a temporary PostgreSQL database, and the dashboard as a real process.

Every wait is a failure guard (``GUARD_S``): the helpers block on queues the real servers fill."""

from __future__ import annotations

import contextlib
import email
import json
import queue
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from roomagent.serving import free_port
from tests.control.broker import GUARD_S, kill_process

REPO = Path(__file__).resolve().parents[2]
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class MailServer:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it accepts."""

    def __init__(self) -> None:
        controller_module = pytest.importorskip("aiosmtpd.controller")
        self.messages: queue.Queue[Message] = queue.Queue()
        self.port = free_port()
        self.controller = controller_module.Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server, _session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        """aiosmtpd calls this for each message (in its own thread's event loop)."""
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.put(message)
        return "250 Message accepted for delivery"

    def start(self) -> MailServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def next(self, timeout: float = GUARD_S) -> Message:
        """The next message that arrived (waits for it; fails after the guard)."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no mail arrived within {timeout:g} s") from None

    def nothing_waiting(self) -> bool:
        """True when no message is waiting to be looked at."""
        return self.messages.empty()


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it and answers ``status``."""

    def __init__(self) -> None:
        self.bodies: queue.Queue[dict] = queue.Queue()
        self.headers: list[dict] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the standard library's name
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                receiver.headers.append(dict(self.headers))
                self.send_response(receiver.status)
                self.end_headers()
                if receiver.status < 300:
                    receiver.bodies.put(body)

            def log_message(self, *_args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/s3cret-path"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="webhook")

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next(self, timeout: float = GUARD_S) -> dict:
        """The next body accepted (waits for it; fails after the guard)."""
        try:
            return self.bodies.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no webhook call within {timeout:g} s") from None


@contextlib.contextmanager
def temporary_postgres() -> Iterator[str]:
    """A fresh PostgreSQL database on 127.0.0.1:5432 for this run (dropped afterwards); its URL."""
    sa = pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg")
    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"fleet_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as db:
            db.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {str(exc).splitlines()[0]}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as db:
            db.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class DashboardProcess:
    """``roomagent fleet`` as a real process on a free port, from a fleet.toml text."""

    def __init__(self, folder: Path, config_text: str) -> None:
        self.config = folder / "fleet.toml"
        self.config.write_text(config_text)
        self.log = folder / "dashboard.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> DashboardProcess:
        """Start it and wait until it serves and is connected to the broker."""
        with self.log.open("a") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "roomagent", "fleet", "--config", str(self.config),
                                          "--port", str(self.port)], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        with httpx.Client(base_url=self.url, timeout=GUARD_S) as http:
            for _ in range(int(GUARD_S / 0.05)):
                if self.proc.poll() is not None:
                    raise AssertionError(f"the dashboard exited:\n{self.log.read_text()}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get("/healthz").json()["mqtt"]:
                        return self
                threading.Event().wait(0.05)
        raise AssertionError(f"the dashboard did not connect:\n{self.log.read_text()}")

    def stop(self) -> None:
        """SIGTERM (as systemd stops it) and wait; SIGKILL only if it hangs."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(GUARD_S)
        except subprocess.TimeoutExpired:
            kill_process(self.proc)
        self.proc = None


def with_sections(settings, **sections):
    """``settings`` (a FleetSettings) with more sections, validated like fleet.toml."""
    data = settings.model_dump(mode="json")
    data.update(sections)
    return type(settings).model_validate(data)


def wait_for(condition, what: str) -> None:
    """Wait until ``condition()`` is true (a failure guard, not a timing assertion)."""
    for _ in range(int(GUARD_S / 0.02)):
        if condition():
            return
        threading.Event().wait(0.02)
    raise AssertionError(f"{what}: not within {GUARD_S:g} s")


def mail_text(message: Message) -> str:
    """A mail's text, decoded (quoted-printable and all)."""
    return message.get_payload(decode=True).decode()


def fleet_toml(folder: Path, broker_url: str, extra: str = "") -> str:
    """A fleet.toml for a test broker with the usual user and room h0104, plus ``extra`` sections."""
    from tests.fleet.conftest import password_hash

    secret = folder / "session-secret"
    secret.write_text(secrets.token_hex(32))
    return f"""
[mqtt]
url = "{broker_url}"
[web]
session_secret_file = "{secret}"
secure_cookies = false
audit_log = "{folder / 'audit.jsonl'}"
[auth]
mode = "password"
[[auth.users]]
name = "alice"
password_hash = "{password_hash()}"
[[rooms]]
id = "h0104"
name = "Lecture hall 1.04"
building = "Main building"
{extra}"""

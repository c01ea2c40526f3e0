"""Slow clients against the real directory: half-sent requests are timed out by the server itself (408,
then closed) and never starve ``/healthz``, even past the process's open-file limit.

No timed assertions: the tests open the connections, then assert outcomes (answers, closed sockets);
every wait is a failure guard.
"""

from __future__ import annotations

import logging
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from roomagent.directory.server.main import run_in_thread
from roomagent.httpguard import ShedLog
from roomagent.serving import free_port
from tests.directory.helpers import TOKEN, FakeClock, settings_for

GUARD_S = 20.0
HALF_REQUESTS = 300
#: Ways to stop half-way: in the request line, in the headers, in the body.
PARTIAL = [
    b"GET /healthz HT",
    b"GET /meeting HTTP/1.1\r\nHost: x\r\nCode: ABC-",
    b"POST /meeting HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
    + b"\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"data\": {",
]


def open_half_requests(port: int, count: int) -> list[socket.socket]:
    socks = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(PARTIAL[n % len(PARTIAL)])
        socks.append(sock)
    return socks


def wait_until_closed(socks: list[socket.socket]) -> dict[socket.socket, bytes]:
    """What each socket received until the server closed it; sockets still open after the guard are left out."""
    received: dict[socket.socket, bytes] = {sock: b"" for sock in socks}
    closed: dict[socket.socket, bytes] = {}
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + GUARD_S
    while len(closed) < len(socks) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            sock = key.fileobj
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                received[sock] += chunk
            else:
                selector.unregister(sock)
                closed[sock] = received[sock]
    selector.close()
    return closed


def test_half_sent_requests_are_timed_out_and_healthz_still_answers():
    settings = settings_for("memory", http_request_timeout_s=1.0)
    with run_in_thread(settings, clock=FakeClock()) as server:
        socks = open_half_requests(server.port, HALF_REQUESTS)
        # One more: a whole request, then half of the next on the same (keep-alive) connection.
        keep_alive = socket.create_connection(("127.0.0.1", server.port))
        keep_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HT")
        socks.append(keep_alive)
        try:
            assert httpx.get(f"{server.url}/healthz", timeout=GUARD_S).status_code == 200
            closed = wait_until_closed(socks)
            assert len(closed) == len(socks), f"{len(socks) - len(closed)} slow clients were never closed"
            answers = [closed[sock] for sock in socks]
            assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers[:-1])
            assert answers[-1].startswith(b"HTTP/1.1 200 ") and b"HTTP/1.1 408 " in answers[-1]
            # A complete request still works afterwards, and its answer is not cut by the request timeout.
            assert httpx.get(f"{server.url}/healthz", timeout=GUARD_S).status_code == 200
        finally:
            for sock in socks:
                sock.close()


def _low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def test_more_slow_clients_than_file_descriptors_do_not_starve_healthz(tmp_path: Path):
    """The real ``roomagent directory`` process under ``ulimit -n 256``, with 300 half-sent requests open."""
    config = tmp_path / "directory.toml"
    config.write_text(f'allowed_join_hosts = ["bbb.example.org"]\n[tokens]\nbbb = "{TOKEN}"\n')
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "roomagent", "directory", "--config", str(config), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=_low_fd_limit,
    )
    url = f"http://127.0.0.1:{port}/healthz"
    socks: list[socket.socket] = []
    try:
        deadline = time.monotonic() + GUARD_S
        while True:  # failure guard: the process starting up
            try:
                if httpx.get(url).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "directory did not come up"
            time.sleep(0.05)
        socks = open_half_requests(port, HALF_REQUESTS)
        assert httpx.get(url, timeout=GUARD_S).status_code == 200
        assert proc.poll() is None
    finally:
        for sock in socks:
            sock.close()
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=GUARD_S)
        finally:
            proc.kill()
    assert "lowered to" in err and "open connections" in err, err[-2000:]
    # 300 connections against a cap of 192: about a hundred closed, one warning line (issue 21: one each).
    shed_lines = [line for line in err.splitlines() if "open connections: clos" in line]
    assert len(shed_lines) == 1, f"{len(shed_lines)} warning lines for the connections past the cap"


class _Loop:
    """Just what :class:`ShedLog` uses of an event loop: its clock and ``call_at``, under the test's control."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, object, tuple]] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback, *args):
        self.timers.append((when, callback, args))
        return object()

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [t for t in self.timers if t[0] <= self.now]
        self.timers = [t for t in self.timers if t[0] > self.now]
        for _when, callback, args in due:
            callback(*args)


def test_connections_past_the_cap_are_logged_once_per_interval_with_their_count(caplog):
    caplog.set_level(logging.WARNING, logger="roomagent.serving")
    loop, shed = _Loop(), ShedLog(interval_s=60.0)
    for _ in range(1000):
        shed.closed(loop, 192)
        loop.advance(0.01)  # 1,000 closings in 10 s
    assert len(caplog.records) == 1 and "more than 192 open connections" in caplog.records[0].getMessage()
    loop.advance(60)
    assert len(caplog.records) == 2 and "closed 999 more" in caplog.records[1].getMessage()
    loop.advance(600)  # quiet: no line, no timer
    assert len(caplog.records) == 2 and not loop.timers
    shed.closed(loop, 192)  # a new flood after a quiet spell is said at once
    assert len(caplog.records) == 3

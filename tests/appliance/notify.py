"""A stand-in for systemd's end of the notify protocol: a datagram socket in a temporary folder that
collects what the agent sends (READY=1, STATUS=, WATCHDOG=1, STOPPING=1, MAINPID=)."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

#: Upper bound of every wait here; reached only when something is broken, never a timing check.
GUARD_S = 60.0


class NotifySocket:
    """``NOTIFY_SOCKET`` for a child process; :meth:`wait_for` reads messages until one matches."""

    def __init__(self, folder: Path) -> None:
        self.path = str(folder / "notify")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self.messages: list[dict[str, str]] = []

    def close(self) -> None:
        """Release the socket."""
        self._sock.close()

    def _read(self, timeout_s: float) -> dict[str, str] | None:
        ready, _, _ = select.select([self._sock], [], [], timeout_s)
        if not ready:
            return None
        data = self._sock.recv(65536).decode()
        message = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
        self.messages.append(message)
        return message

    def wait_for(self, key: str, value: str | None = None, *, count: int = 1) -> list[dict[str, str]]:
        """Read until ``count`` messages carrying ``key`` (with ``value`` if given) have arrived since the
        call; returns those messages. Fails after :data:`GUARD_S`."""
        found: list[dict[str, str]] = []
        deadline = time.monotonic() + GUARD_S
        while len(found) < count:
            left = deadline - time.monotonic()
            message = self._read(max(0.0, left)) if left > 0 else None
            if message is None:
                raise AssertionError(f"no {key}={value or '*'} (x{count}) within {GUARD_S} s; got {self.messages}")
            if key in message and (value is None or message[key] == value):
                found.append(message)
        return found

    def drain(self) -> list[dict[str, str]]:
        """Everything already queued, without waiting."""
        out = []
        while (message := self._read(0)) is not None:
            out.append(message)
        return out

    def quiet_for(self, seconds: float) -> list[dict[str, str]]:
        """What arrives within ``seconds`` (used to show that a stopped process sends nothing)."""
        out = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            message = self._read(left)
            if message is not None:
                out.append(message)
        return out

"""systemd's notify protocol (``Type=notify``): READY, STATUS, STOPPING, WATCHDOG.

A datagram to ``$NOTIFY_SOCKET``; without that variable (a developer's terminal, the tests) every call
is a no-op, so the agent never depends on running under systemd.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    """Sends state lines to systemd. Construct once; ``enabled`` tells whether anyone listens."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET", "")
        # A leading '@' names a socket in the abstract namespace.
        self._address = "\0" + address[1:] if address.startswith("@") else address

    @property
    def enabled(self) -> bool:
        """True when systemd (or a test) gave a notify socket."""
        return bool(self._address)

    def send(self, *fields: str) -> bool:
        """Send ``KEY=value`` lines; returns False when nobody listens or the socket is gone."""
        if not self._address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(fields).encode(), self._address)
        except OSError:
            return False
        return True

    def ready(self, status: str) -> bool:
        """The service is up (the keypad is shown)."""
        return self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        """A human status line for ``systemctl status``."""
        return self.send(f"STATUS={status}")

    def stopping(self) -> bool:
        """A clean shutdown has begun."""
        return self.send("STOPPING=1")

"""systemd's notify protocol (``Type=notify``): READY, STATUS, STOPPING, WATCHDOG.

A datagram to ``$NOTIFY_SOCKET``; without that variable (a developer's terminal, the tests) every call
is a no-op, so the agent never depends on running under systemd.

The watchdog (``WatchdogSec=`` in the unit): systemd passes ``WATCHDOG_USEC`` and ``WATCHDOG_PID``;
:func:`watchdog_period_s` says how often to send ``WATCHDOG=1`` (half the timeout, as sd_watchdog_enabled
recommends), or None when this process is not the one being watched.
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

    def ready(self, status: str, main_pid: int | None = None) -> bool:
        """The service is up (the keypad is shown). ``main_pid``: this process is the service's main process
        even though systemd started another one (the agent runs as the child of the kiosk compositor)."""
        fields = ["READY=1", f"STATUS={status}"]
        if main_pid is not None:
            fields.insert(1, f"MAINPID={main_pid}")
        return self.send(*fields)

    def status(self, status: str) -> bool:
        """A human status line for ``systemctl status``."""
        return self.send(f"STATUS={status}")

    def stopping(self) -> bool:
        """A clean shutdown has begun."""
        return self.send("STOPPING=1")

    def watchdog(self) -> bool:
        """Tell systemd the main loop is alive."""
        return self.send("WATCHDOG=1")


def watchdog_period_s(environ: dict[str, str] | None = None, pid: int | None = None) -> float | None:
    """Seconds between ``WATCHDOG=1`` pings: half of ``WATCHDOG_USEC``. None without a notify socket, without
    a (valid, positive) ``WATCHDOG_USEC``, or when ``WATCHDOG_PID`` names another process."""
    env = environ if environ is not None else os.environ
    if not env.get("NOTIFY_SOCKET"):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    watched = env.get("WATCHDOG_PID", "")
    if watched:
        try:
            if int(watched) != (os.getpid() if pid is None else pid):
                return None
        except ValueError:
            return None
    return usec / 2_000_000

"""systemd's notify protocol (``Type=notify``): READY, STATUS, STOPPING, WATCHDOG.

A datagram to ``$NOTIFY_SOCKET``; without that variable (a developer's terminal, the tests) every call
is a no-op, so the agent never depends on running under systemd.

The watchdog (``WatchdogSec=`` in the unit): systemd passes ``WATCHDOG_USEC`` and ``WATCHDOG_PID``;
:func:`watchdog_period_s` says how often to send ``WATCHDOG=1`` (half the timeout, as sd_watchdog_enabled
recommends), or None when this process is not the one being watched.

The agent's GUI thread sends these, so a send never blocks it: a manager that does not read its socket
(stalled, or a test that stopped listening) fills the queue, and then a STATUS or WATCHDOG line is
dropped at once (the next one carries the news), while READY and STOPPING wait a moment
(:data:`IMPORTANT_WAIT_S`) before giving up. An unchanged STATUS line is not sent again.
"""

from __future__ import annotations

import os
import socket

#: How long READY=1 and STOPPING=1 may wait for room in a full notify queue before they are given up.
IMPORTANT_WAIT_S = 1.0


class Notifier:
    """Sends state lines to systemd. Construct once; ``enabled`` tells whether anyone listens."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET", "")
        # A leading '@' names a socket in the abstract namespace.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._status: str | None = None

    @property
    def enabled(self) -> bool:
        """True when systemd (or a test) gave a notify socket."""
        return bool(self._address)

    def send(self, *fields: str, wait_s: float = 0.0) -> bool:
        """Send ``KEY=value`` lines; returns False when nobody listens, the socket is gone, or its queue
        stayed full for ``wait_s`` (0: not waiting at all)."""
        if not self._address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.settimeout(max(wait_s, 0.0))  # 0.0: non-blocking
                sock.sendto("\n".join(fields).encode(), self._address)
        except OSError:  # BlockingIOError and TimeoutError included: the manager is not reading
            return False
        return True

    def ready(self, status: str, main_pid: int | None = None) -> bool:
        """The service is up (the keypad is shown). ``main_pid``: this process is the service's main process
        even though systemd started another one (the agent runs as the child of the kiosk compositor)."""
        fields = ["READY=1", f"STATUS={status}"]
        if main_pid is not None:
            fields.insert(1, f"MAINPID={main_pid}")
        sent = self.send(*fields, wait_s=IMPORTANT_WAIT_S)
        self._status = status if sent else None
        return sent

    def status(self, status: str) -> bool:
        """A human status line for ``systemctl status``; the line already shown is not sent again."""
        if status == self._status:
            return True
        sent = self.send(f"STATUS={status}")
        self._status = status if sent else None
        return sent

    def stopping(self) -> bool:
        """A clean shutdown has begun."""
        return self.send("STOPPING=1", wait_s=IMPORTANT_WAIT_S)

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

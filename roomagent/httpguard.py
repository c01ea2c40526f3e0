"""uvicorn's HTTP protocol with the two guards a public server needs against slow clients.

uvicorn times out only idle keep-alive connections (``timeout_keep_alive``, after a response). A client
that opens a connection and sends half a request line, half its headers or half its body is waited for
forever, and ~1,000 of them exhaust the process's file descriptors (``/healthz`` then fails too). Its
``limit_concurrency`` does not help: it answers 503 only once a request is complete. So, per connection:

* **request timeout**: from a request's first byte (or the connection's opening) until its body is
  complete, at most ``request_timeout_s``; past it the client gets ``408`` and the connection is closed.
  The application's own time (e.g. the relay waiting for a room) is not counted.
* **connection cap**: at most ``max_connections`` open at once; a new one past the cap closes the oldest
  connection that is not being answered (a slow or idle client), or itself when every one is. The first
  closing is logged at once, the following ones as one line with their count per ``SHED_LOG_INTERVAL_S``:
  a flood past the cap must not become a flood of log lines (one per connection made 58,457 in 40 s).

A subclass of uvicorn's httptools protocol (``uvicorn[standard]``), handed to uvicorn as ``http=``; it
uses only the parser callbacks uvicorn itself implements (``on_message_begin``/``on_message_complete``).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("roomagent.serving")

#: File descriptors kept free for everything but client connections (store, broker, logs, the listener).
FD_RESERVE = 64
#: Connections closed past the cap are logged at most once per this many seconds (with their count).
SHED_LOG_INTERVAL_S = 60.0
_TIMEOUT_BODY = b'{"data":null,"meta":{"status":"error","message":"request not sent in time"}}'
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


def connection_cap(configured: int) -> int:
    """``configured``, lowered to what the process's open-file limit (``ulimit -n``) leaves room for."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(1, min(configured, soft - FD_RESERVE))


class ShedLog:
    """The log of connections closed past the cap, for one server: the first closing after a quiet interval
    is logged at once; the ones after it are counted and logged as one line when the interval is over."""

    def __init__(self, interval_s: float = SHED_LOG_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._logged_at: float | None = None
        self._unlogged = 0
        self._flush: asyncio.TimerHandle | None = None

    def closed(self, loop: asyncio.AbstractEventLoop, cap: int) -> None:
        """One connection was closed past ``cap``."""
        now = loop.time()
        if self._logged_at is None or (self._flush is None and now - self._logged_at >= self.interval_s):
            self._logged_at = now
            log.warning("more than %d open connections: closing the oldest idle or incomplete one (further "
                        "closings are counted and logged every %.0f s)", cap, self.interval_s)
            return
        self._unlogged += 1
        if self._flush is None:
            self._flush = loop.call_at(self._logged_at + self.interval_s, self._report, loop, cap)

    def _report(self, loop: asyncio.AbstractEventLoop, cap: int) -> None:
        self._flush = None
        count, self._unlogged = self._unlogged, 0
        self._logged_at = loop.time()
        log.warning("more than %d open connections: closed %d more idle or incomplete connection(s) in the "
                    "last %.0f s", cap, count, self.interval_s)


class GuardedHttpProtocol(HttpToolsProtocol):
    """See the module docstring; :func:`guarded_protocol` makes one with its limits."""

    request_timeout_s: float = 10.0
    max_connections: int = 1000
    #: Shared by the connections of one server (:func:`guarded_protocol` gives each server its own).
    shed_log: ShedLog | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_timer: asyncio.TimerHandle | None = None
        self.opened_at = 0.0

    # --- connection cap ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.opened_at = self.loop.time()
        self._arm_request_timer()
        if len(self.connections) > self.max_connections:
            self._shed()  # O(connections), but only past the cap

    def _answering(self) -> bool:
        """True while the application works on (or answers) a request of this connection."""
        return self.cycle is not None and not self.cycle.response_complete and self._request_timer is None

    def _shed(self) -> None:
        live = [c for c in self.connections if isinstance(c, GuardedHttpProtocol) and not c.transport.is_closing()]
        if len(live) <= self.max_connections:
            return  # the excess is already closing
        idle = [c for c in live if not c._answering()]
        victim = min(idle, key=lambda c: c.opened_at) if idle else self
        if self.shed_log is not None:
            self.shed_log.closed(self.loop, self.max_connections)
        else:
            log.warning("more than %d open connections: closing the oldest idle or incomplete one",
                        self.max_connections)
        victim.transport.close()

    # --- request timeout -----------------------------------------------------------------------------

    def _arm_request_timer(self) -> None:
        if self._request_timer is None:
            self._request_timer = self.loop.call_later(self.request_timeout_s, self._request_timed_out)

    def _disarm_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_request_timer()

    def on_message_complete(self) -> None:
        # Between requests uvicorn's keep-alive timeout applies; the next request's first byte re-arms ours
        # (also when it arrives pipelined behind one that is still being answered).
        self._disarm_request_timer()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_request_timer()
        super().connection_lost(exc)

    def _request_timed_out(self) -> None:
        self._request_timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle  # the previous request's cycle while a pipelined one is still arriving
        if cycle is None or cycle.response_complete or not cycle.response_started:
            self.transport.write(_TIMEOUT_RESPONSE)  # never into the middle of a response being sent
        self.transport.close()


def guarded_protocol(request_timeout_s: float, max_connections: int) -> type[GuardedHttpProtocol]:
    """A :class:`GuardedHttpProtocol` subclass with these limits, for ``uvicorn.Config(http=...)``."""
    return type(
        "GuardedHttpProtocolWithLimits",
        (GuardedHttpProtocol,),
        {"request_timeout_s": request_timeout_s, "max_connections": max_connections, "shed_log": ShedLog()},
    )

"""Serve an ASGI app from a background thread: the directory and the demo meeting server inside
``roomagent demo``, and every test fixture that needs a real HTTP server.

The listening socket is bound *before* the thread starts, so ``RunningServer.url`` is valid (port 0
already resolved to the real port) the moment :func:`run_in_thread` returns and a port clash raises
``OSError`` in the caller. :func:`run_in_thread` returns once uvicorn has finished its start-up
(lifespan included), signalled by an event rather than polled.
"""

from __future__ import annotations

import logging
import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn

log = logging.getLogger(__name__)

#: How long stop() waits for uvicorn to finish in-flight requests and close; the cap only keeps a
#: wedged server from hanging the caller.
STOP_TIMEOUT_S = 15.0
#: How long run_in_thread waits for uvicorn's start-up (lifespan, a store connecting) before giving up.
STARTUP_TIMEOUT_S = 15.0


class _ThreadServer(uvicorn.Server):
    """uvicorn that tells another thread when its start-up is over (successfully or not)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.startup_over = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.startup_over.set()


class RunningServer:
    """An ASGI app being served by uvicorn in a daemon thread; stop it with :meth:`stop` or ``with``."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket, thread: threading.Thread) -> None:
        self._server = server
        self._sock = sock
        self._thread = thread
        host, port = sock.getsockname()[:2]
        self.host: str = host
        self.port: int = port

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:43121``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        """True while the serving thread is alive."""
        return self._thread.is_alive()

    def stop(self, wait: bool = True) -> None:
        """Ask uvicorn to shut down and (``wait``) join its thread, bounded. Idempotent."""
        self._server.should_exit = True
        if wait and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(STOP_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("server on %s did not stop within %.0f s", self.url, STOP_TIMEOUT_S)
        if not self._thread.is_alive():
            self._sock.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningServer {self.url} running={self.running}>"


def run_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, **config: Any) -> RunningServer:
    """Serve ``app`` (any ASGI callable) on ``host:port`` in a daemon thread; return once it has started.

    ``port=0`` picks a free port; read it back from ``.port`` / ``.url``. Access logs are off and uvicorn
    does not touch the process's logging configuration. ``config`` goes to ``uvicorn.Config`` (e.g.
    ``proxy_headers=False``). Raises ``RuntimeError`` when start-up fails (e.g. a store that cannot
    connect in the app's lifespan).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    options: dict[str, Any] = {"log_config": None, "log_level": "warning", "access_log": False}
    options.update(config)
    server = _ThreadServer(uvicorn.Config(app, **options))
    # uvicorn installs signal handlers only in the main thread, so SIGINT/SIGTERM stay the host's.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"asgi-{host}:{sock.getsockname()[1]}", daemon=True
    )
    thread.start()
    running = RunningServer(server, sock, thread)
    if not server.startup_over.wait(STARTUP_TIMEOUT_S) or not server.started:
        running.stop()
        raise RuntimeError(f"server on {running.url} did not start")
    return running

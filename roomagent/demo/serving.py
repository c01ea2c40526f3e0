"""Serve any ASGI app from a background thread (the demo's fake servers, the tests' fixtures).

The listening socket is bound *before* the thread starts, so ``RunningServer.url`` is valid (and port 0
is already resolved to the real port) the moment :func:`run_in_thread` returns; a client that connects
before uvicorn's loop is up simply waits in the socket backlog. No polling, no sleeps.
"""

from __future__ import annotations

import logging
import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn

log = logging.getLogger(__name__)

# How long stop() waits for uvicorn to finish in-flight requests and close. uvicorn's own graceful
# shutdown is quick for these tiny apps; the cap only keeps a wedged server from hanging the caller.
STOP_TIMEOUT_S = 5.0


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

    def stop(self) -> None:
        """Ask uvicorn to shut down, wait for its thread (bounded) and close the socket. Idempotent."""
        self._server.should_exit = True
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(STOP_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("server on %s did not stop within %.0f s", self.url, STOP_TIMEOUT_S)
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


def run_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve ``app`` (any ASGI callable) on ``host:port`` in a daemon thread and return at once.

    ``port=0`` picks a free port; read it back from ``.port`` / ``.url``. Access logs are off and
    uvicorn does not touch the process's logging configuration.
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
    config = uvicorn.Config(
        app,
        log_config=None,  # keep the host application's logging setup untouched
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    # uvicorn only installs signal handlers from the main thread, so running it here leaves
    # SIGINT/SIGTERM to the application.
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name=f"asgi-{host}:{sock.getsockname()[1]}",
        daemon=True,
    )
    thread.start()
    return RunningServer(server, sock, thread)

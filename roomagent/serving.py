"""Serve an ASGI app: in the foreground for the server commands (``roomagent directory``, ``invite``,
``fleet``: :class:`ForegroundServer` with :func:`server_options`), or from a background thread for the demo
and every test fixture that needs a real HTTP server (:func:`run_in_thread`).

The listening socket is bound *before* the thread starts, so ``RunningServer.url`` is valid (port 0
already resolved to the real port) the moment :func:`run_in_thread` returns and a port clash raises
``OSError`` in the caller. :func:`run_in_thread` returns once uvicorn has finished its start-up
(lifespan included), signalled by an event rather than polled.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import uvicorn

from roomagent.configload import EX_CONFIG, ConfigError
from roomagent.httpguard import connection_cap, guarded_protocol

log = logging.getLogger(__name__)

#: How long stop() waits for uvicorn to finish in-flight requests and close; the cap only keeps a
#: wedged server from hanging the caller.
STOP_TIMEOUT_S = 15.0
#: How long run_in_thread waits for uvicorn's start-up (lifespan, a store connecting) before giving up.
STARTUP_TIMEOUT_S = 15.0



#: A server's settings, as its loader returns them.
S = TypeVar("S")

def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago (the OS picks it); for the demo and the tests."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]

def server_options(
    *, request_timeout_s: float = 10.0, keepalive_s: float = 5.0, max_connections: int = 1000, graceful_s: float = 10.0
) -> dict[str, Any]:
    """The uvicorn settings every roomagent server runs with, foreground or thread.

    ``proxy_headers=False``: uvicorn would otherwise trust X-Forwarded-For from 127.0.0.1 and rewrite the
    client address that rate limits and trusted-proxy checks count on. ``http=``: uvicorn's protocol with
    a request timeout and a connection cap (``httpguard``: slow clients).
    """
    cap = connection_cap(max_connections)
    if cap < max_connections:
        log.warning("http_max_connections lowered to %d to fit the open-file limit (ulimit -n)", cap)
    return {
        "proxy_headers": False,
        "server_header": False,
        "timeout_graceful_shutdown": graceful_s,
        "timeout_keep_alive": keepalive_s,
        "http": guarded_protocol(request_timeout_s, cap),
    }


class ForegroundServer(uvicorn.Server):
    """uvicorn in the foreground whose SIGTERM/SIGINT end in a normal return, so the process exits 0.

    uvicorn's own handlers re-raise the signal after draining, and systemd would then see a death by
    signal instead of a clean stop. The second signal stops waiting for open connections.
    """

    @contextlib.contextmanager
    def capture_signals(self):
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, _signum: int, _frame: object) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True


def serve_config_file(config_path: str, load: Callable[[str], S], config: Callable[[S], uvicorn.Config],
                      started: Callable[[S], None] = lambda _settings: None) -> int:
    """A server's command line: load and validate ``config_path`` (every problem reported, exit 78), then
    serve ``config(settings)`` in the foreground until SIGTERM/SIGINT. ``started`` logs what runs where."""
    try:
        settings = load(config_path)
    except ConfigError as exc:
        exc.report()
        return EX_CONFIG
    server = ForegroundServer(config(settings))
    started(settings)
    server.run()
    return 0 if server.started else 1


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

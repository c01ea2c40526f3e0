"""Running the directory: in the foreground for ``roomagent directory``, in a thread for tests and the demo."""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from roomagent.configload import EX_CONFIG, ConfigError
from roomagent.directory.server.app import create_app
from roomagent.directory.server.protocol import connection_cap, guarded_protocol
from roomagent.directory.server.settings import DirectorySettings, load_settings
from roomagent.serving import RunningServer
from roomagent.serving import run_in_thread as serve_app

log = logging.getLogger("roomagent.directory")

#: In-flight requests get this long to finish after SIGTERM before connections are cut.
GRACEFUL_SHUTDOWN_S = 10


def _uvicorn_options(settings: DirectorySettings) -> dict:
    # proxy_headers=False: uvicorn would otherwise trust X-Forwarded-For from 127.0.0.1 and rewrite the
    # client address the brute-force limit counts on; trusted_proxies is the only switch for that.
    # http=: uvicorn's protocol with a request timeout and a connection cap (protocol.py: slow clients).
    cap = connection_cap(settings.http_max_connections)
    if cap < settings.http_max_connections:
        log.warning("http_max_connections lowered to %d to fit the open-file limit (ulimit -n)", cap)
    return {
        "proxy_headers": False,
        "server_header": False,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
        "timeout_keep_alive": settings.http_keepalive_s,
        "http": guarded_protocol(settings.http_request_timeout_s, cap),
    }


def _uvicorn_config(app: FastAPI, settings: DirectorySettings, **extra) -> uvicorn.Config:
    return uvicorn.Config(app, **_uvicorn_options(settings), **extra)


class _ForegroundServer(uvicorn.Server):
    """uvicorn in the foreground whose SIGTERM/SIGINT end in a normal return, so the process exits 0.

    uvicorn's own handlers re-raise the signal after draining, and systemd would then see a death by
    signal instead of a clean stop.
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
        # First signal: stop accepting, let in-flight requests finish. Second: stop waiting for them.
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True


def serve_from_cli(config_path: str, host: str, port: int) -> int:
    """``roomagent directory``: validate the config (exit 78 on errors), then serve until SIGTERM/SIGINT."""
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        exc.report()
        return EX_CONFIG
    app = create_app(settings)
    # log_config=None keeps the logging the CLI configured; uvicorn's loggers propagate to it.
    config = _uvicorn_config(app, settings, host=host, port=port, log_config=None, access_log=settings.access_log)
    server = _ForegroundServer(config)
    log.info("directory starting on http://%s:%d (%s store)", host, port, settings.store_kind)
    server.run()
    return 0 if server.started else 1


def run_in_thread(
    settings: DirectorySettings,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Callable[[], float] = time.time,
    app: FastAPI | None = None,
) -> RunningServer:
    """Serve ``settings`` (or a ready ``app``) in a daemon thread; returns once it accepts connections.

    ``port=0`` binds a free port; the bound one is in ``.port``/``.url``. Raises ``RuntimeError`` when
    the server does not start (for example a store that fails during startup).
    """
    app = app if app is not None else create_app(settings, clock)
    # proxy_headers=False etc.: the same uvicorn settings as the foreground server.
    return serve_app(app, host, port, **_uvicorn_options(settings))

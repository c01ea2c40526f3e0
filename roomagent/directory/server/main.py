"""Running the directory: in the foreground for ``roomagent directory``, in a thread for tests and the demo."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from roomagent.directory.server.app import create_app
from roomagent.directory.server.settings import DirectorySettings, load_settings
from roomagent.serving import RunningServer, serve_config_file, server_options
from roomagent.serving import run_in_thread as serve_app

log = logging.getLogger("roomagent.directory")

#: In-flight requests get this long to finish after SIGTERM before connections are cut.
GRACEFUL_SHUTDOWN_S = 10


def _uvicorn_options(settings: DirectorySettings) -> dict:
    return server_options(request_timeout_s=settings.http_request_timeout_s, keepalive_s=settings.http_keepalive_s,
                          max_connections=settings.http_max_connections, graceful_s=GRACEFUL_SHUTDOWN_S)


def serve_from_cli(config_path: str, host: str, port: int) -> int:
    """``roomagent directory``: validate the config (exit 78 on errors), then serve until SIGTERM/SIGINT."""
    def config(settings: DirectorySettings) -> uvicorn.Config:
        # log_config=None keeps the logging the CLI configured; uvicorn's loggers propagate to it.
        return uvicorn.Config(create_app(settings), host=host, port=port, log_config=None,
                              access_log=settings.access_log, **_uvicorn_options(settings))

    return serve_config_file(config_path, load_settings, config, lambda settings: log.info(
        "directory starting on http://%s:%d (%s store)", host, port, settings.store_kind))


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

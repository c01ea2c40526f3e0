"""Running the invite service: in the foreground for ``roomagent invite``, in a thread for tests and the demo."""

from __future__ import annotations

import logging

import uvicorn

from roomagent.invite.app import create_app
from roomagent.invite.settings import InviteSettings, load_settings
from roomagent.serving import RunningServer, serve_config_file, server_options
from roomagent.serving import run_in_thread as serve_app

log = logging.getLogger("roomagent.invite")


def serve_from_cli(config_path: str, host: str, port: int) -> int:
    """``roomagent invite``: validate the config (exit 78 on errors), then serve until SIGTERM/SIGINT."""
    def config(settings: InviteSettings) -> uvicorn.Config:
        # The directory's uvicorn settings: no proxy-header trust, slow clients timed out, graceful stop.
        return uvicorn.Config(create_app(settings), host=host, port=port, log_config=None,
                              access_log=settings.access_log, **server_options())

    return serve_config_file(config_path, load_settings, config,
                             lambda _settings: log.info("invite service starting on http://%s:%d", host, port))


def run_in_thread(settings: InviteSettings, host: str = "127.0.0.1", port: int = 0, **kwargs) -> RunningServer:
    """Serve the invite service in a daemon thread (``port=0``: a free one); ``kwargs`` go to create_app."""
    return serve_app(create_app(settings, **kwargs), host, port, **server_options())

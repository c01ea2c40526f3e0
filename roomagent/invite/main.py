"""Running the invite service: in the foreground for ``roomagent invite``, in a thread for tests and the demo."""

from __future__ import annotations

import logging

import uvicorn

from roomagent.configload import EX_CONFIG, ConfigError
from roomagent.invite.app import create_app
from roomagent.invite.settings import InviteSettings, load_settings
from roomagent.serving import ForegroundServer, RunningServer, server_options
from roomagent.serving import run_in_thread as serve_app

log = logging.getLogger("roomagent.invite")


def serve_from_cli(config_path: str, host: str, port: int) -> int:
    """``roomagent invite``: validate the config (exit 78 on errors), then serve until SIGTERM/SIGINT."""
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        exc.report()
        return EX_CONFIG
    # The same uvicorn settings as the directory: no proxy-header trust, slow clients timed out, graceful stop.
    config = uvicorn.Config(create_app(settings), host=host, port=port, log_config=None,
                            access_log=settings.access_log, **server_options())
    server = ForegroundServer(config)
    log.info("invite service starting on http://%s:%d", host, port)
    server.run()
    return 0 if server.started else 1


def run_in_thread(settings: InviteSettings, host: str = "127.0.0.1", port: int = 0, **kwargs) -> RunningServer:
    """Serve the invite service in a daemon thread (``port=0``: a free one); ``kwargs`` go to create_app."""
    return serve_app(create_app(settings, **kwargs), host, port, **server_options())

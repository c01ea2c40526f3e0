"""``roomagent fleet``: validate ``fleet.toml`` (exit 78 on errors), then serve the dashboard until
SIGTERM/SIGINT; ``roomagent fleet hash-password`` prints the argon2id hash for ``[[auth.users]]``."""

from __future__ import annotations

import getpass
import logging
import sys

import uvicorn

from roomagent.fleet.access import hash_password
from roomagent.fleet.config import load_settings
from roomagent.fleet.web import create_app
from roomagent.serving import serve_config_file

log = logging.getLogger("roomagent.fleet")

#: Open event streams are cut after this long on SIGTERM (they never end by themselves).
GRACEFUL_SHUTDOWN_S = 3


def serve_from_cli(config_path: str, host: str, port: int) -> int:
    """Serve the dashboard in the foreground; returns the exit status."""
    def config(settings) -> uvicorn.Config:
        # proxy_headers off: the peer address is what [auth] trusted_proxies is checked against, so it must
        # be the proxy's own, never one an X-Forwarded-For header claims.
        return uvicorn.Config(create_app(settings), host=host, port=port, log_config=None, access_log=False,
                              server_header=False, proxy_headers=False, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)

    return serve_config_file(config_path, load_settings, config, lambda settings: log.info(
        "fleet dashboard on http://%s:%d (%d rooms listed, broker %s)", host, port, len(settings.rooms),
        settings.mqtt.url))


def hash_from_cli() -> int:
    """Read a password (twice on a terminal, once from a pipe) and print its argon2id hash."""
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            print("roomagent fleet: the passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        print("roomagent fleet: use at least 8 characters", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0

"""What the end-to-end tests share: the room profile of the installed agent, and an operator's tools
(``roomagent ctl`` and ``mosquitto_sub``) run as a person runs them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

#: The room profile of the e2e tests; ``{directory}`` and ``{mqtt}`` are filled in per test.
ROOM_TOML = """
[room]
id = "h0104"
name = "Lecture hall H 0104"
language = "en"
[directory]
url = "{directory}"
timeout_s = 5
[meeting]
allowed_hosts = ["127.0.0.1"]
display_name = "Room H 0104"
{mqtt}
[[screens]]
id = "left"
output = "LEFT"
role = "main"
media = true
[[screens]]
id = "right"
output = "RIGHT"
role = "side"
"""


def ctl(broker_url: str, *args: str) -> subprocess.CompletedProcess:
    """``roomagent ctl`` as an operator types it."""
    return subprocess.run([sys.executable, "-m", "roomagent", "ctl", "--broker", broker_url, "--room", "h0104",
                           "--timeout", "20", *args], capture_output=True, text=True, timeout=60)


def retained(broker_url: str, topic: str) -> str:
    """The retained message on ``topic`` (mosquitto_sub exits after it)."""
    port = broker_url.rsplit(":", 1)[1]
    done = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-t", topic, "-C", "1", "-W", "10"],
                          capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


def start_agent(xvfb, tmp_path: Path, profile: str) -> tuple[subprocess.Popen, Callable[[], str]]:
    """``roomagent run`` as installed, on ``xvfb``'s displays, with ``profile`` as its room.toml and a home of
    its own under ``tmp_path``; returns the process and a function that reads its log so far."""
    config = tmp_path / "room.toml"
    config.write_text(profile)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    log_path = tmp_path / "agent.log"
    env = {**xvfb.env, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_CACHE_HOME": str(home / "cache"), "QTWEBENGINE_DISABLE_SANDBOX": "1"}
    with log_path.open("w") as log_file:
        agent = subprocess.Popen([sys.executable, "-m", "roomagent", "run", "--config", str(config)],
                                 env=env, stdout=log_file, stderr=subprocess.STDOUT)
    return agent, log_path.read_text

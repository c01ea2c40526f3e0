"""The shipped broker example (kiosk/mosquitto/) in a real mosquitto, as shipped: only the port, the
paths, the passwords and the log destination are swapped; every other line is the example's own."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from roomagent.serving import free_port
from tests.control.broker import Mosquitto, Probe
from tests.control.certs import Certs, make_certs

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "kiosk" / "mosquitto"
ROOM_A, ROOM_B, CONTROLLER, MONITOR, RELAY = "h0104", "h0105", "ctl_ops", "mon_dashboard", "relay_directory"
PASSWORDS = {ROOM_A: "pw-room-a", ROOM_B: "pw-room-b", CONTROLLER: "pw-controller", MONITOR: "pw-monitor",
             RELAY: "pw-relay"}


def password_file(directory: Path, users: dict[str, str] | None = None) -> Path:
    """A mosquitto password file for the example's user names (and ``users``: name -> password), made
    with mosquitto_passwd: written in clear, then hashed in place in one run (``-U``), which keeps a
    fleet of 1,000 room accounts quick."""
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd is not installed (mosquitto-clients)")
    path = directory / "roomagent.passwd"
    path.write_text("".join(f"{user}:{password}\n" for user, password in {**PASSWORDS, **(users or {})}.items()))
    subprocess.run(["mosquitto_passwd", "-U", str(path)], check=True, capture_output=True)
    return path


def secret_file(directory: Path, user: str) -> Path:
    """A password file for one client (room.toml / directory.toml ``password_file``)."""
    path = directory / f"{user}.password"
    path.write_text(PASSWORDS[user] + "\n")
    return path


class ShippedBroker:
    """mosquitto running kiosk/mosquitto/mosquitto.conf and roomagent.acl; TLS on a free port."""

    def __init__(self, workdir: Path, users: dict[str, str] | None = None) -> None:
        """``users`` (name -> password) are added to the example's accounts, e.g. a fleet of rooms."""
        self.workdir = workdir
        self.certs: Certs = make_certs(workdir / "certs")
        self.port = free_port()
        store = workdir / "db"
        store.mkdir(exist_ok=True)
        acl = workdir / "roomagent.acl"
        shutil.copy(EXAMPLE / "roomagent.acl", acl)  # copied unchanged
        text = (EXAMPLE / "mosquitto.conf").read_text()
        swaps = {
            "listener 8883\n": f"listener {self.port} 127.0.0.1\n",
            "/etc/mosquitto/certs/": f"{self.certs.ca.parent}/",
            "/etc/mosquitto/roomagent.passwd": str(password_file(workdir, users)),
            "/etc/mosquitto/roomagent.acl": str(acl),
            "/var/lib/mosquitto/": f"{store}/",
            "log_dest syslog": "log_dest stderr",
        }
        if os.geteuid() == 0:
            swaps["user mosquitto"] = "user root"  # tmp dirs belong to the test user
        for old, new in swaps.items():
            assert old in text, f"the example no longer contains {old!r}"
            text = text.replace(old, new)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(text)
        self.server = Mosquitto(workdir, self.port)

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    @property
    def log(self) -> list[str]:
        return self.server.log

    def start(self) -> ShippedBroker:
        self.server.start_with(self.conf)
        return self

    def stop(self) -> None:
        self.server.stop()

    def probe(self, user: str | None, *, password: str | None = None, client_id: str = "") -> Probe:
        """A probe over TLS as ``user`` (its own password unless ``password``): ``connect()`` it, or use it
        in ``with`` (which connects, and raises when the broker refuses)."""
        secret = password if password is not None else PASSWORDS.get(user or "")
        return Probe(self.port, username=user, password=secret, ca=str(self.certs.ca), client_id=client_id)


def start_room(broker: ShippedBroker, room: str) -> tuple[subprocess.Popen, queue.Queue]:
    """tests/control/agent_child.py: the room's real MQTT edge in its own process, logged in as ``room``
    over the broker's TLS listener; its stdout lines (``connected``, ``disconnected``) arrive in the queue."""
    args = [sys.executable, "-m", "tests.control.agent_child", broker.url, room,
            str(secret_file(broker.workdir, room)), str(broker.certs.ca)]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.strip()) for line in proc.stdout], daemon=True).start()
    return proc, lines

"""A room's MQTT edge alone in a process (``python -m tests.control.agent_child URL ROOM [PASSWORD_FILE
CA_FILE]``), for the "agent killed" test, the bench and the shipped-ACL tests (with a password file the
room logs in as the user ROOM, over TLS when CA_FILE is given). It answers every command at once
(``get_state`` with a small state), prints ``connected``/``disconnected`` on stdout, and stops cleanly
on SIGTERM."""

from __future__ import annotations

import signal
import socket
import sys

from PySide6.QtCore import QCoreApplication, QSocketNotifier

from roomagent.control.mqtt import MqttControl
from roomagent.control.policy import Backoff
from roomagent.core.commands import CommandReply
from roomagent.profile import MqttSection

STATE = {"state": "idle", "meeting": None, "layout": None, "muted": None, "screens": [], "sources": [],
         "sharing": None, "version": "child", "error": None}


def main(argv: list[str]) -> int:
    url, room, *login = argv[1:]
    app = QCoreApplication([])
    settings = MqttSection(url=url)
    if login:
        password_file, ca_file = login
        settings = MqttSection(url=url, username=room, password_file=password_file, ca_file=ca_file)
    control = MqttControl(settings, room, version="child")
    control.backoff = Backoff(min_s=0.05, max_s=0.4, permanent_s=0.5)

    def on_command(command, route) -> None:
        data = {"state": STATE} if command.action == "get_state" else None
        control.reply(route, CommandReply(id=command.id, status="ok", data=data))

    control.command_received.connect(on_command)
    control.connection_changed.connect(lambda up: print("connected" if up else "disconnected", flush=True))
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    signal.signal(signal.SIGTERM, lambda *_: None)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(app.quit)
    control.publish_state(STATE)
    control.start()
    app.exec()
    control.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

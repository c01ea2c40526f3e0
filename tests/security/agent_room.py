"""The real room agent in its own process for the security tests (see ``room_child``), with the
helpers the tests share: start it against a broker, talk to it on stdin, read its memory and fds."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from tests.control.broker import GUARD_S, REPO

ROOM = "sec1"
ROOM_TOML = """
[room]
id = "{room}"
name = "{name}"
language = "en"
[directory]
url = "{directory}"
timeout_s = 5
[meeting]
allowed_hosts = ["127.0.0.1"]
[mqtt]
url = "{broker}"
[[screens]]
id = "left"
media = true
[[screens]]
id = "right"
role = "side"
"""


class RoomProcess:
    """``python -m tests.security.room_child`` on ``broker_url``; ``ask()`` sends one line, returns the answer."""

    def __init__(self, workdir: Path, broker_url: str, *, directory: str = "http://127.0.0.1:9",
                 name: str = "Security room", room: str = ROOM) -> None:
        self.workdir = workdir
        self.room = room
        self.config = workdir / "room.toml"
        self.config.write_text(ROOM_TOML.format(room=room, name=name, directory=directory, broker=broker_url))
        self.log_path = workdir / "agent.log"
        self.proc: subprocess.Popen | None = None
        self._lines: queue.Queue = queue.Queue()

    def start(self) -> RoomProcess:
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_DISABLE_SANDBOX": "1",
               "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"), "XDG_DATA_HOME": str(home / "data")}
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.security.room_child", str(self.config)],
                                         cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log, text=True)
        threading.Thread(target=self._pump, daemon=True, name="room-child-out").start()
        first = self.read()
        assert first.get("ready"), first
        return self

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                self._lines.put(json.loads(line))
        self._lines.put(None)

    def read(self) -> dict:
        try:
            answer = self._lines.get(timeout=GUARD_S * 2)
        except queue.Empty:
            raise AssertionError(f"the agent did not answer; log:\n{self.log()[-3000:]}") from None
        if answer is None:
            raise AssertionError(f"the agent exited; log:\n{self.log()[-3000:]}")
        return answer

    def ask(self, line: str) -> dict:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.read()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_kb(self) -> int:
        """Resident memory of the agent process itself (not its Chromium helpers), in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def fds(self) -> int:
        """Open file descriptors of the agent process."""
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def stop(self) -> int | None:
        """SIGTERM (the production shutdown path) and wait; the exit status, None if it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(GUARD_S * 2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(GUARD_S)
                return None
        return self.proc.returncode


def command(probe, room: str, payload: dict, *, reply_topic: str = "test/reply", guard_s: float = GUARD_S) -> dict:
    """Publish one command with a response topic and correlation data; the reply's JSON (or AssertionError)."""
    import uuid

    correlation = uuid.uuid4().bytes
    probe.publish(f"roomagent/{room}/command", json.dumps(payload), response_topic=reply_topic,
                  correlation=correlation)
    found = probe.wait_for(lambda m: m.topic == reply_topic and m.correlation == correlation)
    return json.loads(found[0].payload)


def wait_answering(probe, room: str, reply_topic: str = "test/reply") -> dict:
    """Ask ``get_state`` until the agent answers (it subscribes a moment after it starts); the reply."""
    import time
    import uuid

    deadline = time.monotonic() + GUARD_S * 2
    while time.monotonic() < deadline:  # a guard: the agent answers as soon as it is subscribed
        correlation = uuid.uuid4().bytes
        probe.publish(f"roomagent/{room}/command", json.dumps({"action": "get_state"}),
                      response_topic=reply_topic, correlation=correlation)
        with probe._cond:
            probe._cond.wait_for(lambda c=correlation: any(m.correlation == c for m in probe.received), 0.5)
        found = probe.find(lambda m, c=correlation: m.topic == reply_topic and m.correlation == c)
        if found:
            return json.loads(found[0].payload)
    raise AssertionError("the agent never answered get_state")

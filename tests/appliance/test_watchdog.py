"""systemd's watchdog, seen from systemd's side: the real agent (``roomagent run --offscreen``) talks to a
fake ``NOTIFY_SOCKET``. It reports READY (naming itself as the main process), pings WATCHDOG=1 from its
Qt main loop, stops pinging while its process is stopped — which is what makes systemd restart a hung
kiosk — and says STOPPING=1 on SIGTERM. Assertions are on messages, never on how fast they come."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roomagent.sdnotify import Notifier, watchdog_period_s
from tests.appliance.notify import GUARD_S, NotifySocket

ROOM_TOML = """
[room]
id = "h0104"
name = "Watchdog room"
[directory]
url = "http://127.0.0.1:9"
[meeting]
allowed_hosts = ["127.0.0.1"]
[[screens]]
id = "main"
"""
#: A 0.2 s watchdog: the agent pings every 0.1 s, so the test sees many pings quickly.
WATCHDOG_USEC = 200_000
#: How long a stopped agent is watched for pings: ten ping periods. A stopped process cannot send, so a
#: longer or shorter wait changes nothing but the test's run time.
STOPPED_WATCH_S = 10 * WATCHDOG_USEC / 2_000_000


def _state(pid: int) -> str:
    # /proc/PID/stat: "pid (comm) S ..."; comm may contain spaces, the state follows the last ')'.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _wait_state(pid: int, wanted: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while _state(pid) != wanted:
        assert time.monotonic() < deadline, f"process {pid} never reached state {wanted}"
        time.sleep(0.01)


@pytest.fixture
def agent_env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WATCHDOG_", "NOTIFY_SOCKET", "ROOMAGENT_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"),
               XDG_CONFIG_HOME=str(home / "config"), QT_QPA_PLATFORM="offscreen")
    return env


def _start_agent(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    """``roomagent run --offscreen`` with the watchdog room; its output goes to the returned log file."""
    config = tmp_path / "room.toml"
    config.write_text(ROOM_TOML)
    log_path = tmp_path / "agent.log"
    with log_path.open("w") as log:
        agent = subprocess.Popen([sys.executable, "-m", "roomagent", "run", "--offscreen", str(tmp_path / "shots"),
                                  "--config", str(config)], env=env, stdout=log, stderr=subprocess.STDOUT)
    return agent, log_path


def test_agent_pings_from_its_main_loop_and_goes_quiet_when_stopped(tmp_path, agent_env):
    notify = NotifySocket(tmp_path)
    agent, log_path = _start_agent(tmp_path, {**agent_env, "NOTIFY_SOCKET": notify.path,
                                              "WATCHDOG_USEC": str(WATCHDOG_USEC)})
    try:
        ready = notify.wait_for("READY", "1")[0]
        assert ready["MAINPID"] == str(agent.pid)
        assert ready["STATUS"] == "room h0104: keypad shown"
        notify.wait_for("WATCHDOG", "1", count=3)

        # A hung main loop, as systemd sees it: the process stops, and with it the pings.
        agent.send_signal(signal.SIGSTOP)
        _wait_state(agent.pid, "T")
        notify.drain()  # sent before the stop took effect
        assert [m for m in notify.quiet_for(STOPPED_WATCH_S) if "WATCHDOG" in m] == []

        # It was the stop, not a dead timer: the pings resume with the process.
        agent.send_signal(signal.SIGCONT)
        notify.wait_for("WATCHDOG", "1", count=2)

        agent.terminate()
        notify.wait_for("STOPPING", "1")
        assert agent.wait(GUARD_S) == 0, log_path.read_text()
    finally:
        if agent.poll() is None:
            agent.send_signal(signal.SIGCONT)
            agent.kill()
            agent.wait(GUARD_S)
        notify.close()
    assert any(m.get("STATUS", "").startswith("room h0104") for m in notify.messages)


def test_without_a_watchdog_the_agent_only_reports_state(tmp_path, agent_env):
    config = tmp_path / "room.toml"
    config.write_text(ROOM_TOML)
    notify = NotifySocket(tmp_path)
    # WATCHDOG_PID names another process (e.g. cage, without the unit's `env -u`): not ours to ping.
    env = {**agent_env, "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": str(WATCHDOG_USEC), "WATCHDOG_PID": "1"}
    agent = subprocess.Popen([sys.executable, "-m", "roomagent", "run", "--offscreen", str(tmp_path / "shots"),
                              "--config", str(config)], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        notify.wait_for("READY", "1")
        agent.terminate()
        notify.wait_for("STOPPING", "1")
        assert agent.wait(GUARD_S) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(GUARD_S)
        notify.close()
    assert not any("WATCHDOG" in m for m in notify.messages), notify.messages


def _queue_full(path: str) -> bool:
    """True once the notify socket's datagram queue has no room (what the agent's next send meets)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        probe.setblocking(False)
        try:
            probe.sendto(b"X-PROBE=1", path)
        except BlockingIOError:
            return True
    return False


def test_a_manager_that_stops_reading_never_freezes_the_agent(tmp_path, agent_env):
    """systemd busy (or a test that stopped listening): the agent's pings fill the notify queue. Before,
    the next send blocked the agent's GUI thread for good: no repaint, no SIGTERM handled (seen under
    headless sway: a burst of hot-plug events, each a STATUS line, and the room froze). Now the agent
    drops what does not fit, still ends cleanly on SIGTERM, and tells where it is on SIGUSR1."""
    notify = NotifySocket(tmp_path)
    agent, log_path = _start_agent(tmp_path, {**agent_env, "NOTIFY_SOCKET": notify.path,
                                              "WATCHDOG_USEC": str(WATCHDOG_USEC)})
    try:
        notify.wait_for("READY", "1")
        deadline = time.monotonic() + GUARD_S  # nothing is read from here on: the pings fill the queue
        while not _queue_full(notify.path):
            assert time.monotonic() < deadline, "the notify queue never filled"
            time.sleep(0.05)
        # The agent keeps pinging into the full queue (every 0.1 s); it must stay alive and responsive.
        agent.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + GUARD_S
        while "most recent call first" not in log_path.read_text():
            assert time.monotonic() < deadline, "no stack dump on SIGUSR1"
            time.sleep(0.05)
        assert "roomagent/service.py" in log_path.read_text()
        agent.terminate()
        assert agent.wait(GUARD_S) == 0, log_path.read_text()[-3000:]
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(GUARD_S)
        notify.close()


@pytest.mark.parametrize(("environ", "pid", "expected"), [
    ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "30000000"}, 42, 15.0),
    ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 42, 15.0),
    ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, 42, None),
    ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"}, 42, None),
    ({"WATCHDOG_USEC": "30000000"}, 42, None),
    ({"NOTIFY_SOCKET": "/run/n"}, 42, None),
    ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "0"}, 42, None),
    ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "soon"}, 42, None),
])
def test_watchdog_period(environ, pid, expected):
    assert watchdog_period_s(environ, pid) == expected


def test_ready_names_the_main_process_and_watchdog_pings(tmp_path):
    notify = NotifySocket(tmp_path)
    try:
        notifier = Notifier({"NOTIFY_SOCKET": notify.path})
        assert notifier.ready("up", main_pid=1234) and notifier.watchdog()
        assert notify.wait_for("READY")[0] == {"READY": "1", "MAINPID": "1234", "STATUS": "up"}
        assert notify.wait_for("WATCHDOG") == [{"WATCHDOG": "1"}]
    finally:
        notify.close()

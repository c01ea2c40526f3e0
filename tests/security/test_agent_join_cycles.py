"""Regression for the attacks that held (issue 12): join/leave cycles on the real agent process (codes
typed on its panel, redeemed at the real reference directory, a meeting page from the demo server, leave
over MQTT) leak nothing: every browser profile is destroyed, and the agent's descriptors and memory stay
within a generous bound of where they were after the first meeting."""

from __future__ import annotations

import json
import re
import time

import pytest

from roomagent.demo import meeting_server
from roomagent.demo.runner import create_code
from roomagent.directory.server.main import run_in_thread as serve_directory
from roomagent.directory.server.settings import DirectorySettings
from roomagent.serving import run_in_thread as serve_app
from tests.control.broker import GUARD_S, Mosquitto, Probe
from tests.security.agent_room import RoomProcess, command, wait_answering

CYCLES = 5
TOKEN = "security-cycles-token-0123456789"
RSS_GROWTH_MAX_KB = 80 * 1024
FDS_GROWTH_MAX = 6


@pytest.fixture
def servers():
    directory = serve_directory(DirectorySettings(allowed_join_hosts=["127.0.0.1"], tokens={"bbb": TOKEN},
                                                  store="memory"))
    meeting = serve_app(meeting_server.create_app())
    yield directory, meeting
    meeting.stop()
    directory.stop()


def _idle(message) -> bool:
    """A state message saying the room is idle without an error."""
    if not message.topic.endswith("/state"):
        return False
    state = json.loads(message.payload)
    return state["state"] == "idle" and state["error"] is None


def test_join_leave_cycles_leak_nothing(tmp_path, servers):
    directory, meeting = servers
    broker = Mosquitto(tmp_path).start()
    agent = RoomProcess(tmp_path, broker.url, directory=directory.url).start()
    try:
        with Probe(broker.port) as probe:
            probe.subscribe("test/reply", f"roomagent/{agent.room}/state")
            wait_answering(probe, agent.room)
            figures = []
            for cycle in range(1, CYCLES + 1):
                code = create_code(directory.url, TOKEN, f"{meeting.url}/meeting/cycle-{cycle}")
                agent.ask("type " + code.replace("-", ""))
                probe.wait_for(lambda m: m.topic.endswith("/state") and json.loads(m.payload)["state"] == "in_meeting",
                               cycle)
                # Counted before the leave: the agent may publish "idle" more than once while it starts.
                idle_before = len(probe.find(_idle))
                assert command(probe, agent.room, {"id": f"leave-{cycle}", "action": "leave"})["status"] == "ok"
                probe.wait_for(_idle, idle_before + 1)
                figures.append((agent.rss_kb(), agent.fds()))
        # The profile goes a moment after "idle" (deferred deletes): wait for the last one, then count.
        deadline = time.monotonic() + GUARD_S
        while f"[left-{CYCLES}] profile destroyed" not in agent.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        destroyed = set(re.findall(r"\[(left-\d+)\] profile destroyed", agent.log()))
        assert destroyed == {f"left-{n}" for n in range(1, CYCLES + 1)}  # every meeting's profile is gone
        (rss, fds), (rss_end, fds_end) = figures[0], figures[-1]
        print(f"\njoin/leave: RSS after meeting 1 {rss} KiB, after {CYCLES} {rss_end} KiB; fds {fds} -> {fds_end}")
        assert rss_end - rss < RSS_GROWTH_MAX_KB and fds_end - fds <= FDS_GROWTH_MAX
        assert agent.alive() and "Traceback" not in agent.log()
    finally:
        agent.stop()
        broker.stop()

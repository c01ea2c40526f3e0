"""The relay's broker reconnect follows the room agent's back-off (1 s doubling to 60 s with jitter, here
scaled down as the agent tests do), not paho's own doubling that once kept it away 301 s."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from roomagent.control.policy import RECONNECT_MAX_S, RECONNECT_MIN_S, Backoff
from roomagent.directory.server.app import create_app
from roomagent.directory.server.main import run_in_thread
from tests.control.broker import GUARD_S, Mosquitto
from tests.directory.helpers import FakeClock, settings_for

#: The agent tests' scaled-down policy (tests/control/conftest.py FAST_BACKOFF).
FAST = {"min_s": 0.05, "max_s": 0.4}
#: Attempts refused while the broker is down: with paho's own doubling from 1 s these alone would take
#: 1 + 2 + 4 + 8 + 16 + 30 s, far past the failure guard.
REFUSED_ATTEMPTS = 6


class _Attempts(logging.Handler):
    """Counts the relay's "cannot reach the MQTT broker" reports (one per refused attempt)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.cond = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        if "cannot reach the MQTT broker" in record.getMessage():
            with self.cond:
                self.count += 1
                self.cond.notify_all()

    def wait_for(self, count: int) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.count >= count, GUARD_S)


def test_the_relay_comes_back_after_a_broker_restart_at_the_agents_pace(tmp_path: Path):
    broker = Mosquitto(tmp_path).start()
    settings = settings_for("memory", mqtt={"url": broker.url})
    app = create_app(settings, FakeClock())
    attempts = _Attempts()
    relay_log = logging.getLogger("roomagent.directory.relay")
    relay_log.addHandler(attempts)
    try:
        with run_in_thread(settings, clock=FakeClock(), app=app):
            relay = app.state.relay
            assert (relay.backoff.min_s, relay.backoff.max_s) == (RECONNECT_MIN_S, RECONNECT_MAX_S)  # the agent's
            relay.backoff = Backoff(**FAST)
            assert relay.ready_event.wait(GUARD_S)
            broker.stop()
            assert attempts.wait_for(REFUSED_ATTEMPTS), f"only {attempts.count} attempts while the broker was down"
            assert not relay.ready
            broker.start()  # same port
            assert relay.ready_event.wait(GUARD_S), "the relay did not come back after the broker restart"
    finally:
        relay_log.removeHandler(attempts)
        broker.stop()


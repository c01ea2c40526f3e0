"""Issue 12 item 2, room side: another connection with the room's client id (MQTT 5 DISCONNECT "Session
taken over", 0x8E) is noticed, reported and, when it keeps happening, not fought forever.

Debian 12's mosquitto (2.0.11) closes a taken-over connection without that DISCONNECT (added in 2.0.15),
so the takeover is played by :meth:`TcpProxy.take_over` in front of the real mosquitto, byte for byte
what a newer broker sends.
"""

from __future__ import annotations

import json

import pytest

from roomagent.control.policy import TakeoverGuard
from tests.control.broker import GUARD_S, TcpProxy
from tests.control.conftest import ROOM

GUARD_MS = int(GUARD_S * 1000)


@pytest.fixture
def proxy(broker):
    front = TcpProxy(broker.port)
    yield front
    front.close()


def test_takeovers_are_reported_and_the_room_stops_fighting_after_the_limit(broker, proxy, control_factory,
                                                                               probe_factory, qtbot):
    control = control_factory(f"mqtt://127.0.0.1:{proxy.port}")
    control.takeovers = TakeoverGuard(limit=3, window_s=600.0)
    watcher = probe_factory(broker.port)
    watcher.subscribe(f"roomagent/{ROOM}/event")
    refusals: list[str] = []
    control.permanent_error.connect(refusals.append)
    for round_ in range(1, 4):
        with qtbot.waitSignals([control.connection_changed, control.connection_changed], timeout=GUARD_MS):
            proxy.take_over()  # lost, then back
        assert control.connected
        assert f"MQTT client id {control.client_id}" in control.warning
        # (QoS 1: an earlier event cut off before its PUBACK may arrive twice; look for this round's.)
        events = watcher.wait_for(lambda m, round_=round_: json.loads(m.payload)["event"] == "client_id_taken_over"
                                  and json.loads(m.payload)["data"]["count"] == round_)
        report = json.loads(events[-1].payload)["data"]
        assert report["client_id"] == control.client_id
        assert (report["paused_s"] > 0) == (round_ == 3)
    # The third takeover within the window: the room waited as after a permanent refusal, and said so.
    assert report["paused_s"] >= control.backoff.permanent_s / 2
    assert len(refusals) == 1 and "3 times" in refusals[0] and "bind client ids" in refusals[0]
    assert "over 3 times" in control.warning


def test_an_ordinary_connection_loss_is_not_a_takeover(broker, proxy, control_factory, qtbot):
    control = control_factory(f"mqtt://127.0.0.1:{proxy.port}")
    with qtbot.waitSignals([control.connection_changed, control.connection_changed], timeout=GUARD_MS):
        proxy.cut()
    assert control.connected and control.warning == ""


def test_the_guard_counts_within_its_window() -> None:
    now = [0.0]
    guard = TakeoverGuard(limit=3, window_s=60.0, clock=lambda: now[0])
    assert [guard.record() for _ in range(2)] == [1, 2]
    now[0] = 61.0
    assert [guard.record() for _ in range(3)] == [1, 2, 3]  # the first two fell out of the window
    assert not guard.exhausted(2) and guard.exhausted(3)

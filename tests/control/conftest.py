"""Fixtures for the MQTT edge tests: a private mosquitto per test (on a free port, never the system
broker), an :class:`MqttControl` on it with short reconnect delays, and probes to talk to both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from roomagent.control.mqtt import MqttControl
from roomagent.control.policy import Backoff
from roomagent.profile import MqttSection
from tests.control.broker import GUARD_S, Mosquitto, Probe

ROOM = "h0104"
#: Reconnect delays for tests: the production policy (1 s .. 60 s) with the same shape, scaled down.
FAST_BACKOFF = {"min_s": 0.05, "max_s": 0.4, "permanent_s": 0.5}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private mosquitto for this test (no persistence)."""
    server = Mosquitto(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def probe_factory(request: pytest.FixtureRequest) -> Callable[..., Probe]:
    """Connected probes; closed at the end of the test."""
    probes: list[Probe] = []

    def make(port: int, **kwargs) -> Probe:
        probe = Probe(port, **kwargs)
        probe.__enter__()
        probes.append(probe)
        return probe

    yield make
    for probe in probes:
        probe.close()


def mqtt_settings(url: str, **overrides) -> MqttSection:
    """Room MQTT settings for a test broker."""
    return MqttSection(url=url, **overrides)


@pytest.fixture
def control_factory(qtbot) -> Callable[..., MqttControl]:
    """MqttControl instances with fast back-off; stopped at the end of the test."""
    controls: list[MqttControl] = []

    def make(url: str, room: str = ROOM, *, start: bool = True, wait: bool = True, **settings) -> MqttControl:
        control = MqttControl(mqtt_settings(url, **settings), room, version="test")
        control.backoff = Backoff(**FAST_BACKOFF)
        controls.append(control)
        if start:
            if wait:
                with qtbot.waitSignal(control.connection_changed, timeout=int(GUARD_S * 1000)) as blocker:
                    control.start()
                assert blocker.args == [True]
            else:
                control.start()
        return control

    yield make
    for control in controls:
        control.stop()


@pytest.fixture
def control(broker: Mosquitto, control_factory) -> MqttControl:
    """A started, connected MqttControl for room ``h0104`` on ``broker``."""
    return control_factory(broker.url)

"""The real hot-plug path: a libudev-format message on the udev netlink group reaches a real pyudev monitor,
wakes the QSocketNotifier in Qt's event loop, and arrives at UdevDeviceSource and InputSources.

There is no udevd here (and no capture card), so the test plays udevd (``tests/devices/uevent.py``).
Sending to the group needs root, as udevd does.
"""

from __future__ import annotations

import os
import uuid

import pytest

from roomagent.devices.discovery import UdevDeviceSource
from roomagent.devices.inputs import InputSources, SignalMonitor
from roomagent.profile import SourceSection

from .fakes import FakeDriver
from .uevent import FakeUdevd, capture_device

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root may send on the udev netlink group "
                                                           "(as udevd does); CI runs as root")

#: Failure guard for a datagram on the loopback netlink socket; not a timing expectation.
GUARD_MS = 5000


@pytest.fixture
def tag() -> str:
    """Unique per test: other processes on this machine may send their own fake devices."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def source(qtbot):
    discovery = UdevDeviceSource()
    discovery.start()
    yield discovery
    discovery.stop()


def _ours(devpath: str):
    return lambda info: info.devpath == devpath


def test_add_and_remove_reach_the_discovery_through_the_event_loop(qtbot, source, tag):
    props = capture_device(tag, 3)
    with FakeUdevd() as udevd:
        with qtbot.waitSignal(source.device_added, timeout=GUARD_MS, check_params_cb=_ours(props["DEVPATH"])) as added:
            udevd.send("add", props)
        info = added.args[0]
        assert info.devnode == f"/dev/video-{tag}" and info.is_capture
        assert info.properties["ID_PATH"] == props["ID_PATH"] and info.product == "USB3 Video"
        assert info in source.devices()

        with qtbot.waitSignal(source.device_removed, timeout=GUARD_MS, check_params_cb=_ours(props["DEVPATH"])):
            udevd.send("remove", props)
        assert all(d.devpath != props["DEVPATH"] for d in source.devices())


def test_nodes_without_capture_are_not_inputs(qtbot, source, tag):
    meta = capture_device(f"{tag}m", 4, ID_V4L_CAPABILITIES=":")  # a UVC camera's metadata node
    card = capture_device(tag, 4)
    with FakeUdevd() as udevd:
        # Sent first, so once the card has arrived the metadata node has been seen and passed over.
        with qtbot.waitSignal(source.device_added, timeout=GUARD_MS, check_params_cb=_ours(card["DEVPATH"])):
            udevd.send("add", meta)
            udevd.send("add", card)
        devpaths = {d.devpath for d in source.devices()}
        assert card["DEVPATH"] in devpaths and meta["DEVPATH"] not in devpaths
        with qtbot.waitSignal(source.device_removed, timeout=GUARD_MS, check_params_cb=_ours(card["DEVPATH"])):
            udevd.send("remove", card)


def test_a_configured_input_is_plugged_and_unplugged_through_udev(qtbot, tag):
    props = capture_device(tag, 5)
    lectern = SourceSection(id="lectern", name="Lectern HDMI", match={"ID_SERIAL": props["ID_SERIAL"]})
    inputs = InputSources([lectern], UdevDeviceSource(), SignalMonitor(FakeDriver()))
    inputs.start()
    try:
        assert not inputs.states[0].present
        with FakeUdevd() as udevd:
            def is_lectern(state):
                return state.id == "lectern"
            with qtbot.waitSignal(inputs.source_plugged, timeout=GUARD_MS, check_params_cb=is_lectern) as plugged:
                udevd.send("add", props)
            state = plugged.args[0]
            assert (state.name, state.device, state.label, state.signal) == (
                "Lectern HDMI", f"/dev/video-{tag}", "USB3 Video (534d:2109)", None)  # no such node: unknown
            assert inputs.mrl("lectern") == f"v4l2:///dev/video-{tag}"
            with qtbot.waitSignal(inputs.source_unplugged, timeout=GUARD_MS, check_params_cb=is_lectern):
                udevd.send("remove", props)
            assert not inputs.states[0].present
    finally:
        inputs.stop()

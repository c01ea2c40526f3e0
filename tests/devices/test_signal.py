"""Signal probing (the V4L2 questions, the monitor that repeats them) and InputSources over a fake device
source: what the core is handed when cards are plugged, unplugged, and gain or lose their picture."""

from __future__ import annotations

import errno

import pytest

from roomagent.devices import v4l2
from roomagent.devices.inputs import SIGNAL_PROBE_INTERVAL_S, InputSources, SignalMonitor
from roomagent.devices.v4l2 import OsV4l2Io, probe_signal
from roomagent.profile import SourceSection

from .fakes import FakeDeviceSource, FakeDriver, Node, device

#: Failure guard for signals the test expects; not a timing expectation.
GUARD_MS = 5000
LECTERN = SourceSection(id="lectern", name="Lectern HDMI", match={"ID_PATH": "pci-0000:00:14.0-usb-0:2:1.0"})


@pytest.mark.parametrize("node, expected", [
    (Node(dv=0), True),  # an HDMI receiver with locked timings
    (Node(dv=errno.ENOLINK), False),  # ... without a link
    (Node(dv=errno.ENOLCK), False),  # ... with a signal it cannot lock to
    (Node(dv=errno.ERANGE), False),  # ... with timings it cannot capture
    (Node(dv=errno.ENODATA, status=v4l2.V4L2_IN_ST_NO_SIGNAL), False),  # no DV on this input: status says
    (Node(status=v4l2.V4L2_IN_ST_NO_SYNC, caps=v4l2.V4L2_IN_CAP_STD), False),
    (Node(status=v4l2.V4L2_IN_ST_NO_POWER), False),
    (Node(status=0, caps=v4l2.V4L2_IN_CAP_STD), True),  # an analogue decoder reporting nothing wrong
    (Node(status=0x10, caps=v4l2.V4L2_IN_CAP_DV_TIMINGS), True),  # HFLIP is no "no picture" flag
    (Node(status=0, caps=0), None),  # uvcvideo: a camera input never fills in status
    (Node(status=None), None),  # no inputs to ask about
    (Node(open_errno=errno.EBUSY), None),  # a single-open driver in use elsewhere
    (Node(open_errno=errno.EACCES), None),
])
def test_probe_answers_and_never_keeps_the_device_open(node, expected):
    driver = FakeDriver(video0=node)
    assert probe_signal("/dev/video0", driver) is expected
    assert driver.open_fds == {}


def test_probe_asks_about_the_current_input():
    driver = FakeDriver(video0=Node(input_index=3, status=v4l2.V4L2_IN_ST_NO_SIGNAL))
    assert probe_signal("/dev/video0", driver) is False
    assert driver.enum_indexes == [3]
    driver = FakeDriver(video0=Node(input_index=None, status=0, caps=v4l2.V4L2_IN_CAP_STD))
    assert probe_signal("/dev/video0", driver) is True and driver.enum_indexes == [0]


def test_probe_through_the_kernel_on_things_that_are_not_capture_devices():
    # Real open/ioctl/close: /dev/null answers ENOTTY to every V4L2 request; a missing node cannot open.
    assert probe_signal("/dev/null", OsV4l2Io()) is None
    assert probe_signal("/dev/video-does-not-exist", OsV4l2Io()) is None


def test_request_numbers_match_videodev2_h():
    assert (v4l2.VIDIOC_ENUMINPUT, v4l2.VIDIOC_G_INPUT, v4l2.VIDIOC_QUERY_DV_TIMINGS) == (
        0xC050561A, 0x80045626, 0x80845663)


def test_signal_monitor_reports_only_changes(qtbot):
    driver = FakeDriver(video0=Node(dv=errno.ENOLINK), video1=Node(status=0))
    monitor = SignalMonitor(driver)
    seen = []
    monitor.signal_changed.connect(lambda node, value: seen.append((node, value)))
    monitor.watch(["/dev/video0", "/dev/video1"])
    assert seen == [("/dev/video0", False)]  # video1 stays unknown: nothing to report
    monitor.probe_now()
    assert seen == [("/dev/video0", False)]
    driver.nodes["/dev/video0"].dv = 0  # the lecturer's laptop wakes up
    monitor.probe_now()
    driver.nodes["/dev/video0"].open_errno = errno.EBUSY
    monitor.probe_now()
    monitor.probe_now()
    assert seen == [("/dev/video0", False), ("/dev/video0", True), ("/dev/video0", None)]
    assert monitor.values() == {"/dev/video0": None, "/dev/video1": None}
    monitor.stop()


def test_signal_monitor_reprobes_on_its_timer_only_while_it_watches_something(qtbot):
    driver = FakeDriver(video0=Node(dv=errno.ENOLINK))
    monitor = SignalMonitor(driver, interval_s=0.01)
    assert not monitor.active
    monitor.watch(["/dev/video0"])
    assert monitor.active
    driver.nodes["/dev/video0"].dv = 0
    with qtbot.waitSignal(monitor.signal_changed, timeout=GUARD_MS) as caught:
        pass  # the timer asks again by itself
    assert caught.args == ["/dev/video0", True]
    monitor.watch([])
    assert not monitor.active and monitor.values() == {}
    assert 1 <= SIGNAL_PROBE_INTERVAL_S <= 5  # responsive for a lecturer, cheap for the machine


@pytest.fixture
def inputs(qtbot):
    """InputSources over a fake device source and driver; records what it hands out."""
    driver = FakeDriver(video2=Node(dv=errno.ENOLINK), video4=Node(status=0), video6=Node(open_errno=errno.EBUSY))
    devices = FakeDeviceSource()
    sources = InputSources([LECTERN], devices, SignalMonitor(driver))
    log: list = []
    sources.sources_changed.connect(lambda states: log.append(("changed", states)))
    sources.source_plugged.connect(lambda state: log.append(("plugged", state)))
    sources.source_unplugged.connect(lambda state: log.append(("unplugged", state)))
    sources.start()
    yield sources, devices, driver, log
    sources.stop()


def test_configured_sources_are_handed_out_at_start_even_without_devices(inputs):
    sources, devices, _, log = inputs
    assert devices.started
    assert log == [("changed", sources.states)]
    assert [(s.id, s.present) for s in sources.states] == [("lectern", False)]
    assert sources.mrl("lectern") is None and sources.mrl("nope") is None


def test_plug_signal_and_unplug_of_a_configured_input(inputs):
    sources, devices, driver, log = inputs
    log.clear()
    card = device("video2", 2)
    devices.plug(card)
    lectern = sources.states[0]
    assert (lectern.present, lectern.device, lectern.signal) == (True, "/dev/video2", False)
    assert log == [("plugged", lectern), ("changed", sources.states)]  # one change, signal included
    assert sources.mrl("lectern") == "v4l2:///dev/video2"

    log.clear()
    driver.nodes["/dev/video2"].dv = 0
    sources._signals.probe_now()
    assert log == [("changed", sources.states)] and sources.states[0].signal is True
    log.clear()
    sources._signals.probe_now()  # nothing changed: nothing handed out
    assert log == []

    devices.unplug(card)
    assert [kind for kind, _ in log] == ["unplugged", "changed"]
    assert log[0][1].id == "lectern" and not log[0][1].present
    assert [(s.id, s.present, s.signal) for s in sources.states] == [("lectern", False, None)]
    assert not sources._signals.active  # nothing left to probe


def test_unknown_and_busy_devices(inputs):
    sources, devices, driver, log = inputs
    log.clear()
    devices.plug(device("video6", 6, product="Lumens DC-125"))
    devices.plug(device("video4", 4))
    assert [(s.id, s.name, s.present, s.signal) for s in sources.states] == [
        ("lectern", "Lectern HDMI", False, None),
        ("lumens-dc-125", "Lumens DC-125", True, None),  # busy: unknown
        ("usb3-video", "USB3 Video", True, None),  # a UVC camera: unknown
    ]
    assert [(kind, s.id) for kind, s in log if kind != "changed"] == [
        ("plugged", "lumens-dc-125"), ("plugged", "usb3-video")]
    log.clear()
    devices.unplug(device("video6", 6, product="Lumens DC-125"))
    assert [(kind, getattr(s, "id", None)) for kind, s in log][:1] == [("unplugged", "lumens-dc-125")]
    assert [s.id for s in sources.states] == ["lectern", "usb3-video"]


def test_every_present_input_is_probed_again_on_hot_plug(inputs):
    sources, devices, driver, _ = inputs
    devices.plug(device("video2", 2))
    driver.opens.clear()
    devices.plug(device("video4", 4))
    assert sorted(driver.opens) == ["/dev/video2", "/dev/video4"]
    devices.plug(device("video4", 4))  # udev repeats itself ("add" for a known device): nothing to do
    assert sorted(driver.opens) == ["/dev/video2", "/dev/video4"]

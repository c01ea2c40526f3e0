"""An HDMI input end to end on the installed agent under Xvfb: udev says "add" (a libudev netlink
message, as udevd sends it), the input appears in the retained ``state``, a moderator shows it on the
right projector with ``roomagent ctl preview_source`` (VLC drawing into the screen window; a generated
video stands in for the capture card through the profile's ``mrl``), and ``stop_preview`` gives the idle
card back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.control.broker import Mosquitto
from tests.devices.uevent import FakeUdevd, capture_device
from tests.e2e.room import ctl, retained, start_agent
from tests.e2e.xvfb import Xvfb, missing_tools, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xvfb,
              pytest.mark.skipif(bool(missing_tools()), reason=f"X tools missing: {missing_tools()}"),
              pytest.mark.skipif(os.geteuid() != 0, reason="sending udev netlink messages needs root"),
              pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is missing")]

ROOM_TOML = """
[room]
id = "h0104"
name = "Lecture hall H 0104"
[directory]
url = "http://127.0.0.1:9"
[meeting]
allowed_hosts = ["127.0.0.1"]
[mqtt]
url = "{mqtt}"
[[screens]]
id = "left"
output = "LEFT"
media = true
[[screens]]
id = "right"
output = "RIGHT"
role = "side"
[[sources]]
id = "lectern"
name = "Lectern HDMI"
match = {{ ID_SERIAL = "{serial}" }}
mrl = "{video}"
"""


def _right_monitor(path: Path):
    """(share of pixels that are not the idle card's dark blue, number of distinct colours) on RIGHT."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    colours, lively = set(), 0
    points = [(1920 + x, y) for x in range(40, 1900, 60) for y in range(40, 1060, 60)]
    for x, y in points:
        colour = image.pixelColor(x, y)
        colours.add(colour.rgb())
        lively += colour.lightness() > 60
    return lively / len(points), len(colours)


def test_an_input_plugged_in_is_previewed_on_a_projector(tmp_path):
    tag = uuid.uuid4().hex[:10]
    card = capture_device(tag, 5)
    video = tmp_path / "testsrc.mkv"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=640x360:rate=10", "-t", "60", "-c:v", "mpeg4", "-q:v", "5", str(video)],
                   check=True, timeout=60)
    broker = Mosquitto(tmp_path).start()
    xvfb = Xvfb().start()
    agent, log = start_agent(xvfb, tmp_path, ROOM_TOML.format(mqtt=broker.url, serial=card["ID_SERIAL"], video=video))
    def state():
        return json.loads(retained(broker.url, "roomagent/h0104/state") or "{}")
    try:
        wait_for(lambda: "ready" in log(), "the agent to be ready")
        wait_for(lambda: state().get("sources"), "the configured input in state")
        assert state()["sources"][0]["present"] is False
        idle_share, _ = _right_monitor(xvfb.screenshot(tmp_path / "idle.png"))

        with FakeUdevd() as udevd:
            udevd.send("add", card)
            wait_for(lambda: state()["sources"][0]["present"], "the plugged input in state")
            shown = ctl(broker.url, "preview_source", "right", "lectern")
            assert shown.returncode == 0, shown.stdout + shown.stderr
            # VLC draws into the right window: colour bars, many colours, and they move.
            wait_for(lambda: (lambda r: r if r[1] > 60 and r[0] > idle_share + 0.3 else None)(
                _right_monitor(xvfb.screenshot(tmp_path / "preview.png"))), "the video on the right projector")
            if os.environ.get("ROOMAGENT_SCREENSHOTS"):
                shutil.copy(tmp_path / "preview.png", Path(os.environ["ROOMAGENT_SCREENSHOTS"]) / "screens-preview.png")
            assert json.loads(shown.stdout)["data"]["previews"] == {"right": "lectern"}
            second = _right_monitor(xvfb.screenshot(tmp_path / "preview2.png"))
            assert second[0] > idle_share + 0.3 and second[1] > 60  # still shown a moment later

            assert ctl(broker.url, "stop_preview").returncode == 0
            wait_for(lambda: _right_monitor(xvfb.screenshot(tmp_path / "after.png"))[0] < idle_share + 0.1,
                     "the idle card back on the right projector")
            udevd.send("remove", card)
            wait_for(lambda: not state()["sources"][0]["present"], "the unplugged input in state")
    finally:
        agent.terminate()
        status = agent.wait(20)
        xvfb.stop()
        broker.stop()
    assert status == 0, log()

"""The installed agent as a teacher meets it: Xvfb with two monitors, a code typed with xdotool.

Runs ``roomagent run`` as a subprocess against the real reference directory and the fake BigBlueButton 3
server, switches the layout and mutes the room over MQTT, then leaves through the panel's Leave control. With ``ROOMAGENT_SCREENSHOTS=DIR`` it also writes the
README's screenshots (``make screenshots``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
from pathlib import Path

import httpx
import pytest

from roomagent.demo.fake_bbb import create_bbb_app
from roomagent.demo.runner import create_code, start_directory
from roomagent.serving import run_in_thread
from tests.e2e.room import ROOM_TOML, ctl, retained, start_agent
from tests.e2e.xvfb import Xvfb, missing_tools, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xvfb,
              pytest.mark.skipif(bool(missing_tools()), reason=f"X tools missing: {missing_tools()}")]



def _probes(path: Path):
    """The screenshot and, per monitor, the lightness low on the screen and in its centre."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    low = [image.pixelColor(x, 900).lightness() for x in (260, 1920 + 260)]  # inside a tile or the slides
    centre = [image.pixelColor(x, 540).lightness() for x in (960, 1920 + 960)]
    return image, low, centre


def _showing(path: Path, slides_on: str):
    """The screenshot once both monitors show the meeting, the slides (a light card filling the
    centre) on ``slides_on`` ("left"/"right") and the camera tiles on the other."""
    image, low, centre = _probes(path)
    painted = all(value > 90 for value in low)  # the idle card is dark there
    slides = ["left" if centre[0] > 200 else None, "right" if centre[1] > 200 else None]
    return image if painted and [s for s in slides if s] == [slides_on] else None


def _idle(path: Path):
    image, low, _ = _probes(path)
    return image if all(value < 80 for value in low) else None


def _log(base: str, kind: str) -> list[dict]:
    """The fake BigBlueButton's records of ``kind``."""
    with urllib.request.urlopen(f"{base}/_fake/log?kind={kind}", timeout=5) as response:
        return json.load(response)


@pytest.fixture
def xvfb():
    server = Xvfb().start()
    yield server
    server.stop()


@pytest.fixture
def broker(tmp_path):
    from tests.control.broker import Mosquitto

    server = Mosquitto(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def servers(broker):
    meeting = run_in_thread(create_bbb_app())
    directory, token = start_directory("127.0.0.1", broker.url)
    yield meeting, directory, token
    directory.stop()
    meeting.stop()


def test_teacher_types_a_code_both_screens_join_then_leave(xvfb, servers, broker, tmp_path):
    meeting, directory, token = servers
    shots = Path(os.environ["ROOMAGENT_SCREENSHOTS"]) if os.environ.get("ROOMAGENT_SCREENSHOTS") else None
    agent, log = start_agent(xvfb, tmp_path, ROOM_TOML.format(directory=directory.url,
                                                              mqtt=f'[mqtt]\nurl = "{broker.url}"'))
    try:
        left = xvfb.find_window("roomagent screen left")
        xvfb.find_window("roomagent screen right")
        wait_for(lambda: "ready" in log(), "the agent to be ready")

        # A teacher mistypes first: the panel explains, nothing opens.
        xvfb.type_text(left, "K7M4QX9TB")
        wait_for(lambda: "code not redeemed: code_not_found" in log(), "the unknown code to be refused")
        if shots:
            xvfb.screenshot(shots / "panel-error.png", "1920x1080+0+0")
        assert _log(meeting.url, "join") == []
        xvfb.key(left, "Escape")
        if shots:
            xvfb.screenshot(shots / "screens-idle.png")

        join_url = f"{meeting.url}/bigbluebutton/api/join?meetingID=h0104-lecture&fullName=Room&checksum=s3cr3t-token"
        code = create_code(directory.url, token, join_url)
        xvfb.type_text(left, code.replace("-", "").lower())
        wait_for(lambda: "state joining -> in_meeting" in log(), "the room to be in the meeting")
        ready = wait_for(lambda: len(_log(meeting.url, "ready")) >= 2 and _log(meeting.url, "ready"),
                         "both client pages to enter the meeting")
        # One BigBlueButton session per screen, each with its own cookie, layout and (only left) audio.
        minted = {r["session_name"]: r for r in _log(meeting.url, "getJoinUrl") if r["ok"]}
        assert {k: r["enforce_layout"] for k, r in minted.items()} == {"left": "PRESENTATION_ONLY",
                                                                      "right": "CAMERAS_ONLY"}
        assert [k for k, r in minted.items() if r["userdata"]["bbb_auto_join_audio"] == "true"] == ["left"]
        tokens = {r["session_name"]: r["token"] for r in ready}
        assert len(set(tokens.values())) == 2
        # Look at the projectors: slides on the left (main), the remote cameras on the right (side).
        shot = wait_for(lambda: _showing(xvfb.screenshot(tmp_path / "meeting.png"), "left"),
                        "the lecture layout on both screens")
        if shots:
            shot.save(str(shots / "screens-meeting.png"))

        # A moderator steers the room over MQTT with `roomagent ctl`.
        state = json.loads(ctl(broker.url, "get_state").stdout)
        assert state["status"] == "ok" and state["data"]["state"] == "in_meeting"
        assert state["data"]["meeting"]["host"] == "127.0.0.1" and "s3cr3t" not in json.dumps(state)
        assert state["data"]["layout"] == "lecture" and "discussion" in state["data"]["layouts"]
        assert ctl(broker.url, "show_message", "We start in 5 minutes", "--seconds", "60").returncode == 0
        switched = ctl(broker.url, "set_layout", "discussion")
        assert switched.returncode == 0 and json.loads(switched.stdout)["data"]["method"] == "event", switched.stdout
        seen = wait_for(lambda: len(_log(meeting.url, "layout")) >= 2 and _log(meeting.url, "layout"),
                        "the fake server to see the layout switch")
        assert {(r["session_name"], r["layout"]) for r in seen if r["event"] == "SET_ENFORCED_LAYOUT"} == {
            ("left", "CAMERAS_ONLY"), ("right", "PRESENTATION_ONLY")}
        shot = wait_for(lambda: _showing(xvfb.screenshot(tmp_path / "discussion.png"), "right"),
                        "the discussion layout on both screens")
        if shots:
            shot.save(str(shots / "screens-discussion.png"))
        muted = ctl(broker.url, "mute")
        assert muted.returncode == 0 and json.loads(muted.stdout)["data"] == {"muted": True}, muted.stdout
        assert [r["session_name"] for r in wait_for(lambda: _log(meeting.url, "mute"), "the mute click")] == ["left"]
        assert json.loads(retained(broker.url, "roomagent/h0104/state"))["muted"] is True
        assert ctl(broker.url, "reload", "--screen", "right").returncode == 0
        again = wait_for(lambda: len(_log(meeting.url, "ready")) >= 3 and _log(meeting.url, "ready")[2],
                         "the right screen to reload")
        assert again["token"] == tokens["right"]  # the same session, not a new login
        assert json.loads(retained(broker.url, "roomagent/h0104/state"))["state"] == "in_meeting"

        # The meeting server that invited the room reaches it through the directory's relay, and only it.
        relay = {"Code": code, "Authorization": f"Bearer {token}"}
        status = httpx.get(f"{directory.url}/meeting/status", headers=relay).json()["data"]
        assert status["status"] == "redeemed" and status["room"] == {"id": "h0104", "name": "Lecture hall H 0104"}
        answer = httpx.post(f"{directory.url}/meeting/command", headers=relay, json={"action": "get_state"},
                            timeout=30).json()["data"]
        assert answer["status"] == "ok" and answer["data"]["state"] == "in_meeting"
        forged = httpx.post(f"{directory.url}/meeting/command", json={"action": "leave"},
                            headers={**relay, "Authorization": "Bearer forged-token-0123456789"})
        assert forged.status_code == 401
        assert retained(broker.url, "roomagent/h0104/availability") == "online"

        # Leave as a teacher would: tap the Leave control in the top-right corner of the left screen.
        xvfb.click(1920 - 24 - 120, 24 + 52)
        wait_for(lambda: "state leaving -> idle" in log(), "the room to be idle again")
        # Every meeting profile was destroyed (logged from the profile's own destroyed signal).
        wait_for(lambda: re.search(r"\[left-1\] profile destroyed", log()) and
                 re.search(r"\[right-1\] profile destroyed", log()), "both profiles to be destroyed")
        # Both client pages said goodbye to the server on the way out (pagehide), as a person's would.
        left_pages = wait_for(lambda: len(_log(meeting.url, "left")) >= 2 and _log(meeting.url, "left"),
                              "both sessions to leave the meeting")
        assert {r["token"] for r in left_pages} == set(tokens.values())
        # The idle cards are back on both projectors (dark background where the meeting card was).
        idle = wait_for(lambda: _idle(xvfb.screenshot(tmp_path / "idle.png")), "the idle cards to return")
        if shots:
            idle.save(str(shots / "screens-after-leave.png"))
        # Off-the-record profiles: nothing of the meeting was written under the agent's home.
        stored = [p for p in (tmp_path / "home").rglob("*") if p.is_file() and re.search(r"Cookies|Local Storage|Cache", str(p))]
        assert stored == []
    finally:
        agent.terminate()
        try:
            status = agent.wait(20)
        except subprocess.TimeoutExpired:
            agent.kill()
            status = None
    assert status == 0, log()
    assert retained(broker.url, "roomagent/h0104/availability") == "offline"  # said on clean shutdown
    assert "Release of profile requested" not in log()  # Qt's warning for a wrong teardown order
    assert "s3cr3t-token" not in log() and code not in log()  # no secrets in the log


def test_a_projector_that_vanishes_is_hidden_and_returns_to_its_output(xvfb, tmp_path):
    # No join happens here: the directory address is never asked.
    agent, log = start_agent(xvfb, tmp_path, ROOM_TOML.format(directory="http://127.0.0.1:9", mqtt=""))
    def visible():
        return xvfb.run("xdotool", "search", "--onlyvisible", "--name", "roomagent screen right", check_status=False)
    try:
        right = xvfb.find_window("roomagent screen right")
        xvfb.run("xrandr", "--delmonitor", "RIGHT")
        wait_for(lambda: not visible().strip(), "the right window to be hidden")
        wait_for(lambda: "output RIGHT not found" in log(), "the warning in the log")
        left = xvfb.find_window("roomagent screen left")
        assert "Position: 0,0" in xvfb.run("xdotool", "getwindowgeometry", left)  # the keypad stays put
        xvfb.run("xrandr", "--setmonitor", "RIGHT", "1920/508x1080/286+1920+0", "none")
        wait_for(lambda: visible().strip(), "the right window to come back")
        # Mapping and moving are separate X requests: wait for the move rather than race it.
        wait_for(lambda: "Position: 1920,0" in xvfb.run("xdotool", "getwindowgeometry", right),
                 "the right window to be back on RIGHT")
    finally:
        agent.terminate()
        assert agent.wait(20) == 0, log()

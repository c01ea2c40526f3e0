"""The kiosk session for real: headless sway with three outputs, run as an unprivileged user with the
configuration ``roomagent kiosk-config`` generates, starting the installed agent itself (as the unit does).

For each engine (QtWebEngine, and "auto", which on this GPU-less machine picks Chromium as an
unprivileged user) the test checks from sway's own tree that the panel and both screen windows (and
Chromium's windows) are full screen on the outputs ``room.toml`` names, looks at each output with
``grim``, types a code on the panel with a virtual keyboard (``wtype``), sees both projectors join the
fake BigBlueButton meeting through the real reference directory, and ends the agent as systemd would
(SIGTERM to the MAINPID it announced), after which sway ends too. ``ROOMAGENT_SCREENSHOTS=DIR`` keeps the
screenshots (``kiosk/screenshots/sway-*.png`` in the README).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from roomagent.demo.fake_bbb import create_bbb_app
from roomagent.demo.runner import create_code, start_directory
from roomagent.serving import run_in_thread
from tests.appliance.notify import NotifySocket
from tests.devices.uevent import no_foreign_devices
from tests.session.session import SWAY_MISSING, HeadlessSway, agent_venv, run_as_user, scratch, user_dir, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(SWAY_MISSING), reason=SWAY_MISSING or "ok")]

PANEL, LEFT, RIGHT = "HEADLESS-1", "HEADLESS-2", "HEADLESS-3"
ROOM_TOML = f"""
[room]
id = "h0104"
name = "Lecture hall H 0104"
[directory]
url = "{{directory}}"
timeout_s = 5
[meeting]
allowed_hosts = ["127.0.0.1"]
display_name = "Room H 0104"
[panel]
output = "{PANEL}"
[kiosk]
engine = "{{engine}}"
rendering = "software"
[[screens]]
id = "left"
output = "{LEFT}"
role = "main"
media = true
[[screens]]
id = "right"
output = "{RIGHT}"
role = "side"
"""


@pytest.fixture(scope="session")
def venv():
    """The agent installed for the session user (built once; see tests/session/session.py)."""
    started = time.monotonic()
    path = agent_venv()
    print(f"agent venv ready in {time.monotonic() - started:.1f} s")
    return path


@pytest.fixture(autouse=True)
def quiet_udev():
    """The agent here follows every capture device on the machine: no other test's fake hot-plugs meanwhile.
    A burst of them during the join (tests/devices on the other worker) left the left projector showing its
    idle card under this headless sway 1.7 + Qt 6.11 (the window drew the meeting once sway focused it)."""
    with no_foreign_devices():
        yield


@pytest.fixture(scope="module")
def servers():
    meeting = run_in_thread(create_bbb_app())
    directory, token = start_directory("127.0.0.1")
    yield meeting, directory, token
    directory.stop()
    meeting.stop()


def _fake_log(base: str, kind: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/_fake/log?kind={kind}", timeout=5) as response:
        return json.load(response)


def _stacks_of(pid: int) -> None:
    """Ask a hung agent where it is: SIGUSR1 makes it write every thread's stack into the session log."""
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        return
    time.sleep(2)  # the dump is written by the agent's own signal handler; the log is read after this


def _image(path: Path):
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), path
    return image


def _lightness(image, fx: float, fy: float) -> int:
    return image.pixelColor(int(image.width() * fx), int(image.height() * fy)).lightness()


def _colours(image) -> int:
    """Distinct colours on a coarse grid: a blank output has one, a drawn page many."""
    return len({image.pixel(x, y) for x in range(0, image.width(), 8) for y in range(0, image.height(), 8)})


def _full_screen_on(sway: HeadlessSway) -> dict[str, str]:
    """{title or app_id: output} of every full-screen window."""
    return {(w.app_id if w.app_id.startswith("roomagent-screen-") else w.title): w.output
            for w in sway.windows() if w.fullscreen}


@pytest.mark.parametrize("engine", ["qtwebengine", "auto"])
def test_room_under_sway_places_every_window_and_joins_from_the_panel(engine, venv, servers, tmp_path):
    meeting, directory, token = servers
    shots = Path(os.environ["ROOMAGENT_SCREENSHOTS"]) if os.environ.get("ROOMAGENT_SCREENSHOTS") else None
    work = scratch()
    home = user_dir(work / "home", 0o700)
    config = work / "room.toml"
    config.write_text(ROOM_TOML.format(directory=directory.url, engine=engine))
    config.chmod(0o644)
    agent_program = str(venv / "bin" / "roomagent")
    # The session's configuration comes from the installed agent, as in the unit's ExecStartPre.
    generated = run_as_user([agent_program, "kiosk-config", "--config", str(config), "--agent", agent_program,
                             "--output", str(work / "sway.conf")], work)
    assert generated.returncode == 0, generated.stderr
    notify = NotifySocket(work)
    os.chmod(notify.path, 0o777)  # the session user sends to it, as to systemd's socket
    sway = HeadlessSway(work, work / "sway.conf", outputs=3, env={
        "NOTIFY_SOCKET": notify.path, "QT_QPA_PLATFORM": "wayland", "QT_WAYLAND_DISABLE_WINDOWDECORATION": "1",
        "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"), "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config")})
    agent_pid = 0
    try:
        sway.start()
        ready = notify.wait_for("READY", "1")[0]
        agent_pid = int(ready["MAINPID"])
        assert agent_pid != sway.pid  # the agent, started by sway's config, names itself the main process
        wanted = {"roomagent panel — Lecture hall H 0104": PANEL, "roomagent screen left": LEFT,
                  "roomagent screen right": RIGHT}
        wait_for(lambda: _full_screen_on(sway) == wanted, f"panel and screens full screen on their outputs "
                 f"(sway says {_full_screen_on(sway)})")
        if engine == "qtwebengine":  # doctor once (its Qt probe costs a few seconds)
            doctor = run_as_user([agent_program, "doctor", "--json", "--config", str(config)], work, env={
                **sway.env, "QT_QPA_PLATFORM": "wayland", "HOME": str(home)}, timeout=120)
            checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
            assert {name: checks[name]["status"] for name in ("screens", "compositor", "outputs", "windows")} == {
                "screens": "pass", "compositor": "pass", "outputs": "pass", "windows": "pass"}, doctor.stdout
            # Mapped to the panel's output by the generated configuration; headless sway has no touchscreen.
            assert checks["touch"] == {"name": "touch", "status": "warn",
                                       "detail": f"mapped to {PANEL}, but sway sees no touchscreen (cable? USB?)"}
        expected_engine = "chromium" if engine == "auto" else "qtwebengine"
        assert f"engine: {expected_engine}, because" in sway.log()
        # Nothing else runs in the session: no bar, no X server (xwayland disable), only the agent.
        assert not [o for o in sway.msg("-t", "get_bar_config")]
        assert {w.app_id for w in sway.windows() if w.app_id.startswith("roomagent-screen-")} == set()

        # What the outputs show: the keypad on the panel, the idle cards on the projectors.
        def drawn():
            images = {name: _image(sway.screenshot(name, tmp_path / f"idle-{name}.png")) for name in (PANEL, LEFT, RIGHT)}
            return images if all(_colours(image) > 20 for image in images.values()) else None  # not blank

        idle = wait_for(drawn, "the keypad and the idle cards to be drawn")
        if shots and engine == "auto":
            for name, label in ((PANEL, "panel"), (LEFT, "left-idle"), (RIGHT, "right-idle")):
                shutil.copy(tmp_path / f"idle-{name}.png", shots / f"sway-{label}.png")

        # The panel has the keyboard; a teacher types the code there.
        panel = next(w for w in sway.windows() if w.title.startswith("roomagent panel"))
        assert panel.focused, [(w.title, w.focused) for w in sway.windows()]
        join_url = f"{meeting.url}/bigbluebutton/api/join?meetingID=h0104-lecture&fullName=Room&checksum=s3cr3t"
        before = len(_fake_log(meeting.url, "ready"))
        code = create_code(directory.url, token, join_url)
        sway.type_text(code.replace("-", "").lower())
        wait_for(lambda: "state joining -> in_meeting" in sway.log(), "the room to join the meeting")
        wait_for(lambda: len(_fake_log(meeting.url, "ready")) >= before + 2, "both screens to enter the meeting")

        if expected_engine == "chromium":
            wanted_now = {"roomagent panel — Lecture hall H 0104": PANEL, "roomagent-screen-left": LEFT,
                          "roomagent-screen-right": RIGHT}
        else:
            wanted_now = wanted
        wait_for(lambda: _full_screen_on(sway) == wanted_now,
                 f"the meeting windows full screen on their outputs (sway says {_full_screen_on(sway)})")
        if expected_engine == "chromium":  # placed through sway's IPC by the Chromium engine itself, too
            wait_for(lambda: all(f"Chromium's window full screen on {name} (sway)" in sway.log() for name in (LEFT, RIGHT))
                     or "could not place Chromium's window" in sway.log(), "the engine's own placement")
            assert "could not place Chromium's window" not in sway.log()
        # Chromium's windows did not take the keyboard from the panel (no_focus rule).
        assert next(w for w in sway.windows() if w.title.startswith("roomagent panel")).focused

        seen: dict = {}

        def meeting_shown():
            left = _image(sway.screenshot(LEFT, tmp_path / "meeting-left.png"))
            right = _image(sway.screenshot(RIGHT, tmp_path / "meeting-right.png"))
            # Above the middle: the slide card's caption sits in the middle, and a glyph there is dark.
            seen.update(left=_lightness(left, 0.5, 0.3), right=_lightness(right, 0.5, 0.3),
                        left_idle=left == idle[LEFT], right_idle=right == idle[RIGHT])
            # The lecture layout: slides (a light card) on the main screen, camera tiles
            # (no slide card) on the side screen; both differ from their idle cards.
            return (seen["left"] > 200 and seen["right"] < 200
                    and not seen["left_idle"] and not seen["right_idle"])

        try:
            wait_for(meeting_shown, "the meeting on both projectors")
        except AssertionError as timed_out:  # what the outputs showed and what the pages said, for a look
            raise AssertionError(f"{timed_out}: last look {seen}; pages ready "
                                 f"{_fake_log(meeting.url, 'ready')[before:]}; layout events "
                                 f"{_fake_log(meeting.url, 'layout')}; windows {sway.windows()}; screenshots in {tmp_path}") from None
        if shots and engine == "auto":
            shutil.copy(tmp_path / "meeting-left.png", shots / "sway-left-meeting.png")
            shutil.copy(tmp_path / "meeting-right.png", shots / "sway-right-meeting.png")
            shutil.copy(sway.screenshot(PANEL, tmp_path / "meeting-panel.png"), shots / "sway-panel-meeting.png")
    finally:
        if agent_pid:
            os.kill(agent_pid, signal.SIGTERM)  # systemd's stop: SIGTERM to the MAINPID (KillMode=mixed)
        ended = False
        if agent_pid:
            # The agent's exit ends the session by itself (`; exec swaymsg exit` in the generated config).
            try:
                ended = wait_for(lambda: sway._proc.poll() is not None, "sway to end after the agent", guard_s=60)
            except AssertionError:
                _stacks_of(agent_pid)  # into the log read below, and the failure shows its end
        log = sway.log() if sway.log_path.exists() else ""
        (tmp_path / "session.log").write_text(log)  # kept for a look after a failure (work/ is removed)
        sway.stop()
        notify.close()
        shutil.rmtree(work, ignore_errors=True)
    assert ended, f"sway did not end after the agent's SIGTERM; the session log ends: {log[-6000:]}"
    assert "Traceback" not in log, log[-4000:]
    assert "s3cr3t" not in log and code not in log

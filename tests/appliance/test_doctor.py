"""``roomagent doctor``: the verdicts (Qt-free, with fake probes), then the command itself against a fake
room: the real reference directory, a private mosquitto or a port nobody listens on, and Qt's offscreen
platform, which has no display with the profile's output name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from roomagent import doctor
from roomagent.directory.server.main import run_in_thread
from roomagent.doctor import CaptureDevice, Check, HttpAnswer, ProbeError, Probes, ScreenInfo
from roomagent.profile import RoomProfile, load_profile
from roomagent.serving import free_port
from tests.control.broker import Mosquitto
from tests.directory.helpers import settings_for

GUARD_S = 120


def _profile(**over) -> RoomProfile:
    values = {"room": {"id": "h0104", "name": "Doctor room"}, "directory": {"url": "http://127.0.0.1:9"},
              "meeting": {"allowed_hosts": ["127.0.0.1"]},
              "screens": [{"id": "left", "output": "HDMI-1"}, {"id": "right", "output": "HDMI-2"}]}
    values.update(over)
    return RoomProfile(**values)


LEFT = ScreenInfo("HDMI-1", 0, 0, 1920, 1080)
RIGHT = ScreenInfo("HDMI-2", 1920, 0, 1920, 1080)


def _status(rows: list[Check]) -> dict[str, str]:
    return {r.name: r.status for r in rows}


# ---- verdicts ---------------------------------------------------------------------------------------


def test_screens_found_in_order_pass():
    assert _status(doctor.check_screens(_profile(), [LEFT, RIGHT], "wayland")) == {"screens": "pass"}


def test_missing_output_fails_and_names_what_was_found():
    [row] = doctor.check_screens(_profile(), [LEFT, ScreenInfo("DP-1", 1920, 0)], "wayland")
    assert row.status == "fail" and "right → HDMI-2" in row.detail and "DP-1" in row.detail


def test_swapped_outputs_warn():
    swapped = [ScreenInfo("HDMI-1", 1920, 0), ScreenInfo("HDMI-2", 0, 0)]
    [row] = doctor.check_screens(_profile(), swapped, "wayland")
    assert row.status == "warn" and "HDMI-2, HDMI-1" in row.detail


def test_screens_by_position_need_enough_displays():
    profile = _profile(screens=[{"id": "a"}, {"id": "b"}])
    assert _status(doctor.check_screens(profile, [LEFT], "offscreen")) == {"screens": "fail"}
    assert _status(doctor.check_screens(profile, [LEFT, RIGHT], "xcb")) == {"screens": "pass"}


def test_missing_panel_fails():
    rows = doctor.check_screens(_profile(panel={"output": "DSI-1"}), [LEFT, RIGHT], "wayland")
    assert _status(rows) == {"screens": "pass", "panel": "fail"}


def test_capture_devices_are_optional():
    assert doctor.check_capture(None).status == "warn"
    assert doctor.check_capture([]).status == "warn"
    row = doctor.check_capture([CaptureDevice("/dev/video0", "USB3 HDMI grabber")])
    assert row.status == "pass" and "/dev/video0 (USB3 HDMI grabber)" in row.detail


def test_directory_and_broker_verdicts():
    assert doctor.check_directory("https://d", HttpAnswer(200)).status == "pass"
    assert doctor.check_directory("https://d", HttpAnswer(503)).status == "fail"
    assert doctor.check_directory("https://d", ProbeError("refused")).status == "fail"
    mqtt = _profile(mqtt={"url": "mqtt://b:1883", "username": "room-h0104"}).mqtt
    assert doctor.check_broker(None, None).status == "pass"
    assert doctor.check_broker(mqtt, None).status == "pass"
    row = doctor.check_broker(mqtt, ProbeError("refused: Not authorized"))
    assert row.status == "fail" and "as room-h0104" in row.detail


def test_a_broker_user_name_other_than_the_room_id_is_a_warning():
    """Issue 21: the example profile had username = "room-h0104" for room h0104; the shipped ACL grants
    a room the topics of its user name, so that room connected and never got a command."""
    other = _profile(mqtt={"url": "mqtt://b:1883", "username": "room-h0104"}).mqtt
    row = doctor.check_broker(other, None, "h0104")
    assert row.status == "warn" and 'username = "h0104"' in row.detail and "no commands" in row.detail
    assert doctor.check_broker(_profile(mqtt={"url": "mqtt://b:1883", "username": "h0104"}).mqtt, None,
                               "h0104").status == "pass"
    assert doctor.check_broker(_profile(mqtt={"url": "mqtt://b:1883"}).mqtt, None, "h0104").status == "pass"
    refused = doctor.check_broker(other, ProbeError("refused: Not authorized"), "h0104")
    assert refused.status == "fail" and "is not the room id h0104" in refused.detail


def test_the_example_profile_logs_in_as_its_room_id():
    profile = load_profile(Path(__file__).resolve().parents[2] / "kiosk" / "room.example.toml")
    assert profile.mqtt is not None and profile.mqtt.username == profile.room.id
    assert doctor.check_broker(profile.mqtt, None, profile.room.id).status == "pass"


def test_clock_verdicts():
    assert doctor.check_clock(True, 0.4).status == "pass"
    assert doctor.check_clock(False, None).status == "warn"
    assert doctor.check_clock(None, None).status == "warn"
    assert doctor.check_clock(True, -3600).status == "fail"  # synchronised to the wrong time is still wrong


def test_disk_verdicts():
    assert doctor.check_disk({"/": 50 * 1024**3}).status == "pass"
    assert doctor.check_disk({"/": 50 * 1024**3, "/var/lib/roomagent": 500 * 1024**2}).status == "warn"
    assert doctor.check_disk({"/": 10 * 1024**2}).status == "fail"


def test_run_checks_with_fake_probes_and_exit_status():
    probes = Probes(screens=lambda: ("wayland", [LEFT, RIGHT]), capture=lambda: [],
                    http=lambda url, ca: HttpAnswer(200, 1_000.0), broker=lambda mqtt, room: None,
                    clock=lambda: True, disk=lambda paths: {"/": 10 * 1024**3}, now=lambda: 1_002.0,
                    session=lambda: None)
    rows = doctor.run_checks(_profile(mqtt={"url": "mqtt://b:1883"}), probes)
    assert [r.name for r in rows] == ["profile", "screens", "compositor", "capture", "directory", "broker", "clock",
                                      "disk"]
    assert _status(rows)["capture"] == "warn" and doctor.exit_status(rows) == 0  # warnings do not fail
    assert _status(rows)["compositor"] == "warn"  # not in a sway session: said, not failed
    assert "+2 s from the directory" in rows[6].detail
    failing = doctor.run_checks(_profile(), Probes(**{**probes.__dict__, "http": lambda url, ca: ProbeError("x")}))
    assert doctor.exit_status(failing) == 1
    table = doctor.render_table(failing)
    assert "FAIL  directory" in table and table.endswith("1 failed, 2 warning(s)")


# ---- the command ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def directory():
    server = run_in_thread(settings_for("memory"))
    yield server
    server.stop()


def _doctor(tmp_path: Path, toml: str, *args: str) -> subprocess.CompletedProcess:
    config = tmp_path / "room.toml"
    config.write_text(toml)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMAGENT_")}
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    return subprocess.run([sys.executable, "-m", "roomagent", "doctor", "--config", str(config), *args],
                          env=env, capture_output=True, text=True, timeout=GUARD_S)


def _toml(directory_url: str, output: str | None, mqtt: str = "") -> str:
    screen = f'output = "{output}"' if output else ""
    return f"""
[room]
id = "h0104"
name = "Doctor room"
[directory]
url = "{directory_url}"
[meeting]
allowed_hosts = ["127.0.0.1"]
{mqtt}
[[screens]]
id = "main"
{screen}
"""


def test_doctor_reports_missing_screen_and_unreachable_broker(tmp_path, directory):
    mqtt = f'[mqtt]\nurl = "mqtt://127.0.0.1:{free_port()}"'
    done = _doctor(tmp_path, _toml(directory.url, "HDMI-9", mqtt), "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert [c["name"] for c in report["checks"]] == ["profile", "screens", "compositor", "capture", "directory",
                                                     "broker", "clock", "disk"]
    assert all(set(c) == {"name", "status", "detail"} and c["status"] in ("pass", "warn", "fail")
               for c in report["checks"])
    rows = {c["name"]: c for c in report["checks"]}
    assert rows["profile"]["status"] == "pass"
    assert rows["screens"]["status"] == "fail" and "HDMI-9" in rows["screens"]["detail"]
    assert rows["directory"]["status"] == "pass"
    assert rows["broker"]["status"] == "fail" and "not reachable" in rows["broker"]["detail"]


def test_doctor_passes_a_healthy_room_and_prints_a_table(tmp_path, directory):
    broker = Mosquitto(tmp_path).start()
    try:
        done = _doctor(tmp_path, _toml(directory.url, None, f'[mqtt]\nurl = "{broker.url}"'))
    finally:
        broker.stop()
    lines = done.stdout.splitlines()
    assert any(line.startswith("ok    screens") for line in lines), done.stdout
    assert any(line.startswith("ok    directory") for line in lines)
    assert any(line.startswith("ok    broker") and "connected" in line for line in lines)
    failed = [line for line in lines if line.startswith("FAIL")]
    assert (done.returncode == 0) == (failed == []), done.stdout  # disk or clock may differ per machine
    assert not any(line.startswith(("FAIL  screens", "FAIL  directory", "FAIL  broker")) for line in lines)


def test_doctor_uses_the_rooms_credentials(tmp_path, directory):
    password = tmp_path / "mqtt-password"
    password.write_text("wrong\n")
    broker = Mosquitto(tmp_path, anonymous=False).start()
    mqtt = f'[mqtt]\nurl = "{broker.url}"\nusername = "room-h0104"\npassword_file = "{password}"'
    try:
        done = _doctor(tmp_path, _toml(directory.url, None, mqtt), "--json")
    finally:
        broker.stop()
    rows = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert rows["broker"]["status"] == "fail" and "refused" in rows["broker"]["detail"]
    assert "as room-h0104" in rows["broker"]["detail"] and "wrong" not in done.stdout
    assert done.returncode == 1


def test_doctor_refuses_an_invalid_profile_with_78(tmp_path):
    done = _doctor(tmp_path, '[room]\nid = "Not Valid"\n', "--json")
    assert done.returncode == 78
    report = json.loads(done.stdout)
    assert report["ok"] is False and all(c["name"] == "profile" and c["status"] == "fail"
                                         for c in report["checks"])
    assert "room.id" in done.stderr

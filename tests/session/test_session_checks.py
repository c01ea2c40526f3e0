"""``roomagent doctor``'s session rows judged on made-up sway answers (the real ones: test_sway_session.py)."""

from __future__ import annotations

from pathlib import Path

from roomagent.profile import load_profile
from roomagent.session.checks import SessionInfo, check_session, sway_session
from roomagent.session.swayipc import SwayError, SwayWindow, windows

ROOM = """
[room]
id = "r1"
name = "Room"
[directory]
url = "http://127.0.0.1:9"
[meeting]
allowed_hosts = ["127.0.0.1"]
[panel]
output = "DSI-1"
[[screens]]
id = "left"
output = "HDMI-A-1"
[[screens]]
id = "right"
output = "HDMI-A-2"
"""
MAPPED = 'input type:touch map_to_output "DSI-1"\n'


def _profile(tmp_path: Path):
    path = tmp_path / "room.toml"
    path.write_text(ROOM)
    return load_profile(path)


def _window(output: str, title: str = "", app_id: str = "", fullscreen: bool = True) -> SwayWindow:
    return SwayWindow(output, app_id, title, fullscreen, False, (0, 0, 1920, 1080))


GOOD_WINDOWS = [_window("DSI-1", "roomagent panel — Room"), _window("HDMI-A-1", "roomagent screen left"),
                _window("HDMI-A-2", app_id="roomagent-screen-right")]


def _rows(tmp_path, info):
    return {name: (status, detail) for name, status, detail in check_session(_profile(tmp_path), info)}


def test_a_healthy_session_passes(tmp_path) -> None:
    info = SessionInfo("1.7", ["DSI-1", "HDMI-A-1", "HDMI-A-2"], ["ILITEK Multi-Touch"], MAPPED, GOOD_WINDOWS)
    rows = _rows(tmp_path, info)
    assert {name: status for name, (status, _) in rows.items()} == {
        "compositor": "pass", "outputs": "pass", "touch": "pass", "windows": "pass"}
    assert rows["touch"][1] == "ILITEK Multi-Touch mapped to DSI-1"


def test_missing_output_unmapped_touch_and_misplaced_window_fail(tmp_path) -> None:
    info = SessionInfo("1.7", ["DSI-1", "HDMI-A-1"], ["ILITEK Multi-Touch"], 'input type:touch map_to_output "HDMI-A-1"\n',
                       [GOOD_WINDOWS[0], _window("HDMI-A-1", "roomagent screen left", fullscreen=False),
                        GOOD_WINDOWS[2]])
    rows = _rows(tmp_path, info)
    assert rows["outputs"] == ("fail", "not connected or off: right → HDMI-A-2; sway has: DSI-1, HDMI-A-1")
    assert rows["touch"][0] == "fail" and "not to the keypad's output DSI-1" in rows["touch"][1]
    assert rows["windows"] == ("fail", "left not full screen on HDMI-A-1 (nowhere)")


def test_no_touchscreen_no_agent_and_no_sway_are_warnings_or_failures(tmp_path) -> None:
    rows = _rows(tmp_path, SessionInfo("1.7", ["DSI-1", "HDMI-A-1", "HDMI-A-2"], [], MAPPED, []))
    assert rows["touch"][0] == "warn" and rows["windows"][0] == "warn"
    assert _rows(tmp_path, None)["compositor"][0] == "warn"
    assert _rows(tmp_path, SwayError("timeout"))["compositor"] == ("fail", "sway does not answer: timeout")
    assert sway_session(lambda: None) is None


def test_windows_are_read_from_the_tree_with_their_output() -> None:
    tree = {"type": "root", "nodes": [{"type": "output", "name": "__i3", "nodes": []},
                                      {"type": "output", "name": "DSI-1", "nodes": [{"type": "workspace", "nodes": [
                                          {"type": "con", "pid": 7, "name": "roomagent panel — Room", "app_id": "x",
                                           "fullscreen_mode": 1, "focused": True,
                                           "rect": {"x": 0, "y": 0, "width": 800, "height": 480}}],
                                          "floating_nodes": []}]}]}
    assert windows(tree) == [SwayWindow("DSI-1", "x", "roomagent panel — Room", True, True, (0, 0, 800, 480))]

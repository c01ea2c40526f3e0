"""``roomagent demo --offscreen``: the whole story plays itself and leaves its screenshots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from roomagent.demo.runner import plugin_dir


def test_the_offscreen_demo_invites_the_room_and_switches_its_layout(tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    env = {**os.environ, "QTWEBENGINE_DISABLE_SANDBOX": "1", "HOME": str(tmp_path)}
    env.pop("DISPLAY", None)
    done = subprocess.run([sys.executable, "-m", "roomagent", "demo", "--offscreen", str(shots)], env=env,
                          capture_output=True, text=True, timeout=240)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "code redeemed for host 127.0.0.1 by room demo-room" in out
    assert "command set_layout relayed to room demo-room" in out and "state in_meeting -> leaving" in out
    files = {p.name for p in shots.iterdir()}
    assert {"02-in_meeting-screen-main.png", "02-in_meeting-screen-side.png"} <= files
    if plugin_dir() is not None:  # the teacher's clicks in the plugin, each captured
        assert "demo (teacher): the room switched to discussion" in out
        assert {"teacher-1-invite-dialog.png", "teacher-2-code.png", "teacher-3-room-control.png",
                "teacher-4-layout-switched.png", "room-layout-discussion-screen-main.png"} <= files
    else:
        assert "The BBB plugin is not built" in out

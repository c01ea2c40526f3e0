"""The kiosk session's sway configuration, generated from the room profile (roomagent/session/sway.py).

The text is checked line by line for what it must and must not contain; ``sway -C`` (sway's own parser)
checks that sway accepts it, run as an unprivileged user since sway refuses root.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from roomagent.configload import ConfigError
from roomagent.profile import load_profile
from roomagent.session.sway import chromium_app_id, sway_config
from tests.session.session import SWAY_MISSING, run_as_user, scratch

REPO = Path(__file__).resolve().parents[2]

THREE_OUTPUTS = """
[room]
id = "h0104"
name = "Lecture hall H 0104"
[directory]
url = "http://127.0.0.1:9"
[meeting]
allowed_hosts = ["127.0.0.1"]
[panel]
output = "{panel}"
[[screens]]
id = "left"
output = "{left}"
role = "main"
[[screens]]
id = "right"
output = "HEADLESS-3"
role = "side"
"""


def _profile(tmp_path: Path, text: str):
    path = tmp_path / "room.toml"
    path.write_text(text)
    return load_profile(path)


def _three(tmp_path: Path, panel: str = "HEADLESS-1", left: str = "HEADLESS-2"):
    return _profile(tmp_path, THREE_OUTPUTS.format(panel=panel, left=left))


def test_touch_is_mapped_to_the_panel_output_and_every_window_has_its_rule(tmp_path):
    text = sway_config(_three(tmp_path), agent=None)
    lines = text.splitlines()
    assert 'input type:touch map_to_output "HEADLESS-1"' in lines
    assert 'for_window [title="^roomagent panel"] move container to output "HEADLESS-1", fullscreen enable' in lines
    assert ('for_window [title="^roomagent screen left$"] move container to output "HEADLESS-2", '
            "fullscreen enable") in lines
    assert ('for_window [app_id="^roomagent-screen-right$"] move container to output "HEADLESS-3", '
            "fullscreen enable") in lines
    # Chromium windows never take the keyboard (the keypad's) focus.
    assert 'no_focus [app_id="^roomagent-screen-left$"]' in lines
    assert 'assign [app_id="^roomagent-screen-left$"] output "HEADLESS-2"' in lines
    assert chromium_app_id("left") == "roomagent-screen-left"


def test_nothing_leads_out_of_the_kiosk(tmp_path):
    text = sway_config(_three(tmp_path), agent=None)
    settings = [line for line in text.splitlines() if line and not line.startswith("#")]
    # No key or mouse bindings, no bar, no included default config, no X server, no idle daemon.
    assert not [line for line in settings if re.match(r"(bindsym|bindcode|bindswitch|bar|include|exec)\b", line)]
    assert "xwayland disable" in settings and "swaynag_command -" in settings
    assert "floating_modifier none" in settings and "output * dpms on" in settings
    assert any(line.startswith("seat * hide_cursor ") and line.split()[-1].isdigit() for line in settings)
    assert not [line for line in settings if "swayidle" in line]


def test_the_agent_runs_last_and_takes_the_session_with_it(tmp_path):
    text = sway_config(_three(tmp_path), agent="/opt/roomagent/bin/roomagent", config="/etc/roomagent/room.toml")
    assert text.splitlines()[-1] == ('exec sh -c "/usr/bin/env -u WATCHDOG_PID /opt/roomagent/bin/roomagent run '
                                     '--config /etc/roomagent/room.toml; exec swaymsg exit"')


def test_without_a_panel_touch_goes_to_the_first_screen(tmp_path):
    profile = _profile(tmp_path, THREE_OUTPUTS.format(panel="x", left="HDMI-A-1").replace('[panel]\noutput = "x"\n', ""))
    text = sway_config(profile, agent=None)
    assert 'input type:touch map_to_output "HDMI-A-1"' in text and "roomagent panel" not in text


def test_an_output_name_sway_would_misread_is_refused(tmp_path):
    with pytest.raises(ConfigError) as caught:
        sway_config(_three(tmp_path, left='HDMI-1\\", exec rm -rf /'), agent=None)
    assert caught.value.errors == ['screens[0].output: output name \'HDMI-1", exec rm -rf /\' contains characters '
                                   "sway cannot take"]
    with pytest.raises(ConfigError):
        sway_config(_three(tmp_path), agent="/opt/x;reboot")


def test_cli_prints_and_writes_the_configuration(tmp_path):
    room = tmp_path / "room.toml"
    room.write_text(THREE_OUTPUTS.format(panel="DSI-1", left="HDMI-A-1"))
    printed = subprocess.run([sys.executable, "-m", "roomagent", "kiosk-config", "--config", str(room)],
                             capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0 and 'map_to_output "DSI-1"' in printed.stdout, printed.stderr
    target = tmp_path / "run" / "sway.conf"
    written = subprocess.run([sys.executable, "-m", "roomagent", "kiosk-config", "--config", str(room),
                              "--output", str(target)], capture_output=True, text=True, timeout=60)
    assert written.returncode == 0 and target.read_text() == printed.stdout
    room.write_text(THREE_OUTPUTS.format(panel="DSI-1", left="HDMI-A-1").replace('id = "right"', 'id = "Right!"'))
    broken = subprocess.run([sys.executable, "-m", "roomagent", "kiosk-config", "--config", str(room)],
                            capture_output=True, text=True, timeout=60)
    assert broken.returncode == 78 and "screens.1.id" in broken.stderr.replace("[1]", ".1"), broken.stderr


@pytest.mark.skipif(bool(SWAY_MISSING), reason=SWAY_MISSING)
def test_sway_accepts_the_configuration(tmp_path):
    work = scratch()  # readable by the session user, unlike tmp_path
    for profile in (_three(tmp_path), load_profile(REPO / "kiosk" / "room.example.toml")):
        conf = work / "sway.conf"
        conf.write_text(sway_config(profile, agent="/opt/roomagent/bin/roomagent"))
        conf.chmod(0o644)
        done = run_as_user(["sway", "--validate", "--config", str(conf)], work)
        assert done.returncode == 0, done.stderr[-2000:]
    # The check can fail: sway refuses what it does not know.
    conf.write_text("bogus_command 1\n")
    assert run_as_user(["sway", "--validate", "--config", str(conf)], work).returncode != 0
    shutil.rmtree(work)

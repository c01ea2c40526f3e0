"""``roomagent demo``: the whole flow on this machine in one command.

Starts a private mosquitto, the reference directory (memory store, relay on that broker) and a fake
BigBlueButton 3 server (``roomagent.demo.fake_bbb``: join redirects, getJoinUrl, a client page with the
documented layout events and mic buttons) on loopback ports, asks the directory for a code the way a
meeting server does (``POST /meeting`` with its bearer token), prints the code, and runs the kiosk with
a two-screen demo room. With ``--offscreen DIR`` nothing is shown: the demo types a wrong code, then the
real one, switches the layout, mutes the room, writes screenshots of every step to DIR, leaves and exits.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

import httpx

from roomagent.demo.fake_bbb import create_bbb_app, fake_checksum
from roomagent.demo.broker import LocalBroker
from roomagent.serving import run_in_thread as serve_app
from roomagent.profile import RoomProfile

log = logging.getLogger(__name__)

DEMO_MEETING = "demo-lecture"
DEFAULT_OFFSCREEN_DIR = "roomagent-demo"
#: Offscreen script pacing: long enough for pages to paint and snapshots to be written.
STEP_S = 2.5


def start_directory(join_host: str, mqtt_url: str | None = None):
    """The reference directory on a free loopback port (with the meeting-scoped relay when ``mqtt_url``
    names a broker); returns it and the meeting server's token."""
    from roomagent.directory.server.main import run_in_thread as serve_directory
    from roomagent.directory.server.settings import DirectorySettings

    token = secrets.token_urlsafe(24)
    settings = DirectorySettings(
        code_ttl_s=900,
        allowed_join_hosts=[join_host],
        store="memory",
        tokens={"demo-meeting-server": token},
        servers=[{"id": "demo", "name": "Demo meeting server", "url": f"http://{join_host}"}],
        mqtt={"url": mqtt_url} if mqtt_url else {},
    )
    return serve_directory(settings), token


def create_code(directory_url: str, token: str, join_url: str) -> str:
    """What a meeting server does on "invite room": POST its join URL, get a short code back."""
    response = httpx.post(f"{directory_url}/meeting", json={"data": {"join_url": join_url}},
                          headers={"Authorization": f"Bearer {token}"}, timeout=5)
    response.raise_for_status()
    return response.json()["data"]["code"]


def demo_profile(directory_url: str, screens: int, mqtt_url: str | None = None) -> RoomProfile:
    """A demo room: its screens by position, the first carries the room media."""
    return RoomProfile(
        room={"id": "demo-room", "name": "Demo lecture hall", "language": "en"},
        directory={"url": directory_url},
        mqtt={"url": mqtt_url} if mqtt_url else None,
        meeting={"allowed_hosts": ["127.0.0.1"], "display_name": "Demo room"},
        screens=[{"id": ("main", "side", "back")[i] if i < 3 else f"screen{i}", "role": "main" if i == 0
                  else "side", "media": i == 0} for i in range(screens)],
    )


def run_demo(screens: int = 2, offscreen_dir: str | None = None) -> int:
    """Run the demo; returns the kiosk's exit status."""
    import os

    from roomagent.service import run

    if not offscreen_dir and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        offscreen_dir = DEFAULT_OFFSCREEN_DIR
        print(f"No display found: running the demo offscreen; screenshots go to ./{offscreen_dir}/", flush=True)
    broker = LocalBroker().start()
    meeting = serve_app(create_bbb_app())
    directory, token = start_directory("127.0.0.1", broker.url)
    try:
        query = urlencode({"meetingID": DEMO_MEETING, "fullName": "Demo room", "role": "VIEWER"})
        join_url = f"{meeting.url}/bigbluebutton/api/join?{query}&checksum={fake_checksum()}"
        code = create_code(directory.url, token, join_url)
        print("\n" + "=" * 60)
        print(f"  roomagent demo: directory {directory.url}, meeting server {meeting.url}")
        print(f"  Type this code on the panel:   {code}")
        print(f"  Remote control:  roomagent ctl --broker {broker.url} --room demo-room set_layout discussion")
        print(f"                   roomagent ctl --broker {broker.url} --room demo-room mute")
        print(f"                   roomagent ctl --broker {broker.url} --room demo-room show_message 'Hello'")
        print(f"                   roomagent ctl --broker {broker.url} status")
        print("=" * 60 + "\n", flush=True)
        profile = demo_profile(directory.url, screens, broker.url)
        on_started = None
        if offscreen_dir:
            on_started = lambda agent: _script(agent, code)  # noqa: E731
        return run(None, profile=profile, offscreen_dir=offscreen_dir, windowed=True if offscreen_dir else None,
                   on_started=on_started)
    finally:
        directory.stop()
        meeting.stop()
        broker.stop()


def _script(agent, code: str) -> None:
    """Offscreen: play the teacher — a mistyped code, the right one, then Leave — then quit."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from roomagent.core import commands as cmd
    from roomagent.core.codes import ALPHABET, strip_code

    wrong = "".join(ALPHABET[(ALPHABET.index(c) + 1) % len(ALPHABET)] for c in strip_code(code))
    steps = [
        lambda: [agent.panel.type_symbol(c) for c in wrong],
        lambda: agent.panel.clear_code(),
        lambda: [agent.panel.type_symbol(c) for c in strip_code(code)],
        lambda: None,
        lambda: agent.dispatch_command(cmd.SetLayout(layout="discussion")),
        lambda: agent.dispatch_command(cmd.Mute()),
        lambda: agent.dispatch_command(cmd.Leave()),
        lambda: QApplication.instance().quit(),
    ]
    for index, step in enumerate(steps, start=1):
        QTimer.singleShot(int(index * STEP_S * 1000), agent, step)

"""``roomagent demo``: the whole story on this machine in one command.

Starts a private mosquitto, the institution's directory (memory store, relay on that broker), a fake
BigBlueButton 3 (``roomagent.demo.fake_bbb``: checksums, a meeting created with the roomagent plugin,
roles, bbb-web's session check) and the invite service on loopback ports, opens the teacher's meeting
page with the plugin in a window (``roomagent.demo.teacher``) and runs the kiosk with a two-screen demo
room. The teacher clicks **+ → Invite room → Create code** and types the code on the room's panel; the
plugin's Room control then steers the room. With ``--offscreen DIR`` the demo plays the teacher itself
(those clicks, the code on the panel, a layout switch from the Room control), writes screenshots of the
teacher's page and of every room step to DIR, leaves and exits. Without a built plugin (``make plugin``)
it asks the invite service for the code itself, as the plugin would, and says so.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from roomagent.demo.broker import LocalBroker
from roomagent.profile import RoomProfile
from roomagent.serving import run_in_thread as serve_app

log = logging.getLogger(__name__)

DEMO_MEETING = "demo-lecture"
DEMO_INSTITUTION = "demo-university"
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


def start_institution(mqtt_url: str):
    """The directory of the demo's institution, listing itself (codes and the relay live there); returns
    it, its ``/server`` entry and the token it gives this BigBlueButton."""
    from roomagent.directory.server.main import run_in_thread as serve_directory
    from roomagent.directory.server.settings import DirectorySettings
    from roomagent.serving import free_port

    port = free_port()  # chosen first, so that the directory can list its own URL
    url = f"http://127.0.0.1:{port}"
    server = {"id": DEMO_INSTITUTION, "name": "Demo University", "url": url}
    token = secrets.token_urlsafe(24)
    settings = DirectorySettings(code_ttl_s=900, allowed_join_hosts=["127.0.0.1"], store="memory",
                                 tokens={DEMO_INSTITUTION: token}, servers=[server], default_server=DEMO_INSTITUTION,
                                 mqtt={"url": mqtt_url})
    return serve_directory(settings, port=port), server, token


def plugin_dir() -> Path | None:
    """The repository's ``bbb-plugin/`` when it has been built (``make plugin``), else ``None``."""
    folder = Path(__file__).resolve().parents[2] / "bbb-plugin"
    return folder if (folder / "dist" / "manifest.json").is_file() else None


def _signed(base: str, secret: str, call: str, **params: str) -> str:
    from roomagent.invite.checksum import signed_query

    return f"{base}/bigbluebutton/api/{call}?{signed_query(call, params, secret)}"


def run_demo(screens: int = 2, offscreen_dir: str | None = None) -> int:
    """Run the demo; returns the kiosk's exit status."""
    import os

    from roomagent.demo.fake_bbb import create_bbb_app
    from roomagent.invite.main import run_in_thread as serve_invite
    from roomagent.invite.settings import InviteSettings
    from roomagent.service import run

    if not offscreen_dir and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        offscreen_dir = DEFAULT_OFFSCREEN_DIR
        print(f"No display found: running the demo offscreen; screenshots go to ./{offscreen_dir}/", flush=True)
    plugins = plugin_dir()
    secret = secrets.token_hex(16)  # the fake BigBlueButton's API secret: only the demo's invite service knows it
    broker = LocalBroker().start()
    bbb_app = create_bbb_app(secret=secret, plugin_dir=plugins)
    meeting = serve_app(bbb_app)
    directory, server, token = start_institution(broker.url)
    invite = serve_invite(InviteSettings(
        bbb={"url": f"{meeting.url}/bigbluebutton/", "secret": secret},
        directory={"url": directory.url, "default_server": DEMO_INSTITUTION},
        tokens={DEMO_INSTITUTION: token}, access_log=False,
    ))
    bbb_app.state.invite_base = invite.url
    try:
        manifests = [{"url": f"{meeting.url}/plugins/roomagent/manifest.json"}] if plugins else []
        httpx.get(_signed(meeting.url, secret, "create", meetingID=DEMO_MEETING, name="Demo lecture",
                          pluginManifests=json.dumps(manifests)), timeout=5).raise_for_status()
        teacher_url = _signed(meeting.url, secret, "join", meetingID=DEMO_MEETING, fullName="Prof. Ada Lovelace",
                              role="MODERATOR", **{"userdata-bbb_auto_join_audio": "true"})
        code = None if plugins else _invite_without_plugin(meeting.url, secret, invite.url)
        print("\n" + "=" * 72)
        print(f"  roomagent demo: BigBlueButton {meeting.url}, invite service {invite.url},")
        print(f"                  directory {directory.url}")
        if plugins:
            print("  In the teacher's window: + → Invite room → Create code, type the code on the room's")
            print("  panel, then switch the layout or mute the room from the plugin's Room control.")
        else:
            print("  The BBB plugin is not built (`make plugin`): the demo asked the invite service for a")
            print(f"  code itself, as the plugin would. Type it on the panel: {code}")
        print(f"  Over MQTT too:  roomagent ctl --broker {broker.url} --room demo-room status")
        print("=" * 72 + "\n", flush=True)
        profile = demo_profile(directory.url, screens, broker.url)
        keep: list = []

        def on_started(agent) -> None:
            if plugins:
                from roomagent.demo.teacher import TeacherWindow

                window = TeacherWindow(teacher_url)
                keep.append(window)
                window.start()
            if offscreen_dir:
                _script(agent, keep, Path(offscreen_dir), code, invite.url, (meeting.url, secret))

        try:
            return run(None, profile=profile, offscreen_dir=offscreen_dir,
                       windowed=True if offscreen_dir else None, on_started=on_started)
        finally:
            for window in keep:
                if hasattr(window, "stop"):
                    window.stop()
    finally:
        invite.stop()
        directory.stop()
        meeting.stop()
        broker.stop()


def _teacher_session(bbb: tuple[str, str], name: str) -> dict[str, str]:
    """A moderator's session as the plugin presents it: the session token and the JSESSIONID cookie."""
    reply = httpx.get(_signed(*bbb, "join", meetingID=DEMO_MEETING, fullName=name, role="MODERATOR"), timeout=5)
    token = parse_qs(urlsplit(reply.headers["location"]).query)["sessionToken"][0]
    return {"X-Session-Token": token, "Cookie": f"JSESSIONID={reply.cookies['JSESSIONID']}"}


def _invite_without_plugin(bbb_url: str, secret: str, invite_url: str) -> str:
    """Without a built plugin: the invite service's ``POST /invites`` as the plugin makes it."""
    headers = _teacher_session((bbb_url, secret), "Prof. Ada Lovelace (script)")
    reply = httpx.post(f"{invite_url}/invites", json={"server_id": DEMO_INSTITUTION}, headers=headers, timeout=30)
    reply.raise_for_status()
    return reply.json()["code"]


def _script(agent, keep: list, folder: Path, code: str | None, invite_url: str, bbb: tuple[str, str]) -> None:
    """Offscreen: the teacher invites the room through the plugin (or the invite service), the code is
    typed on the panel, the layout is switched from the meeting; then Leave, and quit."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from roomagent.core import commands as cmd
    from roomagent.core.codes import strip_code

    def finish() -> None:
        agent.dispatch_command(cmd.Leave())
        QTimer.singleShot(int(STEP_S * 1000), agent, QApplication.instance().quit)

    if keep:  # the plugin is there: play the teacher in it
        from roomagent.demo.teacher import TeacherScript

        script = TeacherScript(keep[0], agent, folder, finish)
        keep.append(script)
        script.start()
        return

    def switch_layout() -> None:
        headers = _teacher_session(bbb, "Prof. Ada Lovelace (layout)")
        rooms = httpx.get(f"{invite_url}/room", headers=headers, timeout=30).json()["rooms"]
        command = {"invite": rooms[0]["invite"], "command": {"action": "set_layout", "layout": "discussion"}}
        print("demo: set_layout discussion →", httpx.post(f"{invite_url}/room/commands", json=command,
                                                           headers=headers, timeout=30).json(), flush=True)

    # The relay waits for this very process's agent to answer: never block Qt's loop on it.
    steps = [lambda: [agent.panel.type_symbol(c) for c in strip_code(code or "")], lambda: None,
             lambda: threading.Thread(target=switch_layout, name="demo-teacher", daemon=True).start(), finish]
    for index, step in enumerate(steps, start=1):
        QTimer.singleShot(int(index * STEP_S * 1000), agent, step)

"""The built plugin in Debian's Chromium against the whole real chain.

Real parts: the plugin bundle (``npm run build``) and the host shim, loaded by the fake BBB (checksums,
roles, bbb-web's session check, the ``/roomagent-invite/`` proxy); the invite service
(``roomagent.invite``) holding the BBB secret and the directory token; the reference directory with its
meeting-scoped relay on a private mosquitto; the room agent (``tests/plugin/agent_child.py``: the
real ``roomagent.service.run``, offscreen, two screens) that redeems the code the plugin showed, joins
the fake BBB as the room user and obeys the commands the plugin sends.

A moderator clicks **+ → Invite room → Create code**; the code is typed on the room's panel; the room
joins; the teacher's microphone is muted; a layout button in the Room control switches the layout in
both of the room's BBB sessions; Mute changes the room's state. With ``ROOMAGENT_SCREENSHOTS=DIR`` the
test also writes the README's screenshots of both dialogs (``make screenshots``).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from roomagent.directory.server.main import run_in_thread as serve_directory
from roomagent.directory.server.settings import DirectorySettings
from roomagent.invite.main import run_in_thread as serve_invite
from roomagent.invite.settings import InviteSettings
from roomagent.serving import free_port
from tests.control.broker import Mosquitto
from tests.e2e.xvfb import wait_for
from tests.plugin.conftest import BBB_SECRET, FakeBbb, menu_item, open_client

#: Failure guard: the agent starts Chromium for two screens and joins the fake BBB (seconds here).
JOIN_TIMEOUT_MS = 90_000
SERVER = {"id": "uni-a", "name": "University A"}


class Chain:
    """The running invite service, directory, broker and the agent's process."""

    def __init__(self, directory_url: str, agent: subprocess.Popen, agent_log: Path) -> None:
        self.directory_url = directory_url
        self.agent = agent
        self.agent_log = agent_log

    def type_code(self, code: str) -> None:
        """The teacher types ``code`` on the room's panel."""
        assert self.agent.stdin is not None
        self.agent.stdin.write(code + "\n")
        self.agent.stdin.flush()


@pytest.fixture(scope="module")
def chain(fake_bbb: FakeBbb, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    work = tmp_path_factory.mktemp("plugin-e2e")
    broker = Mosquitto(work).start()
    token = secrets.token_urlsafe(24)
    port = free_port()
    directory_url = f"http://127.0.0.1:{port}"
    # The directory lists itself as the institution "uni-a": codes and the relay live there.
    directory = serve_directory(DirectorySettings(
        code_ttl_s=900, allowed_join_hosts=["127.0.0.1"], store="memory", tokens={"bbb-test": token},
        servers=[{**SERVER, "url": directory_url}], mqtt={"url": broker.url},
    ), port=port)
    invite = serve_invite(InviteSettings(
        bbb={"url": f"{fake_bbb.url}/bigbluebutton", "secret": BBB_SECRET},
        directory={"url": directory_url, "default_server": SERVER["id"]},
        tokens={SERVER["id"]: token},
        access_log=False,
    ))
    fake_bbb.app.state.invite_base = invite.url
    home = work / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_CACHE_HOME": str(home / "cache"), "QTWEBENGINE_DISABLE_SANDBOX": "1"}
    env.pop("DISPLAY", None)
    agent_log = work / "agent.log"
    with agent_log.open("w") as log_file:
        agent = subprocess.Popen(
            [sys.executable, "-m", "tests.plugin.agent_child", directory_url, broker.url, str(work / "snapshots")],
            stdin=subprocess.PIPE, stdout=log_file, stderr=subprocess.STDOUT, text=True, env=env,
            cwd=Path(__file__).resolve().parents[2],
        )
    try:
        yield Chain(directory_url, agent, agent_log)
    finally:
        if agent.stdin:
            agent.stdin.close()  # end of input: the child quits the agent cleanly
        try:
            agent.wait(30)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        fake_bbb.app.state.invite_base = None
        invite.stop()
        directory.stop()
        broker.stop()
    assert agent.returncode == 0, agent_log.read_text()


def test_invite_code_room_joins_layout_switched_from_the_plugin(browser: Browser, fake_bbb: FakeBbb,
                                                                 chain: Chain) -> None:
    shots = Path(os.environ["ROOMAGENT_SCREENSHOTS"]) if os.environ.get("ROOMAGENT_SCREENSHOTS") else None
    fake_bbb.create("plugin-e2e", name="Physics 101")
    page = open_client(browser, fake_bbb.join_url("plugin-e2e", "Prof. Ada Lovelace", "MODERATOR"))

    page.click('[data-test="actionsButton"]')
    menu_item(page, "Invite room").click()
    # The directory's own list, through the invite service: the default institution, its URL to confirm.
    expect(page.locator('[data-test="roomagentServerUrl"]')).to_contain_text(chain.directory_url)
    expect(page.locator('[data-test="roomagentServer-uni-a"]')).to_contain_text("University A")
    page.click('[data-test="roomagentCreateCode"]')
    code_box = page.locator('[data-test="roomagentCode"]')
    expect(code_box).to_have_text(re.compile(r"^[0-9A-Z]{3}-[0-9A-Z]{3}-[0-9A-Z]{3}$"))
    code = code_box.inner_text()
    expect(page.locator('[data-test="roomagentCountdown"]')).to_contain_text(re.compile(r"Valid for 1?\d:\d\d"))
    if shots:
        page.screenshot(path=str(shots / "plugin-invite.png"))

    expect(page.locator('[data-test="muteMicButton"]')).to_be_visible()
    chain.type_code(code)

    control = page.locator('[data-test="roomagentRoomControl"]')
    expect(control).to_contain_text("Demo lecture hall", timeout=JOIN_TIMEOUT_MS)
    expect(page.locator('[data-test="roomagentInviteStatus"]')).to_have_attribute("data-status", "joined")
    # The room joined as its own user, not as a clone of the teacher.
    joins = [r for r in fake_bbb.records("join") if r.get("ok") and r.get("meeting") == "plugin-e2e"]
    teacher = next(r for r in joins if r["full_name"] == "Prof. Ada Lovelace")
    room_users = {r["user_id"] for r in joins if r is not teacher}
    assert room_users and teacher["user_id"] not in room_users
    # The inviting teacher's microphone was muted by the plugin, which says so.
    expect(page.locator('[data-test="unmuteMicButton"]')).to_be_visible()
    expect(page.locator('[data-test="roomagentTeacherMuted"]')).to_have_attribute("data-notice", "teacher.muted")
    teacher_mutes = [r for r in fake_bbb.records("mute") if r.get("token") == teacher.get("token")]
    assert len(teacher_mutes) == 1, fake_bbb.records("mute")

    expect(page.locator('[data-test="roomagentLayout-lecture"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator('[data-test="roomagentMicState"]')).to_have_attribute("data-muted", "false")
    page.click('[data-test="roomagentInviteClose"]')  # the teacher is done with the code
    expect(page.locator('[data-test="roomagentInviteDialog"]')).to_have_count(0)
    if shots:
        page.screenshot(path=str(shots / "plugin-room-control.png"))

    page.fill('[data-test="roomagentMessageText"]', "We start in 5 minutes")
    page.click('[data-test="roomagentMessageSend"]')
    expect(page.locator('[data-test="roomagentReply"]')).to_have_text("Done.")

    before = len(fake_bbb.records("layout"))
    page.click('[data-test="roomagentLayout-discussion"]')
    expect(page.locator('[data-test="roomagentReply"]')).to_have_text("Done.")
    expect(page.locator('[data-test="roomagentLayout-discussion"]')).to_have_attribute("aria-pressed", "true")
    # Applied in the room: both of its BBB sessions got the layout event.
    # A server that drops a viewer's getJoinUrl parameters drops sessionName too, so the room's sessions are
    # told apart by their session tokens (each screen is its own session of the room user).
    def switched() -> dict[str, str]:
        room_tokens = {r["token"] for r in fake_bbb.records("join") if r.get("ok") and r.get("user_id") in room_users}
        records = fake_bbb.records("layout")[before:]
        # Each client generation hears its own event name (the early one only CHANGE_ENFORCED_LAYOUT).
        return {r["token"]: r["session_name"] for r in records
                if r.get("event") in fake_bbb.generation.layout_events and r.get("token") in room_tokens}

    sessions = wait_for(lambda: len(switched()) >= 2 and switched(), "both room sessions to switch")
    if fake_bbb.generation.viewer_join_params == "kept":
        assert set(sessions.values()) == {"main", "side"}

    page.click('[data-test="roomagentMute"]')
    expect(page.locator('[data-test="roomagentReply"]')).to_have_text("Done.")
    expect(page.locator('[data-test="roomagentMicState"]')).to_have_attribute("data-muted", "true")

    # Remove the room (two clicks: the first asks to confirm); it leaves and the control says so.
    remove = page.locator('[data-test="roomagentRemoveRoom"]')
    remove.click()
    expect(remove).to_have_text("Click again to remove the room")
    remove.click()
    expect(page.locator('[data-test="roomagentRoomLeft"]')).to_contain_text("has left the meeting",
                                                                           timeout=JOIN_TIMEOUT_MS)
    expect(page.locator('[data-test="roomagentRoom"]')).to_have_count(0)
    page.context.close()

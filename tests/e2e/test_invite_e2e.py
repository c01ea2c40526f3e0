"""The meeting side end to end: a moderator invites the room from BigBlueButton, the installed agent
joins as the room user, the moderator steers it through the invite service.

Real parts: the fake BigBlueButton 3 (checksums, meetings, roles, bbb-web's session check), the invite
service, the reference directory with its relay on a real mosquitto, and ``roomagent run`` under Xvfb
with two monitors, the code typed with xdotool. Once per BigBlueButton generation
(``roomagent/demo/bbb_generations.py``): the identity comes from the session check's headers or, on the
early shape, from its JSON body and ``getMeetings``; where bbb-web drops a viewer's ``getJoinUrl``
parameters the room's screens cannot be told apart by session name, so they are told apart by token
and their layouts are checked as a pair that each screen switched.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from roomagent.demo.bbb_generations import GENERATIONS
from tests.control.broker import Mosquitto
from tests.e2e.room import ROOM_TOML, start_agent
from tests.e2e.xvfb import Xvfb, missing_tools, wait_for
from tests.invite.world import World

pytestmark = [pytest.mark.e2e, pytest.mark.xvfb,
              pytest.mark.skipif(bool(missing_tools()), reason=f"X tools missing: {missing_tools()}")]


@pytest.fixture
def xvfb():
    server = Xvfb().start()
    yield server
    server.stop()


@pytest.fixture(params=list(GENERATIONS))
def world(request, tmp_path):
    broker = Mosquitto(tmp_path).start()
    w = World(broker.url, generation=request.param)
    w.broker = broker
    w.generation = GENERATIONS[request.param]
    yield w
    w.stop()
    broker.stop()


def test_a_moderator_invites_the_room_and_controls_it_from_the_meeting(xvfb, world, tmp_path):
    bbb = world.bbb
    bbb.create("lecture-42")
    teacher = bbb.join("lecture-42", "Prof. Ada", "MODERATOR")
    student = bbb.join("lecture-42", "Student Bob", "VIEWER")

    # A viewer cannot invite; the moderator can.
    refused = world.call("POST", "/invites", student, json={"server_id": "uni-a"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_moderator"
    invite = world.call("POST", "/invites", teacher, json={"server_id": "uni-a"})
    assert invite.status_code == 201, invite.text
    invite = invite.json()

    agent, log = start_agent(xvfb, tmp_path, ROOM_TOML.format(directory=world.directory.url,
                                                              mqtt=f'[mqtt]\nurl = "{world.broker.url}"'))
    try:
        left = xvfb.find_window("roomagent screen left")
        wait_for(lambda: "ready" in log(), "the agent to be ready")
        xvfb.type_text(left, invite["code"].replace("-", "").lower())
        wait_for(lambda: "state joining -> in_meeting" in log(), "the room to be in the meeting")
        ready = wait_for(lambda: len([r for r in bbb.log("ready") if r["meeting"] == "lecture-42"]) >= 2
                         and bbb.log("ready"), "both client pages to enter the meeting")

        # Both screens joined as the room user, not as the teacher.
        joins = {r["token"]: r for r in bbb.log("join") if r["ok"]}
        room_join = next(r for r in joins.values() if r["full_name"] == "Room · University A" and not r["parent"])
        assert room_join["role"] == "VIEWER" and room_join["ext_user_id"].startswith("roomagent-room-")
        teacher_id = joins[teacher.token]["user_id"]
        screens = {r["token"]: joins[r["token"]] for r in ready if r["meeting"] == "lecture-42"}
        assert len(screens) == 2
        if world.generation.viewer_join_params == "kept":
            assert {s["session_name"] for s in screens.values()} == {"left", "right"}
        for screen in screens.values():
            assert screen["user_id"] == room_join["user_id"] != teacher_id
            assert screen["full_name"] == "Room · University A" and screen["role"] == "VIEWER"

        # The moderator sees the room and steers it; the viewer cannot.
        [room] = world.call("GET", "/room", teacher).json()["rooms"]
        assert room["status"] == "joined" and room["room"] == {"id": "h0104", "name": "Lecture hall H 0104"}
        assert room["state"]["meeting"]["id"] == "lecture-42" and room["state"]["layout"] == "lecture"
        command = {"invite": invite["invite"], "command": {"action": "set_layout", "layout": "discussion"}}
        denied = world.call("POST", "/room/commands", student, json=command)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_moderator"
        wanted = {"left": "CAMERAS_ONLY", "right": "PRESENTATION_ONLY"}  # layouts/discussion.toml

        def last_layouts(records) -> dict[str, str]:
            # The last layout each room screen heard, by the event names this generation's client knows.
            last = {}
            for r in records:
                if r["token"] in screens and r["event"] in world.generation.layout_events:
                    last[r["token"]] = r["layout"]
            return last

        if world.generation.viewer_join_params == "stripped":  # the screens apply their layout themselves
            wait_for(lambda: len(last_layouts(bbb.log("layout"))) == 2, "each screen's own first layout")
        before = len(bbb.log("layout"))
        earlier = last_layouts(bbb.log("layout"))
        done = world.call("POST", "/room/commands", teacher, json=command)
        assert done.status_code == 200 and done.json()["status"] == "ok", done.text

        def switched() -> bool:
            after = last_layouts(bbb.log("layout")[before:])
            if world.generation.viewer_join_params == "kept":
                return {screens[t]["session_name"]: v for t, v in after.items()} == wanted
            # No session names: both screens switched (lecture gives each the other one's layout) to the pair.
            return (sorted(after.values()) == sorted(wanted.values())
                    and all(after[t] != earlier.get(t) for t in after))

        wait_for(switched, "the discussion layout on both screens")
        muted = world.call("POST", "/room/commands", teacher, json={**command, "command": {"action": "mute"}})
        assert muted.status_code == 200 and muted.json()["data"] == {"muted": True}, muted.text
        [room] = world.call("GET", "/room", teacher).json()["rooms"]
        assert room["state"]["muted"] is True and room["state"]["layout"] == "discussion"
        assert json.dumps(room).count(invite["code"]) == 1  # the code, once; no join URL, no secret
    finally:
        agent.terminate()
        try:
            status = agent.wait(20)
        except subprocess.TimeoutExpired:
            agent.kill()
            status = None
    assert status == 0, log()
    assert invite["code"] not in log()

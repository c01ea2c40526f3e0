"""The invite service against the fake BigBlueButton, the real directory with its relay, and a stand-in
room on a real mosquitto: who may call, what is created, and every refusal leaving nothing behind."""

from __future__ import annotations

import logging
import secrets
import socket
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from roomagent.core.codes import normalize_code
from tests.invite.room import InvitedRoom
from tests.invite.world import REFUSED, SECRET, TOKEN_A, World, error_of, refused_caller


def _meeting(world: World, **create: str):
    """A fresh running meeting with a moderator and a viewer."""
    meeting = "lecture-" + secrets.token_hex(3)
    world.bbb.create(meeting, **create)
    teacher = world.bbb.join(meeting, "Prof. Ada", "MODERATOR", userdata_bbb_auto_join_audio="true")
    student = world.bbb.join(meeting, "Student Bob", "VIEWER")
    world.bbb.join(meeting, "Dr. Grace (co-moderator)", "MODERATOR")  # a moderator stays when one is removed
    return meeting, teacher, student


def test_a_moderator_gets_a_code_for_a_distinct_room_user(world: World, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    meeting, teacher, _ = _meeting(world)
    before = world.recorder.creations()
    answer = world.call("POST", "/invites", teacher, json={"server_id": "uni-a"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert normalize_code(body["code"]) == body["code"] and body["expires"].endswith("+00:00")
    assert body["server"] == {"id": "uni-a", "name": "University A", "url": world.directory.url}
    assert world.recorder.creations() == before + 1
    # The room redeems the code and follows the join URL: a user of its own, not the teacher.
    join_url = httpx.get(f"{world.directory.url}/meeting", headers={"Code": body["code"]}).json()["data"]["join_url"]
    query = parse_qs(urlsplit(join_url).query)
    assert query["meetingID"] == [meeting] and query["role"] == ["VIEWER"]
    assert query["fullName"] == ["Room · University A"] and query["userID"][0].startswith("roomagent-room-")
    assert query["userdata-bbb_show_public_chat_on_login"] == ["false"]
    assert SECRET not in join_url and len(query["checksum"][0]) == 64  # sha256, signed with the secret
    assert httpx.get(join_url).status_code == 302
    joins = [r for r in world.bbb.log("join") if r["meeting"] == meeting and r["ok"]]
    teacher_join, room_join = joins[0], joins[-1]
    assert room_join["full_name"] == "Room · University A" and room_join["role"] == "VIEWER"
    assert room_join["user_id"] != teacher_join["user_id"] and room_join["ext_user_id"] == query["userID"][0]
    # Neither the secret, the directory token nor the code reached the log.
    assert SECRET not in caplog.text and TOKEN_A not in caplog.text and body["code"] not in caplog.text


def test_servers_come_from_the_default_directory_marked_with_our_tokens(world: World) -> None:
    _, teacher, _ = _meeting(world)
    body = world.call("GET", "/servers", teacher).json()
    assert [(s["id"], s["default"], s["available"]) for s in body["servers"]] == [
        ("uni-a", True, True), ("uni-c", False, True), ("uni-b", False, False)]
    assert body["total"] == 3 and body["page"] == 1
    found = world.call("GET", "/servers", teacher, params={"search": "*B*", "per_page": 1}).json()
    assert [s["id"] for s in found["servers"]] == ["uni-b"] and found["total"] == 1


@pytest.mark.parametrize("who", ["viewer", "no token", "forged token", "no cookie", "kicked", "demoted", "ended"])
def test_only_a_moderator_of_a_running_meeting_may_invite(world: World, who: str) -> None:
    meeting, teacher, student = _meeting(world)
    person, cookie = refused_caller(world, who, meeting, teacher, student)
    before = world.recorder.creations()
    answer = world.call("POST", "/invites", person, cookie=cookie, json={"server_id": "uni-a"})
    assert error_of(answer) == REFUSED[who], answer.text
    assert answer.json()["error"]["message"]
    assert world.recorder.creations() == before  # nothing was created


def test_a_token_of_another_meeting_reaches_only_that_meeting(world: World, broker) -> None:
    _, teacher_a, _ = _meeting(world)
    _, teacher_b, _ = _meeting(world)
    invite = world.call("POST", "/invites", teacher_a, json={"server_id": "uni-a"}).json()
    assert world.call("GET", "/room", teacher_b).json() == {"rooms": []}
    answer = world.call("POST", "/room/commands", teacher_b, json={"invite": invite["invite"],
                                                                   "command": {"action": "mute"}})
    assert error_of(answer) == (404, "room_not_found")


@pytest.mark.parametrize("server_id, expected", [("uni-x", (404, "unknown_server")), ("uni-b", (422, "no_token")),
                                                 ("../meeting", (422, "invalid"))])
def test_an_institution_we_cannot_invite_for_is_refused(world: World, server_id, expected) -> None:
    _, teacher, _ = _meeting(world)
    before = world.recorder.creations()
    answer = world.call("POST", "/invites", teacher, json={"server_id": server_id})
    assert error_of(answer) == expected, answer.text
    assert world.recorder.creations() == before


def test_a_directory_that_is_down_is_said_in_words(broker) -> None:
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    world = World(broker.url, directory={"url": f"http://127.0.0.1:{dead.getsockname()[1]}"})
    try:
        _, teacher, _ = _meeting(world)
        for method, path, body in (("GET", "/servers", None), ("POST", "/invites", {"server_id": "uni-a"})):
            answer = world.call(method, path, teacher, json=body)
            assert error_of(answer) == (502, "directory_unavailable"), answer.text
            assert "cannot be reached" in answer.json()["error"]["message"]
    finally:
        world.stop()
        dead.close()


def test_a_huge_body_is_refused_before_it_is_read(world: World) -> None:
    _, teacher, _ = _meeting(world)
    before = world.recorder.creations()
    # 10 MB announced, a few bytes sent: the answer comes without the rest ever being written.
    with socket.create_connection((world.invite.host, world.invite.port)) as sock:
        sock.sendall(b"POST /invites HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"X-Session-Token: " + teacher.token.encode() + b"\r\nContent-Length: 10485760\r\n\r\n{\"s")
        sock.settimeout(30)  # failure guard only
        answer = b""
        while b"too_large" not in answer and (chunk := sock.recv(4096)):
            answer += chunk  # head and body may come in separate segments
    assert answer.startswith(b"HTTP/1.1 413") and b"too_large" in answer
    # Streamed without a length: cut off at the limit, with the same answer.
    chunks = (b"x" * 65536 for _ in range(16))  # 1 MB, no Content-Length
    answer = world.call("POST", "/invites", teacher, content=chunks, headers={"Content-Type": "application/json"})
    assert error_of(answer) == (413, "too_large")
    assert world.recorder.creations() == before


def test_the_room_is_controlled_through_the_relay_until_it_leaves(world: World, broker) -> None:
    meeting, teacher, student = _meeting(world)
    invite = world.call("POST", "/invites", teacher, json={"server_id": "uni-a"}).json()
    [room] = world.call("GET", "/room", teacher).json()["rooms"]
    assert room["status"] == "waiting" and room["code"] == invite["code"] and room["state"] is None
    command = {"invite": invite["invite"], "command": {"action": "set_layout", "layout": "discussion"}}
    assert error_of(world.call("POST", "/room/commands", teacher, json=command)) == (409, "room_not_joined")
    with InvitedRoom(broker.url) as agent:
        agent.redeem(world.directory.url, invite["code"])
        [room] = world.call("GET", "/room", teacher).json()["rooms"]
        assert room["status"] == "joined" and room["room"] == {"id": agent.room_id, "name": "Lecture Hall 1"}
        assert room["state"]["meeting"]["id"] == meeting
        reply = world.call("POST", "/room/commands", teacher, json={**command, "command": {
            "action": "set_layout", "layout": "discussion", "meeting": "someone-elses"}}).json()
        assert reply["status"] == "ok" and reply["data"]["layout"] == "discussion"
        assert [c["meeting"] for c in _drain(agent)][-1] == meeting  # the caller cannot choose the meeting
        assert error_of(world.call("POST", "/room/commands", student, json=command)) == (403, "not_moderator")
        bad = world.call("POST", "/room/commands", teacher, json={"invite": invite["invite"],
                                                                  "command": {"action": "self_destruct"}})
        assert error_of(bad) == (422, "invalid")
        # The room leaves (its panel's Leave): a command for it is refused in words.
        world.call("POST", "/room/commands", teacher, json={**command, "command": {"action": "leave"}})
        gone = world.call("POST", "/room/commands", teacher, json={**command, "command": {"action": "mute"}})
        assert error_of(gone) == (410, "room_left") and "left" in gone.json()["error"]["message"]
        assert world.call("GET", "/room", teacher).json()["rooms"][0]["status"] == "left"


def _drain(agent: InvitedRoom) -> list[dict]:
    out = []
    while not agent.received.empty():
        out.append(agent.received.get())
    return out


def test_too_many_invitations_are_refused_with_retry_after(broker) -> None:
    world = World(broker.url, limits={"invites_per_minute": 2})
    try:
        _, teacher, _ = _meeting(world)
        for _ in range(2):
            assert world.call("POST", "/invites", teacher, json={"server_id": "uni-a"}).status_code == 201
        answer = world.call("POST", "/invites", teacher, json={"server_id": "uni-a"})
        assert error_of(answer) == (429, "rate_limited") and int(answer.headers["retry-after"]) >= 1
        assert world.recorder.creations() == 2
    finally:
        world.stop()


def test_an_expired_code_is_shown_expired_and_refuses_commands(broker) -> None:
    from tests.directory.helpers import FakeClock

    clock = FakeClock()
    world = World(broker.url, clock=clock)
    try:
        _, teacher, _ = _meeting(world)
        invite = world.call("POST", "/invites", teacher, json={"server_id": "uni-a"}).json()
        clock.advance(301)  # the directory's code_ttl_s is 300
        [room] = world.call("GET", "/room", teacher).json()["rooms"]
        assert room["status"] == "expired" and room["room"] is None
        answer = world.call("POST", "/room/commands", teacher, json={"invite": invite["invite"],
                                                                     "command": {"action": "mute"}})
        assert error_of(answer) == (410, "room_left") and "expired" in answer.json()["error"]["message"]
        redeem = httpx.get(f"{world.directory.url}/meeting", headers={"Code": invite["code"]})
        assert redeem.status_code == 404  # the room cannot use it either
    finally:
        world.stop()

"""The invite service and its directories' relay timing (issue 21 item 3), with the real directory and
relay, a real mosquitto and stand-in rooms that stay silent: a silent room is a ``timeout`` with the
shipped defaults, ``GET /room`` asks about all rooms at once, and a directory without a relay is a
permanent error. Times are never asserted; ``tests/bench/bench_invite_rooms.py`` prints them."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

from roomagent.directory.server.settings import DirectorySettings
from roomagent.invite.settings import DirectoryTarget
from tests.invite.room import InvitedRoom
from tests.invite.world import World, error_of


def _meeting(world: World):
    meeting = "lecture-" + secrets.token_hex(3)
    world.bbb.create(meeting)
    return world.bbb.join(meeting, "Prof. Ada", "MODERATOR")


def test_the_invite_service_waits_longer_for_a_command_than_the_relay_waits_for_the_room() -> None:
    relay_wait = DirectorySettings.model_fields["relay_timeout_s"].default
    assert DirectoryTarget.model_fields["command_timeout_s"].default > relay_wait


def test_a_silent_room_is_a_timeout_with_the_shipped_defaults(world: World, broker) -> None:
    """Both sides at their defaults (relay 10 s). Before: 502 ``directory_unavailable`` ("cannot be
    reached"), the invite service giving up on the directory at the moment the relay gave up on the room."""
    teacher = _meeting(world)
    invite = world.call("POST", "/invites", teacher, json={"server_id": "uni-a"}).json()
    with InvitedRoom(broker.url, answer="silent") as room:
        room.redeem(world.directory.url, invite["code"])
        answer = world.call("POST", "/room/commands", teacher, json={"invite": invite["invite"],
                                                                     "command": {"action": "mute"}})
        assert error_of(answer) == (504, "timeout"), answer.text
        assert "did not answer in time" in answer.json()["error"]["message"]
        assert room.next_command()["action"] == "mute"  # it did reach the room


def test_get_room_asks_about_every_room_at_once(broker) -> None:
    """Three silent rooms, one ``GET /room``: all three reported as not answering, in one answer, and the
    directory was relaying the three ``get_state`` at the same time (before: one after another, so the
    answer took three relay timeouts while the plugin polls every 2 s)."""
    world = World(broker.url, directory_overrides={"relay_timeout_s": 1.0})
    try:
        teacher = _meeting(world)
        invites = [world.call("POST", "/invites", teacher, json={"server_id": "uni-a"}).json() for _ in range(3)]
        rooms = [InvitedRoom(broker.url, answer="silent").__enter__() for _ in invites]
        try:
            for room, invite in zip(rooms, invites, strict=True):
                room.redeem(world.directory.url, invite["code"])
            answer = world.call("GET", "/room", teacher)
            assert answer.status_code == 200, answer.text
            listed = answer.json()["rooms"]
            assert [r["invite"] for r in listed] == [i["invite"] for i in reversed(invites)]  # newest first
            assert [(r["room"]["id"], r["error"]["code"]) for r in listed] == [
                (room.room_id, "timeout") for room in reversed(rooms)]
            assert world.recorder.overlapping("POST", "/meeting/command") == 3
        finally:
            for room in rooms:
                room.__exit__(None, None, None)
    finally:
        world.stop()


def test_a_directory_without_a_relay_is_a_permanent_error_in_words(broker) -> None:
    """The directory answers 501 (no ``[mqtt]``). Before: 503 ``relay_unavailable``, "try again shortly"."""
    world = World(None)
    try:
        teacher = _meeting(world)
        invite = world.call("POST", "/invites", teacher, json={"server_id": "uni-a"}).json()
        with InvitedRoom(broker.url) as room:
            room.redeem(world.directory.url, invite["code"])
            answer = world.call("POST", "/room/commands", teacher, json={"invite": invite["invite"],
                                                                         "command": {"action": "mute"}})
            assert error_of(answer) == (501, "relay_not_configured"), answer.text
            message = answer.json()["error"]["message"]
            assert "no MQTT broker" in message and "try again" not in message.lower()
            assert "retry-after" not in answer.headers
            [listed] = world.call("GET", "/room", teacher).json()["rooms"]
            assert listed["error"]["code"] == "relay_not_configured"
    finally:
        world.stop()


def test_polls_during_a_refresh_share_it(broker) -> None:
    """Two moderators' plugins poll while a silent room's refresh waits for the relay: the second poll
    joins the refresh under way instead of sending the room another command (at most one per invite)."""
    world = World(broker.url, directory_overrides={"relay_timeout_s": 5.0})
    try:
        teacher = _meeting(world)
        co_teacher = world.bbb.join(teacher.meeting, "Dr. Grace", "MODERATOR")
        invite = world.call("POST", "/invites", teacher, json={"server_id": "uni-a"}).json()
        with InvitedRoom(broker.url, answer="silent") as room, ThreadPoolExecutor(2) as pool:
            room.redeem(world.directory.url, invite["code"])
            first = pool.submit(world.call, "GET", "/room", teacher)
            assert room.next_command()["action"] == "get_state"  # the first poll's refresh is waiting now
            second = pool.submit(world.call, "GET", "/room", co_teacher)
            answers = [first.result(), second.result()]
            assert all(a.status_code == 200 and a.json()["rooms"][0]["error"]["code"] == "timeout" for a in answers)
            assert room.received.empty()  # no second get_state
        assert world.recorder.requests.count(("POST", "/meeting/command")) == 1
    finally:
        world.stop()

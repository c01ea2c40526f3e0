"""The dashboard's picture of the fleet, message by message (pure; no broker)."""

from __future__ import annotations

import json

import pytest

from roomagent.fleet.config import RoomEntry
from roomagent.fleet.model import FAILING, HEALTHY, OFFLINE, WARNING, Fleet, describe_event, parse_state
from tests.fleet.conftest import state

MEETING = {"id": "secret-meeting-id", "platform": "bbb", "host": "bbb.example.org", "since": 100.0,
           "join_url": "https://bbb.example.org/join?checksum=SECRET"}


def _fleet(history: int = 5) -> Fleet:
    return Fleet([RoomEntry(id="h0104", name="Hall", building="Main"), RoomEntry(id="never", name="Unused")],
                 history_per_room=history)


def test_a_listed_room_that_never_connected_is_a_problem_and_unlisted_rooms_appear_by_id():
    fleet = _fleet()
    assert fleet.rooms["never"].problems == ["never connected"]
    room = fleet.apply("x-9", "availability", b"online", retained=True, now=10)
    assert room is not None and room.id == "x-9" and not room.listed
    assert room.problems == ["online without state"]
    assert room.since is None  # a retained value: the dashboard does not know since when


def test_problems_offline_error_and_missing_screen():
    fleet = _fleet()
    fleet.apply("h0104", "availability", b"online", retained=True, now=1)
    snap = state("in_meeting", meeting=MEETING, screens=[("left", "loaded"), ("right", "failed")],
                 error={"code": "screen_failed", "message": "right: page failed", "at": 5.0})
    snap["screens"].append({"id": "third", "role": "x", "media": False, "status": "idle", "present": False})
    fleet.apply("h0104", "state", json.dumps(snap).encode(), retained=False, now=2)
    room = fleet.rooms["h0104"]
    assert room.problems == ["error: screen_failed", "screen right failed", "screen third not found"]
    assert room.snapshot.screens_found == 1 and len(room.snapshot.screens) == 3
    assert room.in_meeting
    fleet.apply("h0104", "availability", b"offline", retained=False, now=3)
    assert room.problems[0] == "offline" and room.since == 3 and not room.in_meeting


def test_ordering_puts_offline_then_failing_then_warnings_first_and_counts():
    fleet = _fleet()
    for rid, avail in (("a-ok", b"online"), ("b-off", b"offline"), ("c-err", b"online"), ("d-warn", b"online")):
        fleet.apply(rid, "availability", avail, retained=True, now=1)
        fleet.apply(rid, "state", json.dumps(state()).encode(), retained=True, now=1)
    fleet.apply("c-err", "state", json.dumps(state(error={"code": "join_failed", "message": "m", "at": 1})).encode(),
                retained=False, now=2)
    # A warning (another login took the room's client id) is shown, below errors and offline rooms.
    fleet.apply("d-warn", "state", json.dumps(state(warnings=["client_id_taken_over"])).encode(), retained=False,
                now=3)
    levels = {rid: room.level for rid, room in fleet.rooms.items()}
    assert levels == {"h0104": OFFLINE, "never": OFFLINE, "a-ok": HEALTHY, "b-off": OFFLINE, "c-err": FAILING,
                      "d-warn": WARNING}
    assert fleet.rooms["d-warn"].problems == []  # not an error: alerts and the problem count leave it out
    order = [r.id for r in fleet.ordered()]
    assert order.index("b-off") < order.index("c-err") < order.index("d-warn") < order.index("a-ok")
    assert fleet.counts() == {"rooms": 6, "online": 3, "offline": 3, "in_meeting": 0, "problems": 4, "warnings": 1}


def test_every_change_bumps_the_fleet_version_and_names_the_rooms_changed_after_a_version():
    fleet = _fleet()
    start = fleet.version
    assert fleet.changed_since(start) == []
    fleet.apply("h0104", "availability", b"online", retained=True, now=1)
    mid = fleet.version
    fleet.apply("n-1", "availability", b"online", retained=False, now=2)  # a room not seen before
    fleet.apply("n-1", "availability", b"online", retained=False, now=3)  # no change: no new version
    assert fleet.changed_since(start) == ["h0104", "n-1"] and fleet.changed_since(mid) == ["n-1"]
    assert fleet.rooms["n-1"].born > mid >= fleet.rooms["h0104"].born
    fleet.note("h0104", "alice: Reload screens → ok (done)", now=4)
    assert fleet.changed_since(mid) == ["h0104", "n-1"]


@pytest.mark.parametrize("payload", [b"", b"not json", b"[1,2]", b'{"state": 5, "screens": "x", "meeting": 3}',
                                     b'{"screens": [1, {"id": {"a": 1}}], "sources": [null]}', b"\xff\xfe"])
def test_malformed_state_never_raises_and_shows_as_a_problem(payload):
    fleet = _fleet()
    fleet.apply("h0104", "availability", b"online", retained=True, now=1)
    fleet.apply("h0104", "state", payload, retained=False, now=2)
    room = fleet.rooms["h0104"]
    assert room.problems  # unreadable, or online without a usable state
    assert fleet.ordered()[0].problems


def test_only_the_public_part_of_a_meeting_is_kept():
    snap = parse_state(json.dumps(state("in_meeting", meeting=MEETING)).encode())
    kept = repr(snap)
    assert "bbb.example.org" in kept
    assert "secret-meeting-id" not in kept and "checksum" not in kept


def test_history_is_bounded_and_says_what_changed():
    fleet = _fleet(history=10)
    fleet.apply("h0104", "availability", b"online", retained=True, now=1)
    fleet.apply("h0104", "state", json.dumps(state()).encode(), retained=True, now=1)
    fleet.apply("h0104", "state", json.dumps(state("in_meeting", meeting=MEETING)).encode(), retained=False, now=2)
    texts = [line.text for line in fleet.rooms["h0104"].history]
    assert "state: idle → in_meeting" in texts
    assert "meeting: bbb on bbb.example.org" in texts
    assert "screen left: idle → loaded" in texts
    for i in range(20):
        fleet.apply("h0104", "event", json.dumps({"event": "left", "data": {}}).encode(), retained=False, now=3 + i)
    assert len(fleet.rooms["h0104"].history) == 10


def test_events_are_described_from_fixed_fields_only():
    joined = {"event": "joined", "data": {"meeting": MEETING, "participants": ["Ada Lovelace"]}}
    assert describe_event(json.dumps(joined).encode()) == "joined a meeting (bbb on bbb.example.org)"
    odd = {"event": "chat", "data": {"text": "hello from inside the meeting"}}
    assert describe_event(json.dumps(odd).encode()) == "event chat"
    assert describe_event(b"{") is None and describe_event(b'{"event": 3}') is None
    plugged = {"event": "source_plugged", "data": {"source": {"id": "hdmi1", "name": "HDMI 1", "present": True}}}
    assert describe_event(json.dumps(plugged).encode()) == "input HDMI 1 plugged in"


def test_non_room_topics_and_unchanged_messages_change_nothing():
    fleet = _fleet()
    assert fleet.apply("_ctl", "availability", b"online", retained=False, now=1) is None
    assert fleet.apply("h0104", "command", b"{}", retained=False, now=1) is None
    assert fleet.apply("h0104", "availability", b"online", retained=False, now=1) is not None
    assert fleet.apply("h0104", "availability", b"online", retained=False, now=2) is None
    assert "_ctl" not in fleet.rooms


def test_the_number_of_rooms_is_bounded():
    fleet = Fleet([RoomEntry(id="listed")], max_rooms=3)
    for i in range(10):
        fleet.apply(f"r{i}", "availability", b"online", retained=False, now=1)
    assert sorted(fleet.rooms) == ["listed", "r0", "r1"]
    assert fleet.apply("listed", "availability", b"online", retained=False, now=2) is not None

"""Bulk actions over HTTP (no browser) with a real mosquitto and rooms that answer: the confirmation page
names the building's rooms and their number; confirmed, the command reaches each of them — one
never connected ends in "no reply" — and no room of another building; one audit line per room and one for
the bulk action share an id. Bad input, a missing CSRF token, a stale confirmation and a building outside
the operator's scope send nothing."""

from __future__ import annotations

import re

import httpx
import pytest

from roomagent.fleet.web import create_app
from roomagent.serving import run_in_thread
from tests.fleet.conftest import SimRoom, audit_lines, state
from tests.fleet.scoped import commands, csrf_of, settings_with, signed_in, user, wait_for_rooms

#: h0106 is listed in Main building but never connects.
ONLINE = ("h0104", "h0105", "s2-201", "s2-202")


@pytest.fixture(scope="module")
def rooms(broker):
    made = {rid: SimRoom(broker.port, rid, answer=True).connect(state()) for rid in ONLINE}
    yield made
    for sim in made.values():
        sim.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory, broker):
    # Short: h0106 never answers, and each bulk action on Main building waits this long once.
    return settings_with(tmp_path_factory.mktemp("bulk"), broker.url,
                         [user("alice", "operator"), user("sam", "operator", ["Science 2"]), user("vera", "viewer")],
                         timeout_s=1.0)


@pytest.fixture(scope="module")
def server(settings, rooms):
    with run_in_thread(create_app(settings)) as running:
        wait_for_rooms(running.url, 5, "vera")
        yield running


def _confirmation(client: httpx.Client, **query) -> httpx.Response:
    return client.get("/bulk", params=query)


def _confirmed_form(page: str) -> dict[str, str]:
    """The hidden fields of the confirmation form, as the browser would send them."""
    form = page[page.index('<form method="post" action="/bulk"'):]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[:form.index("</form>")]))


def _acts(settings) -> list[dict]:
    """The audit log's records of actions (sign-ins left out)."""
    return [r for r in audit_lines(settings) if r["what"] not in ("signed in", "signed out", "identify_screens")]


def _sent_since(rooms: dict[str, SimRoom], before: dict[str, int]) -> dict[str, list[dict]]:
    return {rid: commands(sim)[before[rid]:] for rid, sim in rooms.items()}


def test_a_bulk_message_reaches_every_room_of_the_building_and_is_audited(server, settings, rooms):
    before = {rid: len(commands(sim)) for rid, sim in rooms.items()}
    with signed_in(server.url, "alice") as alice:
        choose = alice.get("/bulk").text
        assert "Main building (3 rooms)" in choose and "Science 2 (2 rooms)" in choose
        confirm = _confirmation(alice, building="Main building", action="show_message", text="Fire drill at 10:00",
                                seconds="60")
        assert confirm.status_code == 200
        assert re.search(r'id="bulk-count">3<', confirm.text) and "1 of them is offline now" in confirm.text
        assert all(f'id="bulk-room-{rid}"' in confirm.text for rid in ("h0104", "h0105", "h0106"))
        assert "s2-201" not in confirm.text
        form = _confirmed_form(confirm.text)
        assert form["rooms"] == "h0104 h0105 h0106" and form["text"] == "Fire drill at 10:00"
        assert _sent_since(rooms, before) == {rid: [] for rid in rooms}  # the confirmation page sends nothing

        done = alice.post("/bulk", data=form)
    assert done.status_code == 200
    assert "3 rooms: 2 ok, 1 no reply." in done.text
    sent = _sent_since(rooms, before)
    for rid in ("h0104", "h0105"):
        [command] = sent[rid]
        assert (command["action"], command["text"], command["seconds"]) == ("show_message", "Fire drill at 10:00", 60)
    assert sent["s2-201"] == sent["s2-202"] == []

    records = audit_lines(settings)
    bulk = next(r for r in records if r["what"] == "bulk show_message")
    assert bulk["who"] == "alice" and bulk["outcome"] == "2 ok, 1 no reply"
    assert bulk["request"] == {"building": "Main building", "action": "show_message", "text": "Fire drill at 10:00",
                               "seconds": "60", "rooms": ["h0104", "h0105", "h0106"]}
    assert bulk["reply"] == {"h0104": "ok", "h0105": "ok", "h0106": "no reply"}
    per_room = {r["room"]: r for r in records if r.get("bulk") == bulk["bulk"] and r["what"] == "show_message"}
    assert {rid: r["outcome"] for rid, r in per_room.items()} == bulk["reply"]
    assert per_room["h0104"]["request"]["id"] == sent["h0104"][0]["id"]
    # Each room's own history has it too.
    with signed_in(server.url, "alice") as alice:
        assert "alice: Show a message → ok" in alice.get("/rooms/h0105").text


def test_a_bulk_reload_of_the_operators_own_building(server, settings, rooms):
    before = {rid: len(commands(sim)) for rid, sim in rooms.items()}
    with signed_in(server.url, "sam") as sam:
        choose = sam.get("/bulk").text
        assert "Science 2 (2 rooms)" in choose and "Main building" not in choose
        confirm = _confirmation(sam, building="Science 2", action="reload")
        done = sam.post("/bulk", data=_confirmed_form(confirm.text))
        assert "2 rooms: 2 ok." in done.text
    sent = _sent_since(rooms, before)
    assert [c["action"] for c in sent["s2-201"] + sent["s2-202"]] == ["reload", "reload"]
    assert all("screen" not in c for c in sent["s2-201"])  # every screen
    assert sent["h0104"] == sent["h0105"] == []


def test_what_sends_nothing(server, settings, rooms):
    before = {rid: len(commands(sim)) for rid, sim in rooms.items()}
    audited = len(_acts(settings))
    with signed_in(server.url, "alice") as alice:
        form = _confirmed_form(_confirmation(alice, building="Science 2", action="show_message", text="hello").text)
        # No CSRF token: refused, nothing audited (as for a single room).
        assert alice.post("/bulk", data={**form, "csrf": ""}).status_code == 403
        assert len(_acts(settings)) == audited
        # A confirmation for other rooms than the building has (the configuration changed since).
        stale = alice.post("/bulk", data={**form, "rooms": "s2-201"})
        assert stale.status_code == 409 and "have changed since you confirmed" in stale.text
        # Bad input: on the confirmation step and when posted anyway.
        empty = _confirmation(alice, building="Science 2", action="show_message", text="  ")
        assert empty.status_code == 400 and "Not sent:" in empty.text
        assert alice.post("/bulk", data={**form, "text": ""}).status_code == 400
        nowhere = _confirmation(alice, building="Atlantis", action="reload")
        assert nowhere.status_code == 400 and "There is no building &#39;Atlantis&#39;" in nowhere.text
        other = _confirmation(alice, building="Science 2", action="leave")
        assert other.status_code == 400 and "is not a bulk action" in other.text
    with signed_in(server.url, "sam") as sam:
        token = csrf_of(sam.get("/bulk").text)
        outside = sam.post("/bulk", data={"csrf": token, "building": "Main building", "action": "reload",
                                          "rooms": "h0104 h0105 h0106"})
        assert outside.status_code == 403 and "not on rooms of Main building" in outside.json()["detail"]
        assert _confirmation(sam, building="Main building", action="reload").status_code == 403
    with signed_in(server.url, "vera") as vera:
        token = csrf_of(vera.get("/").text)
        assert vera.post("/bulk", data={"csrf": token, "building": "Science 2", "action": "reload"}).status_code == 403
    # Then one action on each room: the only command any of them got since (nothing above was sent later).
    with signed_in(server.url, "alice") as alice:
        token = csrf_of(alice.get("/").text)
        for rid in rooms:
            marker = alice.post(f"/rooms/{rid}/actions/identify_screens", data={"csrf": token},
                                headers={"hx-request": "true"})
            assert "Identify screens</strong>: ok" in marker.text
    assert {rid: [c["action"] for c in sent] for rid, sent in _sent_since(rooms, before).items()} == \
        {rid: ["identify_screens"] for rid in rooms}
    refused = [(r["who"], r["what"], r["outcome"]) for r in _acts(settings)[audited:]]
    assert refused == [("alice", "bulk show_message", "refused"), ("sam", "bulk reload", "refused"),
                       ("vera", "bulk reload", "refused")]

"""Roles over HTTP (no browser) against a real mosquitto and rooms that answer: a viewer is shown no action
and every action it sends anyway is refused (403) and audited, and reaches no room; an operator scoped to
a building acts there and nowhere else; a user without a role is an operator of every room, as before
roles existed; the roles' config errors name the key and say what to do."""

from __future__ import annotations

import tomllib

import httpx
import pytest

from roomagent.configload import ConfigError
from roomagent.fleet.access import Authenticator, Principal
from roomagent.fleet.config import FleetSettings, load_settings
from roomagent.fleet.web import create_app
from roomagent.serving import run_in_thread
from tests.control.broker import GUARD_S
from tests.fleet.conftest import SimRoom, audit_lines, state
from tests.fleet.scoped import commands, csrf_of, settings_with, signed_in, user, wait_for_rooms
from tests.fleet.test_config import _example_here

ACTION_IDS = ("do-identify", "do-message", "do-reload", "do-leave")


@pytest.fixture(scope="module")
def rooms(broker):
    made = {rid: SimRoom(broker.port, rid, answer=True).connect(state()) for rid in ("h0104", "s2-201", "x-900")}
    yield made
    for sim in made.values():
        sim.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory, broker):
    return settings_with(tmp_path_factory.mktemp("roles"), broker.url,
                         [user("alice"), user("vera", "viewer"), user("sam", "operator", ["Science 2"])])


@pytest.fixture(scope="module")
def server(settings, rooms):
    with run_in_thread(create_app(settings)) as running:
        wait_for_rooms(running.url, 6, "vera")  # the five listed and x-900
        yield running


def _identify(client: httpx.Client, room: str) -> httpx.Response:
    token = csrf_of(client.get("/").text)
    return client.post(f"/rooms/{room}/actions/identify_screens", data={"csrf": token}, headers={"hx-request": "true"})


def test_a_viewer_sees_everything_and_no_action(server):
    with signed_in(server.url, "vera") as vera:
        overview = vera.get("/")
        assert overview.status_code == 200 and 'id="tile-h0104"' in overview.text and 'id="tile-s2-201"' in overview.text
        assert "viewer (read only)" in overview.text and 'id="bulk-link"' not in overview.text
        room = vera.get("/rooms/h0104")
        assert room.status_code == 200 and 'id="room-availability"' in room.text
        assert not any(f'id="{i}"' in room.text for i in ACTION_IDS)
        assert "/actions/" not in room.text
        assert "vera is a viewer: viewers see every room but may not act." in room.text
        assert vera.get("/bulk").status_code == 403


def test_a_forged_action_of_a_viewer_is_refused_audited_and_never_sent(server, settings, rooms):
    before = len(commands(rooms["h0104"]))
    with signed_in(server.url, "vera") as vera:
        token = csrf_of(vera.get("/").text)
        for data in ({"csrf": token}, {}):  # with the session's own token, and without any
            forged = vera.post("/rooms/h0104/actions/identify_screens", data=data, headers={"hx-request": "true"})
            assert forged.status_code == 403 and "viewer" in forged.json()["detail"]
        leave = vera.post("/rooms/h0104/actions/leave", data={"csrf": token, "confirm": "yes"})
        assert leave.status_code == 403
    refused = [r for r in audit_lines(settings) if r["who"] == "vera" and r.get("room") == "h0104"]
    assert [(r["what"], r["outcome"]) for r in refused] == [("identify_screens", "refused")] * 2 + [("leave", "refused")]
    assert all("viewer" in r["why"] and "request" not in r for r in refused)
    # An operator's action afterwards is the only command the room got: nothing of the viewer's was sent.
    with signed_in(server.url, "alice") as alice:
        assert "Identify screens</strong>: ok" in _identify(alice, "h0104").text
    assert [c["action"] for c in commands(rooms["h0104"])[before:]] == ["identify_screens"]


def test_an_operator_of_one_building_acts_only_there(server, settings, rooms):
    with signed_in(server.url, "sam") as sam:
        assert "operator (Science 2)" in sam.get("/").text
        own = sam.get("/rooms/s2-201").text
        assert all(f'id="{i}"' in own for i in ACTION_IDS)
        other = sam.get("/rooms/h0104").text
        assert not any(f'id="{i}"' in other for i in ACTION_IDS)
        assert "sam may act only on rooms of Science 2, not on rooms of Main building." in other
        unlisted = sam.get("/rooms/x-900").text  # on the broker but in no building
        assert "not on rooms that are in no building" in unlisted
        assert "Identify screens</strong>: ok" in _identify(sam, "s2-201").text
        for room in ("h0104", "x-900"):
            refused = _identify(sam, room)
            assert refused.status_code == 403 and "Science 2" in refused.json()["detail"], room
    records = [r for r in audit_lines(settings) if r["who"] == "sam" and r["what"] == "identify_screens"]
    assert [(r["room"], r["outcome"]) for r in records] == [("s2-201", "ok"), ("h0104", "refused"),
                                                            ("x-900", "refused")]
    assert not any(c["action"] == "identify_screens" for c in commands(rooms["x-900"]))


def test_a_user_without_a_role_is_an_operator_of_every_room(server, rooms):
    with signed_in(server.url, "alice") as alice:
        assert "operator (every room)" in alice.get("/").text
        for room in ("h0104", "s2-201", "x-900"):
            assert "Identify screens</strong>: ok" in _identify(alice, room).text, room


def test_a_session_of_a_removed_user_is_signed_out(tmp_path, broker, settings, rooms):
    with run_in_thread(create_app(settings)) as before, signed_in(before.url, "sam") as sam:
        cookie = sam.cookies["fleet_session"]
    fewer = settings.model_copy(update={"auth": settings.auth.model_copy(update={"users": settings.auth.users[:2]})})
    with run_in_thread(create_app(fewer)) as after, httpx.Client(base_url=after.url, timeout=GUARD_S) as client:
        client.cookies.set("fleet_session", cookie)
        assert client.get("/rooms/s2-201").status_code == 401
        assert client.post("/rooms/s2-201/actions/identify_screens", data={"csrf": "x"}).status_code == 401


def test_proxy_mode_roles_come_from_the_users_list_and_default_role(tmp_path, broker, rooms):
    settings = settings_with(tmp_path, broker.url, [user("olga", "operator", ["Science 2"], hashed=False)],
                             mode="proxy", trusted_proxies=["127.0.0.1/32"], default_role="viewer")
    with run_in_thread(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=GUARD_S) as http:
        anyone = http.get("/rooms/s2-201", headers={"X-Remote-User": "carol"})
        assert "viewer (read only)" in anyone.text and 'id="do-identify"' not in anyone.text
        token = csrf_of(anyone.text)
        refused = http.post("/rooms/s2-201/actions/identify_screens", data={"csrf": token},
                            headers={"X-Remote-User": "carol"})
        assert refused.status_code == 403
        olga = http.get("/rooms/s2-201", headers={"X-Remote-User": "olga"})
        assert 'id="do-identify"' in olga.text and "operator (Science 2)" in olga.text


def test_principal_scope_in_words():
    assert Principal("a", "viewer").why_not("Main") == "a is a viewer: viewers see every room but may not act"
    assert Principal("a", "operator").why_not("") == ""
    scoped = Principal("a", "operator", frozenset({"B", "A"}))
    assert scoped.may_act_in("A") and not scoped.may_act_in("C") and not scoped.may_act_in("")
    assert scoped.scope == "operator (A, B)"


# ----- configuration ---------------------------------------------------------------------------------------
def test_the_example_has_each_role_and_no_role_means_operator(tmp_path):
    path = _example_here(tmp_path)
    settings = load_settings(path)
    auth = Authenticator(settings.auth)
    assert [(u.name, u.role, u.buildings) for u in settings.auth.users] == [
        ("alice", "operator", None), ("bob", "operator", ["Science 2"]), ("helpdesk", "viewer", None)]
    data = tomllib.loads(path.read_text())
    for entry in data["auth"]["users"]:
        entry.pop("role")
    old_style = FleetSettings.model_validate(data)
    assert Authenticator(old_style.auth).principal("helpdesk") == Principal("helpdesk", "operator")
    assert auth.principal("bob") == Principal("bob", "operator", frozenset({"Science 2"}))
    assert auth.principal("mallory") is None  # password mode: only listed users have a role


@pytest.mark.parametrize(("entry", "expected"), [
    ('role = "admin"', "auth.users[0].role: Input should be 'viewer' or 'operator'"),
    ('buildings = ["Sience 2"]', "auth: users[0].buildings (alice): no room of [[rooms]] is in 'Sience 2' "
                                 "(the buildings there: 'Main building', 'Science 2')"),
    ('buildings = []', "auth.users[0].buildings: an empty list would let this operator act nowhere"),
    ('role = "viewer"\nbuildings = ["Science 2"]', "auth.users[0]: `buildings` limits what an operator may act on"),
])
def test_role_errors_name_the_key(tmp_path, entry, expected):
    path = _example_here(tmp_path)
    text = path.read_text().replace('password_hash = "$argon2id$v=19$m=65536,t=3,p=4$zZKWVmWj0Kln/KHN+v3p1g$'
                                    'mlCULl2EQEQqYW7jWKOHWmvwEal5PQ5tw0lZHrIxbOQ"\nrole = "operator"\n',
                                    'password_hash = "$argon2id$v=19$m=65536,t=3,p=4$zZKWVmWj0Kln/KHN+v3p1g$'
                                    f'mlCULl2EQEQqYW7jWKOHWmvwEal5PQ5tw0lZHrIxbOQ"\n{entry}\n', 1)
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert any(line.startswith(expected) for line in caught.value.errors), caught.value.errors


def test_password_mode_needs_every_users_hash(tmp_path):
    data = tomllib.loads(_example_here(tmp_path).read_text())
    del data["auth"]["users"][2]["password_hash"]
    with pytest.raises(Exception, match="needs a password_hash for every user \\(missing for helpdesk"):
        FleetSettings.model_validate(data)
    data["auth"].update(mode="proxy", trusted_proxies=["127.0.0.1/32"], default_role="viewer")
    assert FleetSettings.model_validate(data).auth.default_role == "viewer"

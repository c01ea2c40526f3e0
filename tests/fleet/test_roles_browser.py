"""Roles and bulk actions in a real browser (Debian's Chromium through Playwright), with the dashboard as its
own process (``roomagent fleet --config``), a real mosquitto and rooms that are real MQTT clients answering
commands: a viewer is offered no action and a forged one is refused and audited; an operator of one
building sees their scope; a bulk message, confirmed on the page that lists the building's rooms, reaches
the MQTT client of every room of that building and of no other, and is audited per room and as a whole."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleet.conftest import PASSWORD, SimRoom, audit_lines, state
from tests.fleet.scoped import ROOMS, commands, csrf_of, dashboard_process, settings_with, signed_in, user
from tests.fleet.test_browser import GUARD_MS, browser, expect  # noqa: F401  (browser: the module's Chromium)

MAIN = ("h0104", "h0105", "h0106")
SCIENCE = ("s2-201", "s2-202")


@pytest.fixture(scope="module")
def rooms(broker) -> Iterator[dict[str, SimRoom]]:
    made = {r["id"]: SimRoom(broker.port, r["id"], answer=True).connect(state()) for r in ROOMS}
    yield made
    for sim in made.values():
        sim.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory, broker):
    return settings_with(tmp_path_factory.mktemp("roles-browser"), broker.url,
                         [user("alice", "operator"), user("vera", "viewer"), user("sam", "operator", ["Science 2"])])


@pytest.fixture(scope="module")
def dashboard(settings, rooms, tmp_path_factory) -> Iterator[str]:
    with dashboard_process(settings, tmp_path_factory.mktemp("process"), len(ROOMS)) as url:
        yield url


@pytest.fixture
def as_user(browser):  # noqa: F811
    """``as_user(base, name)``: a fresh browser page signed in as ``name``."""
    contexts = []

    def open_page(base: str, name: str):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(GUARD_MS)
        page.goto(base + "/")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(base + "/")
        return page

    yield open_page
    for context in contexts:
        context.close()


def _only_command_since(base: str, rooms: dict[str, SimRoom], before: dict[str, int]) -> dict[str, list[str]]:
    """Send ``identify_screens`` to each room as alice; it must then be the only command each got since
    ``before`` (a command sent earlier by mistake would have arrived first)."""
    with signed_in(base, "alice") as alice:
        token = csrf_of(alice.get("/").text)
        for rid in rooms:
            reply = alice.post(f"/rooms/{rid}/actions/identify_screens", data={"csrf": token}, headers={"hx-request": "true"})
            assert ": ok" in reply.text, reply.text
    return {rid: [c["action"] for c in commands(sim)[before[rid]:]] for rid, sim in rooms.items()}


def test_a_viewer_sees_no_control_and_a_forged_action_is_refused_and_audited(as_user, dashboard, settings, rooms):
    before = {rid: len(commands(sim)) for rid, sim in rooms.items()}
    page = as_user(dashboard, "vera")
    expect(page.locator("#my-role")).to_have_text("viewer (read only)")
    expect(page.locator("#tile-h0104")).to_contain_text("online")
    expect(page.locator("#bulk-link")).to_have_count(0)
    page.click("#tile-h0104 a")
    expect(page.locator("#room-state")).to_have_text("idle")
    expect(page.locator("#no-actions")).to_have_text("vera is a viewer: viewers see every room but may not act.")
    expect(page.locator("section.actions form, section.actions button, section.actions input")).to_have_count(0)

    # What the page does not offer, sent anyway with the session's cookie and CSRF token.
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    forged = page.request.post(dashboard + "/rooms/h0104/actions/show_message",
                               form={"csrf": token, "text": "forged", "seconds": "30"})
    assert forged.status == 403 and "viewer" in forged.json()["detail"]
    forged_bulk = page.request.post(dashboard + "/bulk", form={"csrf": token, "building": "Main building",
                                                                "action": "reload", "rooms": " ".join(MAIN)})
    assert forged_bulk.status == 403
    assert page.request.get(dashboard + "/bulk").status == 403

    refused = [r for r in audit_lines(settings) if r["who"] == "vera" and r["outcome"] == "refused"]
    assert [(r["what"], r.get("room")) for r in refused] == [("show_message", "h0104"), ("bulk reload", None)]
    assert all("viewer" in r["why"] and r["peer"] == "127.0.0.1" for r in refused)
    assert _only_command_since(dashboard, {"h0104": rooms["h0104"]}, before) == {"h0104": ["identify_screens"]}


def test_an_operator_of_one_building_sees_their_scope(as_user, dashboard):
    page = as_user(dashboard, "sam")
    expect(page.locator("#my-role")).to_have_text("operator (Science 2)")
    page.goto(dashboard + "/rooms/h0104")
    expect(page.locator("#no-actions")).to_contain_text("sam may act only on rooms of Science 2")
    expect(page.locator("#do-identify")).to_have_count(0)
    page.goto(dashboard + "/rooms/s2-201")
    expect(page.locator("#do-identify")).to_be_visible()
    page.click("#bulk-link")
    expect(page.locator("#bulk-building option")).to_have_text(["Science 2 (2 rooms)"])


def test_a_bulk_message_reaches_every_room_of_the_building_and_no_other(as_user, dashboard, settings, rooms):
    before = {rid: len(commands(sim)) for rid, sim in rooms.items()}
    page = as_user(dashboard, "alice")
    page.click("#bulk-link")
    page.select_option("#bulk-building", "Main building")
    page.check("#bulk-show_message")
    page.fill("#bulk-text", "The building closes at 18:00")
    page.click("#bulk-review")
    # The confirmation: which rooms, how many; nothing sent yet.
    expect(page.locator("#bulk-count")).to_have_text("3")
    expect(page.locator("#bulk-rooms tbody tr td:first-child")).to_have_text(list(MAIN))
    expect(page.locator("#bulk-message")).to_have_text("The building closes at 18:00")
    assert all(len(commands(sim)) == before[rid] for rid, sim in rooms.items())
    if os.environ.get("ROOMAGENT_SCREENSHOTS"):  # README: `make screenshots`
        page.screenshot(path=str(Path(os.environ["ROOMAGENT_SCREENSHOTS"]) / "fleet-bulk-confirm.png"))
    page.click("#bulk-confirm")
    expect(page.locator("#bulk-result")).to_have_text("3 rooms: 3 ok.")
    for rid in MAIN:
        expect(page.locator(f"#bulk-result-{rid}")).to_contain_text("ok")

    # Every room of Main building: its MQTT client got the command (the reply shown came from it).
    for rid in MAIN:
        [command] = commands(rooms[rid])[before[rid]:]
        assert (command["action"], command["text"], command["seconds"]) == \
            ("show_message", "The building closes at 18:00", 30)
    # No room of Science 2 got anything before the next command sent to it.
    science = {rid: rooms[rid] for rid in SCIENCE}
    assert _only_command_since(dashboard, science, before) == {rid: ["identify_screens"] for rid in SCIENCE}

    records = audit_lines(settings)
    [bulk] = [r for r in records if r["what"] == "bulk show_message"]
    assert bulk["who"] == "alice" and bulk["outcome"] == "3 ok" and bulk["request"]["rooms"] == list(MAIN)
    per_room = [r for r in records if r.get("bulk") == bulk["bulk"] and r["what"] == "show_message"]
    assert sorted((r["room"], r["outcome"], r["who"]) for r in per_room) == [(rid, "ok", "alice") for rid in MAIN]
    assert {r["request"]["id"] for r in per_room} == {commands(rooms[rid])[before[rid]]["id"] for rid in MAIN}
    page.goto(dashboard + "/rooms/h0105")
    expect(page.locator("#history")).to_contain_text("alice: Show a message → ok")

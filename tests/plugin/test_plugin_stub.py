"""The built plugin in Debian's Chromium, against a STUB of the invite service (``stub_invite.py``).

What is real here: the plugin bundle as built by ``npm run build``, the host shim (``bbb-plugin/host/``),
the fake BBB with checksums and roles serving both and proxying ``/roomagent-invite/`` as nginx would.
What is a stub: the invite service and the room (the test plays the room joining and its replies).
The whole real chain (invite service, directory relay, mosquitto, agent) is ``test_plugin_e2e.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from roomagent.serving import run_in_thread
from tests.plugin.conftest import UI_TIMEOUT_MS, FakeBbb, menu_item, open_client
from tests.plugin.stub_invite import StubInvite


@pytest.fixture
def stub(fake_bbb: FakeBbb) -> Iterator[StubInvite]:
    stub = StubInvite()
    running = run_in_thread(stub.app, host="127.0.0.1")
    fake_bbb.app.state.invite_base = running.url
    yield stub
    fake_bbb.app.state.invite_base = None
    running.stop()


def test_invite_then_room_control(browser: Browser, fake_bbb: FakeBbb, stub: StubInvite) -> None:
    fake_bbb.create("stub-1")
    page = open_client(browser, fake_bbb.join_url("stub-1", "Prof. Ada", "MODERATOR"))
    page.click('[data-test="actionsButton"]')
    menu_item(page, "Invite room").click()

    # The default institution is preselected and its URL shown to confirm.
    expect(page.locator('[data-test="roomagentServerUrl"]')).to_contain_text("https://dir.uni-a.example")
    page.click('[data-test="roomagentCreateCode"]')
    code = page.locator('[data-test="roomagentCode"]')
    expect(code).to_have_text(re.compile(r"^\w{3}-\w{3}-\w{3}$"))
    assert code.inner_text() == stub.rooms[0]["code"]
    expect(page.locator('[data-test="roomagentCountdown"]')).to_contain_text(re.compile(r"Valid for \d+:\d\d"))
    # The plugin sent the page's own session token.
    token = page.evaluate("new URLSearchParams(location.search).get('sessionToken')")
    assert token and set(stub.tokens) == {token}

    expect(page.locator('[data-test="muteMicButton"]')).to_be_visible()
    stub.join(stub.rooms[0]["invite"])
    control = page.locator('[data-test="roomagentRoomControl"]')
    expect(control).to_contain_text("Lecture Hall 1")
    # The teacher's microphone was muted by the plugin clicking the client's own button, and it says so.
    expect(page.locator('[data-test="unmuteMicButton"]')).to_be_visible()
    expect(page.locator('[data-test="roomagentTeacherMuted"]')).to_contain_text("your microphone was muted")
    assert [r["kind"] for r in fake_bbb.records("mute")] == ["mute"]

    expect(page.locator('[data-test="roomagentLayout-lecture"]')).to_have_attribute("aria-pressed", "true")
    page.click('[data-test="roomagentLayout-discussion"]')
    expect(page.locator('[data-test="roomagentReply"]')).to_have_text("Done.")
    expect(page.locator('[data-test="roomagentLayout-discussion"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator('[data-test="roomagentLayout-lecture"]')).to_have_attribute("aria-pressed", "false")

    # A room refusal in words; the signal shown as the room reports it.
    expect(page.locator('[data-test="roomagentSignal-hdmi2"]')).to_have_text("no picture")
    page.click('[data-test="roomagentShare-hdmi2"]')
    reply = page.locator('[data-test="roomagentReply"]')
    expect(reply).to_have_text("That input has no picture.")
    expect(reply).to_have_attribute("data-status", "error")

    page.click('[data-test="roomagentShare-hdmi1"]')
    expect(page.locator('[data-test="roomagentSignal-hdmi1"]')).to_have_text("being shared")
    page.click('[data-test="roomagentStopShare"]')
    expect(page.locator('[data-test="roomagentStopShare"]')).to_have_count(0)
    expect(page.locator('[data-test="roomagentSignal-hdmi1"]')).to_have_text("picture")

    page.click('[data-test="roomagentMute"]')
    expect(page.locator('[data-test="roomagentMicState"]')).to_have_attribute("data-muted", "true")
    expect(page.locator('[data-test="roomagentUnmute"]')).to_be_visible()
    assert [c["action"] for c in stub.commands] == ["set_layout", "share_source", "share_source", "stop_share",
                                                    "mute"]
    page.context.close()


def test_directory_down_in_words_german(browser: Browser, fake_bbb: FakeBbb, stub: StubInvite) -> None:
    stub.directory_down = True
    fake_bbb.create("stub-2")
    page = open_client(browser, fake_bbb.join_url("stub-2", "Prof. Bea", "MODERATOR"), locale="de-DE")
    page.click('[data-test="actionsButton"]')
    menu_item(page, "Raum einladen").click()
    expect(page.locator('[data-test="roomagentError"]')).to_have_text(
        "Das Raumverzeichnis ist gerade nicht erreichbar. Versuchen Sie es gleich noch einmal.")
    expect(page.locator('[data-test="roomagentCreateCode"]')).to_be_disabled()
    assert stub.rooms == []
    page.context.close()


def test_viewer_gets_no_invite_item(browser: Browser, fake_bbb: FakeBbb, stub: StubInvite) -> None:
    fake_bbb.create("stub-3")
    page = open_client(browser, fake_bbb.join_url("stub-3", "Student", "VIEWER"))
    # The plugin offers a viewer nothing, so the client shows no "+" at all (availableActions is empty).
    expect(page.locator('[data-test="actionsButton"]')).to_be_hidden()
    expect(menu_item(page, "Invite room")).to_have_count(0)
    page.context.close()


def test_search_pages_and_rate_limit_in_words(browser: Browser, fake_bbb: FakeBbb, stub: StubInvite) -> None:
    fake_bbb.create("stub-4")
    page = open_client(browser, fake_bbb.join_url("stub-4", "Prof. Cy", "MODERATOR"))
    page.click('[data-test="actionsButton"]')
    menu_item(page, "Invite room").click()
    expect(page.locator('[data-test="roomagentPage"]')).to_have_text("Page 1 of 2")
    page.fill('[data-test="roomagentServerSearch"]', "institute")
    expect(page.locator('[data-test="roomagentServer-uni-a"]')).to_have_count(0)
    # A server this BBB holds no token for is listed but cannot be chosen.
    expect(page.locator('[data-test="roomagentServer-inst-03"] input')).to_be_disabled()
    page.click('[data-test="roomagentNextPage"]')
    expect(page.locator('[data-test="roomagentPage"]')).to_have_text("Page 2 of 2")
    expect(page.locator('[data-test="roomagentServerList"] li')).to_have_count(2)
    page.click('[data-test="roomagentServer-inst-07"]')
    expect(page.locator('[data-test="roomagentServerUrl"]')).to_contain_text("https://dir.inst-07.example")

    stub.rate_limited = True
    page.click('[data-test="roomagentCreateCode"]')
    expect(page.locator('[data-test="roomagentError"]')).to_have_text("Too many requests. Try again in 30 seconds.")
    expect(page.locator('[data-test="roomagentCode"]')).to_have_count(0)
    stub.rate_limited = False
    page.click('[data-test="roomagentCreateCode"]')
    code = page.locator('[data-test="roomagentCode"]')
    expect(code).to_have_text(re.compile(r"^\w{3}-\w{3}-\w{3}$"))
    assert [(r["code"], r["server"]["id"]) for r in stub.rooms] == [(code.inner_text(), "inst-07")]
    page.context.close()


def test_reloads_mute_the_teacher_once(browser: Browser, fake_bbb: FakeBbb, stub: StubInvite) -> None:
    fake_bbb.create("stub-5")
    page = open_client(browser, fake_bbb.join_url("stub-5", "Prof. Dee", "MODERATOR"))
    token = page.evaluate("new URLSearchParams(location.search).get('sessionToken')")
    page.click('[data-test="actionsButton"]')
    menu_item(page, "Invite room").click()
    page.click('[data-test="roomagentCreateCode"]')
    expect(page.locator('[data-test="roomagentCode"]')).to_be_visible()

    # Reloaded while the room is on its way: the plugin still knows the invite is this teacher's.
    page.reload()
    page.wait_for_selector("main#layout")
    expect(page.locator('[data-test="muteMicButton"]')).to_be_visible()
    stub.join(stub.rooms[0]["invite"])
    expect(page.locator('[data-test="roomagentTeacherMuted"]')).to_have_attribute("data-notice", "teacher.muted")
    expect(page.locator('[data-test="unmuteMicButton"]')).to_be_visible()

    # Reloaded after the room joined: the control is back, the microphone is not muted a second time.
    page.reload()
    page.wait_for_selector("main#layout")
    expect(page.locator('[data-test="roomagentRoomControl"]')).to_contain_text("Lecture Hall 1")
    expect(page.locator('[data-test="muteMicButton"]')).to_be_visible()
    expect(page.locator('[data-test="roomagentTeacherMuted"]')).to_have_count(0)
    assert len([r for r in fake_bbb.records("mute") if r["token"] == token]) == 1
    page.context.close()


@pytest.mark.parametrize("knob", [
    # The client renders the mute toggle disabled (audio locked, or a change in flight): click() does nothing.
    "fake_audio_locked",
    # The click goes out but the server never confirms it: the toggle does not flip.
    "fake_mute_unconfirmed",
])
def test_a_mute_that_did_not_happen_is_reported_not_muted(browser: Browser, fake_bbb: FakeBbb, stub: StubInvite,
                                                          knob: str) -> None:
    fake_bbb.create("stub-6")
    page = open_client(browser, fake_bbb.join_url("stub-6", "Prof. Eve", "MODERATOR", **{f"userdata-{knob}": "true"}))
    token = page.evaluate("new URLSearchParams(location.search).get('sessionToken')")
    page.click('[data-test="actionsButton"]')
    menu_item(page, "Invite room").click()
    page.click('[data-test="roomagentCreateCode"]')
    expect(page.locator('[data-test="roomagentCode"]')).to_be_visible()
    stub.join(stub.rooms[0]["invite"])
    notice = page.locator('[data-test="roomagentTeacherMuted"]')
    # After the plugin's next poll of /room and its wait for the toggle (MUTE_CONFIRM_MS, 4 s) in vain.
    expect(notice).to_have_attribute("data-notice", "teacher.notMuted", timeout=UI_TIMEOUT_MS)
    expect(notice).to_contain_text("your microphone could not be muted")
    button = page.locator('[data-test="muteMicButton"]')
    expect(button).to_be_disabled() if knob == "fake_audio_locked" else expect(button).to_be_enabled()
    assert [r for r in fake_bbb.records("mute") if r["token"] == token] == []
    clicked = [r for r in fake_bbb.records("mute_unconfirmed") if r["token"] == token]
    assert len(clicked) == (1 if knob == "fake_mute_unconfirmed" else 0)
    page.context.close()


IDENTITY_FAILURE = ("This BigBlueButton server's session check names no user, so the invite service cannot "
                    "tell who you are.")


@pytest.mark.parametrize(("failure", "shown"), [
    # A code the plugin does not know: the service's own sentence.
    ((502, {"error": {"code": "identity_unavailable", "message": IDENTITY_FAILURE}}),
     f"Something went wrong: {IDENTITY_FAILURE}"),
    # A code it knows: its own words, in the user's language.
    ((502, {"error": {"code": "bbb_unavailable", "message": "BigBlueButton cannot be reached right now."}}),
     "BigBlueButton could not confirm who you are right now."),
    # No JSON at all (a proxy's error page): a sentence, not the status.
    ((502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
     "The invite service is not available right now."),
])
def test_service_failures_in_words_never_a_status(browser: Browser, fake_bbb: FakeBbb, stub: StubInvite,
                                                  failure: tuple, shown: str) -> None:
    stub.servers_failure = failure
    fake_bbb.create("stub-7")
    page = open_client(browser, fake_bbb.join_url("stub-7", "Prof. Flo", "MODERATOR"))
    page.click('[data-test="actionsButton"]')
    menu_item(page, "Invite room").click()
    error = page.locator('[data-test="roomagentError"]')
    expect(error).to_contain_text(shown)
    assert "502" not in error.inner_text()
    page.context.close()

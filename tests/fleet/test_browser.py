"""The dashboard in a real browser (Debian's Chromium through Playwright; nothing downloaded): rooms that
publish real retained messages on a real mosquitto change the overview without a reload, an action on a
room's page reaches a real agent (``roomagent run --offscreen``) and shows its reply, a wrong password
is refused, and the audit log has the action. One browser for the module."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from roomagent.fleet.web import create_app
from roomagent.serving import run_in_thread
from tests.control.broker import GUARD_S, Probe, kill_process
from tests.fleet.conftest import PASSWORD, SimRoom, audit_lines, make_settings, state

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect
CHROMIUM = "/usr/bin/chromium"
GUARD_MS = int(GUARD_S * 1000)
REPO = Path(__file__).resolve().parents[2]
MEETING = {"id": "m-1", "platform": "bbb", "host": "bbb.example.org", "since": 1_700_000_000.0}


@pytest.fixture(scope="module")
def settings(tmp_path_factory, broker):
    return make_settings(tmp_path_factory.mktemp("fleet"), broker.url)


@pytest.fixture(scope="module")
def rooms(broker) -> Iterator[dict[str, SimRoom]]:
    """Two rooms online and idle before the dashboard starts (it learns them from retained messages)."""
    made = {rid: SimRoom(broker.port, rid).connect(state("idle")) for rid in ("h0104", "s2-201")}
    yield made
    for room in made.values():
        room.close()


@pytest.fixture(scope="module")
def server(settings, rooms):
    with run_in_thread(create_app(settings), proxy_headers=False) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    expect.set_options(timeout=GUARD_MS)  # a failure guard: expect() returns as soon as the page matches
    with playwright_sync.sync_playwright() as pw:
        # --no-sandbox: the tests run as root, where Chromium's sandbox cannot start (DESIGN.md §5).
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(GUARD_MS)
    yield page
    context.close()


def sign_in(page, base: str, password: str = PASSWORD) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(f"{base}/login?next=/")
    page.fill("input[name=name]", "alice")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_overview_shows_offline_meeting_and_lost_screen_without_reload(page, server, rooms):
    sign_in(page, server.url)
    expect(page).to_have_url(server.url + "/")
    hall, seminar = page.locator("#tile-h0104"), page.locator("#tile-s2-201")
    expect(hall).to_contain_text("online")
    expect(hall).to_contain_text("idle")
    # Room text is text: the inventory name with markup in it shows as typed, nothing is bold.
    expect(seminar.locator(".name")).to_have_text("Seminar <b>201</b>")
    assert seminar.locator("b").count() == 0
    expect(page.locator("#count-online")).to_have_text("2")
    # Proof that nothing below reloads the page: this mark would be gone.
    page.evaluate("window.__noReload = true")
    page.wait_for_function("() => document.querySelector('[sse-connect]') && htmx !== undefined")

    rooms["h0104"].publish_state(state("in_meeting", meeting=MEETING))
    expect(hall).to_contain_text("in a meeting: bbb on bbb.example.org")
    expect(hall).to_have_class("tile meeting")
    expect(page.locator("#count-meeting")).to_have_text("1")

    rooms["h0104"].publish_state(state("in_meeting", meeting=MEETING, screens=[("left", "loaded"), ("right", "failed")]))
    expect(hall).to_contain_text("screen right failed")
    expect(hall.locator(".screens")).to_contain_text("screens 1/2")
    expect(hall).to_have_class("tile problem meeting")
    expect(page.locator("#count-problems")).to_have_text("1")

    rooms["s2-201"].vanish()  # the agent dies: the broker publishes its will
    expect(seminar.locator(".avail")).to_contain_text("offline since")
    expect(seminar).to_have_class("tile offline problem")
    expect(page.locator("#count-offline")).to_have_text("1")
    # Problems first: the offline room is drawn before the others (CSS order, no reload).
    boxes = {rid: page.locator(f"#tile-{rid}").bounding_box() for rid in ("h0104", "s2-201")}
    assert (boxes["s2-201"]["y"], boxes["s2-201"]["x"]) < (boxes["h0104"]["y"], boxes["h0104"]["x"])

    # A room the page has never shown appears, and then follows its own changes.
    newcomer = SimRoom(rooms["h0104"].probe.port, "n-301").connect(state("idle"))
    try:
        expect(page.locator("#tile-n-301")).to_contain_text("idle")
        expect(page.locator("#count-rooms")).to_have_text("3")
        newcomer.publish_state(state("in_meeting", meeting=MEETING))
        expect(page.locator("#tile-n-301")).to_contain_text("in a meeting")
    finally:
        newcomer.close()

    # Changes in quick succession: each replaces the tile, and the replaced tile must already listen
    # when the next one arrives (htmx settles new content later unless told not to): the last one shows.
    for i in range(30):
        rooms["h0104"].publish_state(state("in_meeting", meeting={**MEETING, "host": f"bbb{i}.example.org"}))
    expect(hall).to_contain_text("in a meeting: bbb on bbb29.example.org")

    # The filter hides rooms that do not match id, name or building.
    page.fill("#filter", "science")
    expect(hall).to_be_hidden()
    expect(seminar).to_be_visible()
    assert page.evaluate("window.__noReload") is True


def test_wrong_password_is_refused(page, server, settings):
    sign_in(page, server.url, password="not the password")
    expect(page.locator("#login-error")).to_have_text("Wrong name or password.")
    page.goto(server.url + "/")
    expect(page).to_have_url(f"{server.url}/login?next=/")
    assert any(r["what"] == "sign-in refused" and r["who"] == "alice" for r in audit_lines(settings))


ROOM_TOML = """
[room]
id = "lab-1"
name = "Fleet test room"
[directory]
url = "http://127.0.0.1:9"
[meeting]
allowed_hosts = ["127.0.0.1"]
[mqtt]
url = "{url}"
[[screens]]
id = "main"
"""


@pytest.fixture(scope="module")
def agent(tmp_path_factory, broker) -> Iterator[Path]:
    """The real room agent, offscreen, on the test broker; yields its log file once it is online."""
    folder = tmp_path_factory.mktemp("agent")
    config = folder / "room.toml"
    config.write_text(ROOM_TOML.format(url=broker.url))
    home = folder / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROOMAGENT_", "NOTIFY_SOCKET", "WATCHDOG_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"),
               XDG_CONFIG_HOME=str(home / "config"), QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    log_path = folder / "agent.log"
    with Probe(broker.port) as probe, log_path.open("w") as log:
        probe.subscribe("roomagent/lab-1/availability")
        proc = subprocess.Popen([sys.executable, "-m", "roomagent", "-v", "run", "--offscreen", str(folder / "shots"),
                                 "--config", str(config)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            probe.wait_for(lambda m: m.payload == b"online")
        except AssertionError:
            kill_process(proc)
            raise AssertionError("the agent never came online:\n" + log_path.read_text()[-3000:]) from None
    yield log_path
    proc.terminate()
    try:
        proc.wait(GUARD_S)
    except subprocess.TimeoutExpired:
        kill_process(proc)


def test_action_reaches_the_real_agent_and_its_reply_is_shown(page, server, settings, agent):
    sign_in(page, server.url)
    expect(page.locator("#tile-lab-1")).to_contain_text("online")
    page.click("#tile-lab-1 a")
    expect(page.locator("#room-state")).to_have_text("idle")

    page.click("#do-identify")
    expect(page.locator("#reply-text")).to_contain_text("Identify screens: ok")
    expect(page.locator("#history")).to_contain_text("alice: Identify screens → ok")

    # Leave needs the confirmation box; the idle room then answers with its own error.
    page.uncheck("#leave-confirm")
    page.evaluate("document.getElementById('leave-confirm').required = false")  # what a form without JS could send
    page.click("#do-leave")
    expect(page.locator("#reply-text")).to_contain_text("refused — Tick the box")
    page.check("#leave-confirm")
    page.click("#do-leave")
    expect(page.locator("#reply-text")).to_contain_text("Leave the meeting: error — not_in_meeting")

    records = [r for r in audit_lines(settings) if r.get("room") == "lab-1"]
    identify = next(r for r in records if r["what"] == "identify_screens")
    assert identify["who"] == "alice" and identify["outcome"] == "ok"
    assert identify["reply"] == {"id": identify["request"]["id"], "status": "ok"}
    refused, leave = [r for r in records if r["what"] == "leave"][:2]
    assert refused["outcome"] == "refused" and "Tick the box" in refused["reply"]["message"]  # audited, not sent
    assert leave["reply"]["error"]["code"] == "not_in_meeting"
    # The agent itself handled them (its log names each command's request id).
    log = agent.read_text()
    assert f"remote command identify_screens ({identify['request']['id']})" in log
    assert f"remote command leave ({leave['request']['id']})" in log


SCREENSHOT_ROOMS = [
    ("a0-001", "in_meeting", {}), ("a0-002", "idle", {}), ("a0-003", "in_meeting", {"failed": True}),
    ("a1-101", "idle", {"error": True}), ("a1-102", "in_meeting", {"signal": True}), ("a1-103", "idle", {}),
    ("b2-201", "offline", {}), ("b2-202", "in_meeting", {"warning": True}), ("b2-203", "idle", {}),
]


@pytest.mark.skipif(not os.environ.get("ROOMAGENT_SCREENSHOTS"), reason="README screenshots: set ROOMAGENT_SCREENSHOTS=DIR")
def test_readme_screenshots(page, server, broker, rooms):
    """``ROOMAGENT_SCREENSHOTS=kiosk/screenshots pytest tests/fleet/test_browser.py -k screenshots``: the
    overview and a room's page as the README shows them (simulated rooms with a mix of states)."""
    out = Path(os.environ["ROOMAGENT_SCREENSHOTS"])
    sims = []
    for rid, lifecycle, how in SCREENSHOT_ROOMS:
        sim = SimRoom(broker.port, rid, answer=True)
        screens = [("left", "loaded"), ("right", "failed" if how.get("failed") else "loaded")] \
            if lifecycle == "in_meeting" else None
        sources = [{"id": "hdmi1", "name": "HDMI lectern", "present": True, "signal": bool(how.get("signal"))}]
        snap = state("idle" if lifecycle == "offline" else lifecycle, meeting=MEETING if lifecycle == "in_meeting" else None,
                     screens=screens, sources=sources,
                     error={"code": "directory_unavailable", "message": "the directory did not answer", "at": 1.7e9}
                     if how.get("error") else None,
                     warnings=["this server gives every screen the same session"] if how.get("warning") else None)
        sim.connect(snap)
        sims.append(sim)
        if lifecycle == "offline":
            sim.vanish()
    sim = sims[4]
    sim.event("joined", {"meeting": MEETING})
    sim.event("source_signal", {"source": {"id": "hdmi1", "name": "HDMI lectern", "present": True, "signal": True}})
    sign_in(page, server.url)
    expect(page.locator("#tile-b2-201")).to_contain_text("offline")
    page.screenshot(path=str(out / "fleet-overview.png"), full_page=True)
    page.goto(server.url + "/rooms/a1-102")
    page.fill("#message-text", "We start in 5 minutes")
    page.click("#do-message")
    expect(page.locator("#reply-text")).to_contain_text("Show a message")
    page.screenshot(path=str(out / "fleet-room.png"), full_page=True)
    for sim in sims:
        sim.close()

"""The overview's order, live, in a real browser (Debian's Chromium through Playwright): a tile moves to
its place when its room goes offline, fails, gets a warning or recovers — offline first, then failing,
then warnings, then the rest — in the page's DOM order (what is drawn, tabbed through and read out), not
only at page load. And a change that lands while the page's stream is connecting is shown."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from roomagent.fleet.web import create_app
from roomagent.serving import run_in_thread
from tests.control.broker import GUARD_S
from tests.fleet.conftest import SimRoom, make_settings, signed_in, state
from tests.fleet.test_browser import browser, expect, page, playwright_sync, sign_in  # noqa: F401 (fixtures)

HEALTHY = [f"a{i:02d}" for i in range(1, 11)]
LISTED = ["tile-h0104", "tile-s2-201"]  # in the inventory, never connected: offline, by building
MEETING = {"id": "m-1", "platform": "bbb", "host": "bbb.example.org", "since": 1_700_000_000.0}
ORDER_JS = "() => [...document.querySelectorAll('#tiles > article.tile')].map(e => e.id)"


@pytest.fixture(scope="module")
def rooms(broker) -> Iterator[dict[str, SimRoom]]:
    made = {rid: SimRoom(broker.port, rid).connect(state("idle")) for rid in HEALTHY}
    yield made
    for room in made.values():
        room.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory, broker):
    return make_settings(tmp_path_factory.mktemp("fleet"), broker.url)


@pytest.fixture(scope="module")
def server(settings, rooms):
    with run_in_thread(create_app(settings), proxy_headers=False) as running:
        yield running


def expect_order(page, want: list[str]) -> None:
    """Until the tiles are in this DOM order (a failure guard, not a timing)."""
    try:
        page.wait_for_function(f"(want) => JSON.stringify(({ORDER_JS})()) === JSON.stringify(want)", arg=want)
    except playwright_sync.TimeoutError:
        raise AssertionError(f"tiles in order {page.evaluate(ORDER_JS)}, wanted {want}") from None


def tiles(*ids: str) -> list[str]:
    return [f"tile-{rid}" for rid in ids]


def test_a_tile_moves_to_its_place_when_its_room_goes_offline_fails_or_recovers(page, server, broker, rooms):
    sign_in(page, server.url)
    expect_order(page, LISTED + tiles(*HEALTHY))

    # A room goes offline (its agent dies, the broker publishes the will): first of all (no building).
    rooms["a05"].vanish()
    rest = tiles("a01", "a02", "a03", "a04", "a06", "a07", "a08")
    expect_order(page, tiles("a05") + LISTED + rest + tiles("a09", "a10"))
    expect(page.locator("#tile-a05")).to_have_class("tile offline problem")
    # Drawn first too: top left of the grid.
    first = page.locator("#tile-a05").bounding_box()
    for other in ("#tile-h0104", "#tile-a01"):
        box = page.locator(other).bounding_box()
        assert (first["y"], first["x"]) < (box["y"], box["x"])

    # The last room gets a warning: shown, after offline and failing rooms, before the healthy ones.
    rooms["a10"].publish_state(state("idle", warnings=["client_id_taken_over"]))
    expect_order(page, tiles("a05") + LISTED + tiles("a10") + rest + tiles("a09"))
    expect(page.locator("#tile-a10")).to_have_class("tile warning")
    expect(page.locator("#tile-a10 .warning")).to_have_text("client_id_taken_over")
    expect(page.locator("#count-warnings")).to_have_text("1")

    # Another fails: before the warning.
    rooms["a09"].publish_state(state("in_meeting", meeting=MEETING, screens=[("left", "loaded"), ("right", "failed")]))
    expect_order(page, tiles("a05") + LISTED + tiles("a09", "a10") + rest)

    # It comes back, healthy: back among the healthy rooms, in id order.
    rooms["a05"] = SimRoom(broker.port, "a05").connect(state("idle"))
    expect_order(page, LISTED + tiles("a09", "a10", *HEALTHY[:8]))
    # The filter still works on moved tiles.
    page.check("#only-problems")
    expect(page.locator("#tile-a05")).to_be_hidden()
    expect(page.locator("#tile-a10")).to_be_visible()
    page.uncheck("#only-problems")


def test_a_change_while_the_stream_connects_is_shown(page, server, rooms):
    """The page is rendered, then — before its stream connects — the room joins a meeting and the
    dashboard applies it; the stream, held back until then, must still bring it."""
    with signed_in(server) as client:
        def hold(route):
            rooms["a02"].publish_state(state("in_meeting", meeting=MEETING))
            deadline = time.monotonic() + GUARD_S
            while "bbb on bbb.example.org" not in client.get("/rooms/a02").text:
                assert time.monotonic() < deadline
            route.continue_()

        page.route(re.compile(r"/events"), hold)
        sign_in(page, server.url)
        expect(page.locator("#tile-a02")).to_contain_text("in a meeting: bbb on bbb.example.org")
        page.unroute(re.compile(r"/events"))


def test_a_page_of_an_earlier_run_keeps_one_tile_per_room(page, server, rooms):
    """After a dashboard restart the stream sends every room again as a new tile (hub.py): the page
    replaces its old tiles instead of showing rooms twice, and keeps the order."""
    # The page's stream names another run, as a page rendered before a restart would.
    page.route(re.compile(r"/events"), lambda route: route.continue_(url=route.request.url.replace("run=", "run=0")))
    page.add_init_script("""document.addEventListener('DOMContentLoaded', () => {
      window.__added = 0;
      new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => {
        if (n.nodeType === 1 && n.matches('article.tile')) window.__added++;
      }))).observe(document.getElementById('tiles'), {childList: true});
    });""")
    sign_in(page, server.url)
    expected = page.evaluate(ORDER_JS)
    page.wait_for_function(f"() => window.__added >= {len(expected)}")  # every room came again
    assert page.evaluate(ORDER_JS) == expected  # once each, in order
    page.unroute(re.compile(r"/events"))

"""Nothing is lost between a page and its live stream (over HTTP, no browser): a page names the fleet's
version it shows, and its stream first sends every room that changed after that version. The race is
reproduced deterministically: the change is published *and applied* after the page was rendered and
before its stream connects."""

from __future__ import annotations

import queue
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from roomagent.fleet.web import create_app
from roomagent.serving import run_in_thread
from tests.bench.fleet_sim import SseReader
from tests.control.broker import GUARD_S
from tests.fleet.conftest import SimRoom, make_settings, signed_in, state

MEETING = {"id": "m-1", "platform": "bbb", "host": "bbb.example.org", "since": 1_700_000_000.0}


@pytest.fixture(scope="module")
def hall(broker) -> Iterator[SimRoom]:
    room = SimRoom(broker.port, "h0104").connect(state("idle"))
    yield room
    room.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, broker, hall):
    with run_in_thread(create_app(make_settings(tmp_path_factory.mktemp("fleet"), broker.url))) as running:
        yield running


def stream_path(html: str) -> str:
    """The page's live stream, as htmx connects it."""
    return re.search(r'sse-connect="([^"]+)"', html).group(1).replace("&amp;", "&")


def wait_for(client: httpx.Client, path: str, text: str) -> None:
    """Until a fresh render of ``path`` contains ``text``: the dashboard has applied the change."""
    deadline = time.monotonic() + GUARD_S  # a failure guard
    while text not in client.get(path).text:
        assert time.monotonic() < deadline, f"{path} never showed {text!r}"
        time.sleep(0.05)


def first_event(client: httpx.Client, path: str, predicate) -> tuple[str, str]:
    """The first event on the stream at ``path`` that matches ``predicate(name, data)``."""
    reader = SseReader(httpx.Client(base_url=client.base_url, cookies=client.cookies), path, guard_s=GUARD_S)
    reader.start()
    try:
        deadline = time.monotonic() + GUARD_S
        while True:
            _, name, data = reader.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if predicate(name, data):
                return name, data
    except queue.Empty:
        raise AssertionError(f"no such event on {path}") from None
    finally:
        reader.client.close()


def test_a_change_between_rendering_and_connecting_the_stream_is_sent(server, broker, hall):
    with signed_in(server) as client:
        overview = stream_path(client.get("/").text)
        room_page = stream_path(client.get("/rooms/h0104").text)
        assert re.fullmatch(r"/events\?v=\d+&run=[0-9a-f]+", overview)
        # Between the render and the stream: the room joins a meeting, a room never seen before appears.
        hall.publish_state(state("in_meeting", meeting=MEETING))
        newcomer = SimRoom(broker.port, "n-77").connect(state("idle"))
        try:
            wait_for(client, "/rooms/h0104", "bbb on bbb.example.org")
            wait_for(client, "/", 'id="tile-n-77"')
            first_event(client, overview, lambda name, data: name == "tile-h0104" and "in a meeting" in data)
            first_event(client, overview, lambda name, data: name == "new-tile" and 'id="tile-n-77"' in data)
            first_event(client, room_page, lambda name, data: name == "room" and "in meeting" in data)
        finally:
            newcomer.close()
            hall.publish_state(state("idle"))


def test_a_page_of_an_earlier_run_gets_every_room_again(server):
    with signed_in(server) as client:
        # The dashboard restarted since the page was rendered: its version means nothing here.
        first_event(client, "/events?v=5&run=0ld0ld00",
                    lambda name, data: name == "new-tile" and 'id="tile-h0104"' in data)


def test_a_malformed_version_is_refused(server):
    with signed_in(server) as client:
        for bad in ("abc", "-1"):
            response = client.get(f"/events?v={bad}")
            assert response.status_code == 422 and "v" in response.text


def test_long_room_text_is_cut_with_a_mark_and_kept_whole_in_the_title(server, hall):
    long = "the page <b>failed</b> " + "x" * 400 + " END"
    hall.publish_state(state("idle", error={"code": "screen_failed", "message": long, "at": 1.0},
                             warnings=["w" * 150]))
    with signed_in(server) as client:
        wait_for(client, "/", "screen_failed")
        tile = re.search(r'<article id="tile-h0104".*?</article>', client.get("/").text, re.S).group(0)
        escaped = long.replace("<", "&lt;").replace(">", "&gt;")
        # The tile shows the start of the message, an ellipsis, and the whole message in the title.
        shown = re.search(r'<p class="error">screen_failed: <span class="clipped" title="([^"]*)">([^<]*)</span>',
                          tile)
        assert shown is not None, tile
        assert shown.group(1) == escaped and shown.group(2).endswith("…") and "END" not in shown.group(2)
        assert f'<span class="clipped" title="{"w" * 150}">{"w" * 99}…</span>' in tile
        assert "<b>" not in tile  # room text stays text, in the title too
        # The room's page has more room, and marks its cut the same way.
        detail = client.get("/rooms/h0104").text
        assert f'title="{escaped}"' in detail and "END" not in re.sub(r'title="[^"]*"', "", detail)
    hall.publish_state(state("idle"))

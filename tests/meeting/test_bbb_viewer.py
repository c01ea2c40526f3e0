"""The room user is a VIEWER (issue 20): on every BBB generation each screen ends with its layout, only the
media screen in audio, and the room's style — whether bbb-web kept the screen's getJoinUrl parameters
(PR #22943, CURRENT) or dropped them silently (PR #21836 alone: MIDDLE, EARLY)."""

from __future__ import annotations

import pytest

from roomagent.core import commands as cmd
from roomagent.demo.bbb_generations import CURRENT, EARLY, MIDDLE
from tests.demo.generation_servers import bbb_of
from tests.meeting.conftest import WAIT_MS, command, join, wait_log

#: What a test can see of one screen's client page: its enforced layout, whether it is in audio with the
#: microphone, and whether the room's style hides the poll box.
PAGE_STATE = """(() => {
  const layout = document.getElementById('layout');
  const poll = document.querySelector('[data-test="pollingContainer"]');
  return {layout: layout ? layout.dataset.enforcedLayout : null,
          mic: !!document.querySelector('[data-test="muteMicButton"], [data-test="unmuteMicButton"]'),
          styled: !!poll && getComputedStyle(poll).display === 'none'};
})()"""


def wait_pages(qtbot, room, want: dict[str, dict]) -> None:
    """Wait until every screen's page shows ``want[screen]`` (see :data:`PAGE_STATE`)."""
    latest: dict[str, object] = {}
    asked: set[str] = set()

    def ask(screen: str) -> None:
        def got(value, error) -> None:
            asked.discard(screen)
            latest[screen] = value if error is None else error
        asked.add(screen)
        room.windows[screen].session.run_json(PAGE_STATE, got)

    def done() -> bool:
        for screen in want:
            if screen not in asked:
                ask(screen)
        return all(latest.get(s) == w for s, w in want.items())

    try:
        qtbot.waitUntil(done, timeout=WAIT_MS)
    except qtbot.TimeoutError:
        raise AssertionError(f"pages show {latest}, wanted {want}") from None


LECTURE = {"left": {"layout": "PRESENTATION_ONLY", "mic": True, "styled": True},
           "right": {"layout": "CAMERAS_ONLY", "mic": False, "styled": True}}


@pytest.mark.parametrize("generation", [MIDDLE, EARLY, CURRENT], ids=lambda g: g.name)
def test_each_screen_gets_its_layout_audio_and_style_on_every_generation(qtbot, make_room, request, generation):
    server = bbb_of(request, generation)
    room = make_room()
    join(qtbot, room, server.join_url("m1"))
    minted = [r for r in server.log("getJoinUrl") if r["ok"]]
    assert len(minted) == 2
    # What the server kept is visible in the signed URL: nothing of a VIEWER's on MIDDLE/EARLY.
    kept = [("enforceLayout=" in r["url"], "userdata-bbb_auto_join_audio" in r["url"]) for r in minted]
    assert kept == [(generation is CURRENT,) * 2] * 2
    wait_pages(qtbot, room, LECTURE)
    qtbot.waitUntil(lambda: room.state.muted is False, timeout=WAIT_MS)  # the adapter sees the media mic
    # A layout switch reaches the pages the same way, whichever generation.
    assert command(qtbot, room, cmd.SetLayout(id="v1", layout="discussion")).ok
    wait_pages(qtbot, room, {"left": {**LECTURE["left"], "layout": "CAMERAS_ONLY"},
                             "right": {**LECTURE["right"], "layout": "PRESENTATION_ONLY"}})


def test_a_side_screen_that_inherited_auto_join_leaves_audio(qtbot, make_room, request):
    # The room user's own join asked for audio; on a stripped server every screen inherits that and the
    # client joins them all: only the media screen may stay (a second open microphone echoes).
    server = bbb_of(request, MIDDLE)
    room = make_room()
    join(qtbot, room, server.join_url("m1", userdata={"bbb_auto_join_audio": "true"}))
    wait_pages(qtbot, room, LECTURE)
    [left] = wait_log(qtbot, server, "leave_audio")
    assert left["token"] in room.windows["right"].session.url
    assert room.state.muted is False  # the media screen kept its microphone


def test_layout_by_reload_on_a_stripped_server_comes_back_with_the_new_layout(qtbot, make_room, request):
    # A reload mints new sessions, which lose their layout again: the page's script must carry the new one.
    server = bbb_of(request, MIDDLE)
    room = make_room(options={"layout_method": "reload"})
    join(qtbot, room, server.join_url("m1"))
    wait_pages(qtbot, room, LECTURE)
    reply = command(qtbot, room, cmd.SetLayout(id="v2", layout="discussion"))
    assert reply.ok and reply.data["method"] == "reload"
    wait_pages(qtbot, room, {"left": {**LECTURE["left"], "layout": "CAMERAS_ONLY"},
                             "right": {**LECTURE["right"], "layout": "PRESENTATION_ONLY"}})

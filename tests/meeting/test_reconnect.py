"""The meeting host goes away mid-meeting and comes back: the screens say "Reconnecting…", then the room
joins again with the same link; if the meeting ended meanwhile, the room goes idle and says so."""

from __future__ import annotations

import pytest

from roomagent.core.state import ErrorKind, Lifecycle
from roomagent.demo.fake_bbb import create_bbb_app
from roomagent.serving import run_in_thread
from tests.demo.fixtures import BbbServer
from tests.meeting.conftest import join, wait_log

#: The probe runs every PROBE_EVERY_S and needs two misses; the guard is far above that.
OUTAGE_WAIT_MS = 60_000


@pytest.fixture
def outage_bbb():
    """A fake BBB of this test's own, which the test stops and starts again on the same port."""
    app = create_bbb_app()
    running = run_in_thread(app)
    server = BbbServer(running, app)
    holder = {"server": server}

    def restart() -> None:
        holder["server"].running = run_in_thread(app, port=server.port)

    server.restart = restart
    yield server
    holder["server"].running.stop()


def test_outage_shows_reconnecting_and_the_room_rejoins(qtbot, make_room, outage_bbb):
    room = make_room()
    join(qtbot, room, outage_bbb.join_url("m9"))
    wait_log(qtbot, outage_bbb, "ready", 2)
    outage_bbb.running.stop()
    qtbot.waitUntil(lambda: room.state.reconnecting, timeout=OUTAGE_WAIT_MS)
    assert all(w.notice_text == "Reconnecting…" for w in room.windows.values())
    assert room.state.snapshot()["reconnecting"] is True

    outage_bbb.restart()
    qtbot.waitUntil(lambda: not room.state.reconnecting and room.state.lifecycle is Lifecycle.IN_MEETING,
                    timeout=OUTAGE_WAIT_MS)
    assert all(w.notice_text is None for w in room.windows.values())
    # Joined again: two fresh sessions with their layouts, each entered by its own page.
    ready = wait_log(qtbot, outage_bbb, "ready", 4)
    assert len({r["token"] for r in ready}) == 4
    assert room.state.layout == "lecture" and room.state.error is None


def test_meeting_that_ended_during_the_outage_returns_the_room_to_idle(qtbot, make_room, outage_bbb):
    room = make_room()
    join(qtbot, room, outage_bbb.join_url("m10"))
    outage_bbb.running.stop()
    qtbot.waitUntil(lambda: room.state.reconnecting, timeout=OUTAGE_WAIT_MS)
    outage_bbb.app.state.fake.end("m10")  # the moderator ended it while the room could not hear
    outage_bbb.restart()
    qtbot.waitUntil(lambda: room.state.lifecycle is Lifecycle.IDLE, timeout=OUTAGE_WAIT_MS)
    assert room.state.error.kind is ErrorKind.MEETING_ENDED
    assert all(w.session is None and w.notice_text is None for w in room.windows.values())

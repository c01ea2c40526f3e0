"""Issue 12 item 6 on the Chromium engine: a screen whose renderer crashed until the session gave up is
``failed``; a moderator's ``reload`` brings the meeting back and clears the failure (the QtWebEngine
twin is tests/app/test_screen_recovery.py)."""

from __future__ import annotations

import functools

from roomagent.app import RoomAgent
from roomagent.core import commands as cmd
from roomagent.core.state import Lifecycle, ScreenStatus
from roomagent.directory.client import DirectoryClient
from roomagent.profile import RoomProfile
from roomagent.ui.chromium.session import ChromiumSession
from roomagent.ui.lockdown import CRASH_LIMIT
from tests.app.conftest import WAIT_MS, new_code


def test_a_reload_after_the_chromium_renderer_gave_up_clears_the_failure(qtbot, directory, meeting,
                                                                        chromium_options):
    profile = RoomProfile(room={"id": "t1", "name": "Test room"}, directory={"url": directory.url},
                          meeting={"allowed_hosts": ["127.0.0.1"]}, kiosk={"engine": "chromium"},
                          screens=[{"id": "left", "media": True}])
    agent = RoomAgent.from_profile(profile, lambda: DirectoryClient(profile.directory.url), windowed=True,
                      session_factory=functools.partial(ChromiumSession, options=chromium_options))
    agent.start()
    try:
        for symbol in new_code(directory.url, f"{meeting.url}/meeting/chromium-recovery").replace("-", ""):
            agent.panel.type_symbol(symbol)
        qtbot.waitUntil(lambda: agent.state.lifecycle is Lifecycle.IN_MEETING, timeout=WAIT_MS)
        session = agent.windows["left"].session
        for _ in range(CRASH_LIMIT - 1):
            with qtbot.waitSignals([session.crashed, session.loaded], timeout=WAIT_MS, order="strict"):
                session._send("Page.crash", {})
        with qtbot.waitSignal(session.gave_up, timeout=WAIT_MS):
            session._send("Page.crash", {})
        qtbot.waitUntil(lambda: agent.state.screen("left").status is ScreenStatus.FAILED, timeout=WAIT_MS)
        assert agent.state.snapshot()["error"]["code"] == "screen_failed"
        with qtbot.waitSignal(session.loaded, timeout=WAIT_MS, check_params_cb=lambda ok, url: ok):
            agent.dispatch_command(cmd.Reload(id="r1"), origin="mqtt:test")
        qtbot.waitUntil(lambda: agent.state.screen("left").status is ScreenStatus.LOADED, timeout=WAIT_MS)
        assert agent.state.error is None and agent.state.lifecycle is Lifecycle.IN_MEETING
    finally:
        agent.stop()

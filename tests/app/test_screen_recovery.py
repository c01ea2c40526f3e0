"""Issue 12 item 6 against a real page: a screen whose renderer crashed until the window gave up is
``failed`` with ``error.code screen_failed``; a moderator's ``reload`` brings the meeting back, and with
it the screen's status and the room's error."""

from __future__ import annotations

import os
import signal

from roomagent.core import commands as cmd
from roomagent.core.state import Lifecycle, ScreenStatus
from roomagent.ui.lockdown import CRASH_LIMIT
from tests.app.conftest import WAIT_MS, new_code, type_code


def test_a_reload_that_shows_the_meeting_again_clears_the_failure(qtbot, make_agent, directory, meeting):
    agent = make_agent(directory.url)
    type_code(qtbot, agent, new_code(directory.url, f"{meeting.url}/meeting/recovery"))
    qtbot.waitUntil(lambda: agent.state.lifecycle is Lifecycle.IN_MEETING, timeout=WAIT_MS)
    session = agent.windows["left"].session
    for _ in range(CRASH_LIMIT - 1):  # crashes the window still reloads from
        with qtbot.waitSignals([session.crashed, session.loaded], timeout=WAIT_MS, order="strict"):
            os.kill(session.renderer_pid, signal.SIGKILL)
    with qtbot.waitSignal(session.gave_up, timeout=WAIT_MS):
        os.kill(session.renderer_pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: agent.state.screen("left").status is ScreenStatus.FAILED, timeout=WAIT_MS)
    assert agent.state.snapshot()["error"]["code"] == "screen_failed"

    replies = []
    agent.remote_reply.connect(replies.append)
    with qtbot.waitSignal(session.loaded, timeout=WAIT_MS, check_params_cb=lambda ok, url: ok):
        agent.dispatch_command(cmd.Reload(id="r1"), origin="mqtt:test")
    assert replies and replies[0].ok
    qtbot.waitUntil(lambda: agent.state.screen("left").status is ScreenStatus.LOADED, timeout=WAIT_MS)
    assert agent.state.error is None and agent.state.snapshot()["error"] is None
    assert agent.state.lifecycle is Lifecycle.IN_MEETING
    assert agent.windows["left"].notice_text is None  # "cannot show the meeting" is gone too

"""The pure decisions behind the kiosk lockdown, checked without starting Chromium."""

from __future__ import annotations

from datetime import datetime

import pytest

from roomagent.ui.i18n import tr
from roomagent.ui.idle_card import ms_until_next_minute
from roomagent.ui.lockdown import (
    CRASH_LIMIT,
    CRASH_WINDOW_S,
    CrashBudget,
    navigation_verdict,
    remote_debugging_setting,
)

ALLOWED = ["bbb.example.org", "*.scalelite.example.org"]


@pytest.mark.parametrize(
    ("url", "main_frame", "verdict"),
    [
        ("https://bbb.example.org/html5client/join?sessionToken=x", True, None),
        ("http://BBB.example.org:8080/", True, None),
        ("https://lb1.scalelite.example.org/bigbluebutton/api/join", True, None),
        ("https://scalelite.example.org/", True, "navigation"),  # wildcard excludes the bare domain
        ("https://evil.example.com/", True, "navigation"),
        ("https://bbb.example.org.evil.com/", True, "navigation"),
        ("file:///etc/hostname", True, "file"),
        ("FILE:///etc/passwd", False, "file"),
        ("data:text/html,<h1>hi</h1>", True, "navigation"),
        ("data:text/html,<h1>hi</h1>", False, "navigation"),
        ("javascript:alert(1)", True, "navigation"),
        ("blob:https://bbb.example.org/1234", True, "navigation"),
        ("chrome://crash", True, "navigation"),
        ("view-source:https://bbb.example.org/", True, "devtools"),
        ("devtools://devtools/bundled/inspector.html", True, "devtools"),
        ("about:blank", False, None),
        ("about:srcdoc", False, None),
        ("about:blank", True, "navigation"),
        ("ftp://bbb.example.org/", True, "navigation"),
    ],
)
def test_navigation_verdict(url: str, main_frame: bool, verdict: str | None) -> None:
    assert navigation_verdict(url, main_frame=main_frame, allowed_hosts=ALLOWED) == verdict


def test_crash_budget_gives_up_on_the_limit_within_the_window() -> None:
    now = [1000.0]
    budget = CrashBudget(clock=lambda: now[0])
    verdicts = []
    for _ in range(CRASH_LIMIT):
        verdicts.append(budget.record())
        now[0] += 1.0
    assert verdicts == [True] * (CRASH_LIMIT - 1) + [False]
    assert budget.recent == CRASH_LIMIT


def test_crash_budget_forgets_crashes_outside_the_window() -> None:
    now = [0.0]
    budget = CrashBudget(clock=lambda: now[0])
    for _ in range(CRASH_LIMIT * 3):
        assert budget.record() is True
        now[0] += CRASH_WINDOW_S / (CRASH_LIMIT - 1) + 0.1
    budget.reset()
    assert budget.recent == 0


def test_remote_debugging_is_detected_in_env_and_argv() -> None:
    assert remote_debugging_setting({}, []) is None
    assert (
        remote_debugging_setting({"QTWEBENGINE_CHROMIUM_FLAGS": "--use-fake-device-for-media-stream"}, ["x"])
        is None
    )
    assert (
        remote_debugging_setting({"QTWEBENGINE_REMOTE_DEBUGGING": "9222"}, [])
        == "QTWEBENGINE_REMOTE_DEBUGGING"
    )
    flags = {"QTWEBENGINE_CHROMIUM_FLAGS": "--foo --remote-debugging-port=9222"}
    assert remote_debugging_setting(flags, []) == "--remote-debugging-port"
    assert remote_debugging_setting({}, ["prog", "--remote-debugging-pipe"]) == "--remote-debugging-pipe"


def test_tr_falls_back_to_english_and_fills_placeholders() -> None:
    assert tr("de", "idle.instruction") == (
        "Geben Sie den Code am Raum-Bedienfeld ein, um einer Besprechung beizutreten"
    )
    assert tr("de_AT", "idle.screen", screen_id="links") == "Bildschirm links"
    assert tr("fr", "idle.instruction") == "Type the code on the room panel to join a meeting"
    assert tr("en", "no.such.key") == "no.such.key"


@pytest.mark.parametrize(
    ("now", "expected_ms"),
    [
        (datetime(2025, 1, 1, 9, 41, 0), 60_050),
        (datetime(2025, 1, 1, 9, 41, 59, 900_000), 150),
        (datetime(2025, 1, 1, 23, 59, 30), 30_050),
    ],
)
def test_clock_wakes_just_after_the_minute_turns(now: datetime, expected_ms: int) -> None:
    assert ms_until_next_minute(now) == expected_ms

"""ScreenWindow: idle card, one session at a time, private profiles, placement, notices."""

from __future__ import annotations

import os
import signal
from datetime import datetime

import shiboken6
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel

from roomagent.ui.screen import ScreenWindow

from .conftest import LOAD_TIMEOUT_MS

T = LOAD_TIMEOUT_MS


def _open(qtbot, window: ScreenWindow, url: str, hosts=("127.0.0.1",), media=False):
    session = window.open_session(url, list(hosts), media)
    with qtbot.waitSignal(session.loaded, timeout=T, check_params_cb=lambda ok, u: ok):
        pass
    return session


def test_idle_card_shows_room_instruction_screen_and_time(make_window) -> None:
    window = make_window("left", "Hörsaal 1", clock=lambda: datetime(2025, 3, 4, 9, 5, 12))
    card = window.idle_card
    assert window.showing_idle and window.session is None
    assert card.room_text == "Hörsaal 1"
    assert card.instruction_text == "Type the code on the room panel to join a meeting"
    assert card.screen_text == "Screen left"
    assert card.clock_text == "09:05"


def test_idle_card_speaks_german(make_window) -> None:
    window = make_window("rechts", "Hörsaal 1", language="de")
    card = window.idle_card
    assert (
        card.instruction_text == "Geben Sie den Code am Raum-Bedienfeld ein, um einer Besprechung beizutreten"
    )
    assert card.screen_text == "Bildschirm rechts"


def test_clock_turns_over_at_the_minute_without_ticking_in_between(qtbot, make_window) -> None:
    now = [datetime(2025, 3, 4, 12, 34, 59, 900_000)]  # 100 ms before 12:35
    window = make_window(clock=lambda: now[0])
    card = window.idle_card
    assert card.clock_text == "12:34"
    assert card._timer.isActive() and card._timer.interval() == 150  # wakes just after the turn
    now[0] = datetime(2025, 3, 4, 12, 35, 0, 100_000)
    qtbot.waitUntil(lambda: card.clock_text == "12:35", timeout=5000)
    assert card._timer.interval() == 59_950  # and then sleeps for (almost) a whole minute


def test_place_on_covers_the_given_screen(qtbot, make_window) -> None:
    window = make_window()
    screen = QGuiApplication.primaryScreen()
    window.place_on(screen)
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    assert window.geometry() == screen.geometry()
    assert window.screen() is screen


def test_session_is_stacked_over_the_idle_card_and_close_destroys_its_profile(
    qtbot, server, make_window
) -> None:
    window = make_window()
    session = _open(qtbot, window, f"{server.url}/meeting/Stacked?screen=left")
    assert window.session is session and not window.showing_idle
    assert session.widget.isVisible() and not window.idle_card.isVisible()
    profile, page, view = session._profile, session._page, session.widget
    assert profile.isOffTheRecord() and profile is not profile.defaultProfile()
    with qtbot.waitSignals([page.destroyed, profile.destroyed], timeout=T, order="strict"):
        window.close_session()
    assert window.session is None and window.showing_idle and window.idle_card.isVisible()
    assert not shiboken6.isValid(profile) and not shiboken6.isValid(page) and not shiboken6.isValid(view)
    assert session.closed and session.url == ""


def test_a_new_meeting_gets_a_fresh_profile(qtbot, server, make_window) -> None:
    window = make_window()
    url = f"{server.url}/meeting/Repeat?screen=left"
    first = _open(qtbot, window, url)
    _reload = first.loaded
    with qtbot.waitSignal(_reload, timeout=T):
        first.load(url)  # same profile: the cookie comes back
    with qtbot.waitSignal(first._profile.destroyed, timeout=T):
        window.close_session()
    _open(qtbot, window, url)  # new session: no cookie
    loads = server.loads()
    assert [e["new_session"] for e in loads] == [True, False, True]
    assert loads[1]["session"] == loads[0]["session"] != loads[2]["session"]


def test_two_screens_never_share_cookies(qtbot, server, make_window) -> None:
    left, right = make_window("left"), make_window("right")
    _open(qtbot, left, f"{server.url}/meeting/Shared?screen=left")
    _open(qtbot, right, f"{server.url}/meeting/Shared?screen=right")
    loads = server.loads()
    assert [e["screen"] for e in loads] == ["left", "right"]
    assert loads[0]["cookies"] == {} and loads[1]["cookies"] == {}  # right did not send left's cookie
    assert loads[0]["session"] != loads[1]["session"]
    assert loads[0]["user_agent"] and "QtWebEngine" in loads[0]["user_agent"]


def test_renderer_crash_shows_reconnecting_until_the_page_is_back(qtbot, server, make_window) -> None:
    window = make_window()
    session = _open(qtbot, window, f"{server.url}/meeting/Wobbly")
    with qtbot.waitSignal(session.crashed, timeout=T):
        os.kill(session.renderer_pid, signal.SIGKILL)
    assert window.notice_text == "Reconnecting…"
    with qtbot.waitSignal(session.loaded, timeout=T):
        pass
    assert window.notice_text is None
    assert len(server.loads()) == 2


def test_notice_banner_shows_over_the_meeting_and_clears(qtbot, server, make_window) -> None:
    window = make_window()
    _open(qtbot, window, f"{server.url}/meeting/Banner")
    window.show_notice("Leaving the meeting…")
    assert window.notice_text == "Leaving the meeting…"
    banner = window.findChild(QLabel, "screen-notice")
    assert banner is not None and window.rect().contains(banner.geometry())
    window.clear_notice()
    assert window.notice_text is None


def test_idle_card_and_meeting_really_render(qtbot, server, make_window) -> None:
    window = make_window()
    idle = window.grab().toImage()
    # The idle card's dark navy background, top-left corner.
    assert idle.pixelColor(5, 5).blue() > idle.pixelColor(5, 5).red()
    _open(qtbot, window, f"{server.url}/meeting/Pixels")

    def slide_drawn() -> bool:
        # The meeting's light slide panel fills the lower left; its background is near-white when painted.
        image = window.grab().toImage()
        return image.pixelColor(image.width() // 20, image.height() * 85 // 100).lightness() > 200

    qtbot.waitUntil(slide_drawn, timeout=T)

"""The touch panel: keypad rules, keyboard input, errors in the teacher's words, meeting controls."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from roomagent.core import commands as cmd
from roomagent.core.codes import ALPHABET
from roomagent.core.state import ErrorKind, Lifecycle, MeetingInfo, RoomError, RoomState, ScreenState, ScreenStatus
from roomagent.ui.panel import TOUCH_PX, Panel


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def panel(qtbot, clock):
    widget = Panel("Lecture hall H 0104", "en", clock=clock)
    qtbot.addWidget(widget)
    widget.resize(860, 760)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def error_state(kind: ErrorKind, detail: str = "", retry_at: float | None = None) -> RoomState:
    return RoomState(error=RoomError(kind=kind, detail=detail, at=0, retry_at=retry_at))


def test_keypad_offers_exactly_the_code_alphabet_with_big_targets(panel):
    assert "".join(panel.key_buttons) == ALPHABET
    for button in [*panel.key_buttons.values(), panel.backspace_button, panel.clear_button, panel.join_button]:
        assert button.height() >= TOUCH_PX and button.width() >= TOUCH_PX, button.text()


def test_tapping_keys_inserts_dashes_and_the_ninth_symbol_submits(qtbot, panel):
    for symbol in "K7M4":
        qtbot.mouseClick(panel.key_buttons[symbol], Qt.MouseButton.LeftButton)
    assert panel.code_label.text() == "K7M-4__-___"
    qtbot.mouseClick(panel.backspace_button, Qt.MouseButton.LeftButton)
    assert panel.typed == "K7M"
    with qtbot.waitSignal(panel.code_submitted) as submitted:
        for symbol in "4QX9TB":
            qtbot.mouseClick(panel.key_buttons[symbol], Qt.MouseButton.LeftButton)
    assert submitted.args == ["K7M-4QX-9TB"]
    assert not panel.key_buttons["A"].isEnabled()  # full: no tenth symbol


def test_physical_keyboard_types_case_insensitively_and_explains_look_alikes(qtbot, panel):
    qtbot.keyClicks(panel, "k7m-")
    assert panel.typed == "K7M"
    qtbot.keyClicks(panel, "0")
    assert panel.typed == "K7M" and "0" in panel.message_label.text()
    qtbot.keyClick(panel, Qt.Key.Key_Backspace)
    assert panel.typed == "K7"
    qtbot.keyClick(panel, Qt.Key.Key_Escape)
    assert panel.typed == "" and panel.message_label.text() == ""
    with qtbot.waitSignal(panel.code_submitted) as submitted:
        qtbot.keyClicks(panel, "k7m 4qx 9tb")
    assert submitted.args == ["K7M-4QX-9TB"]


def test_enter_resubmits_a_corrected_code(qtbot, panel):
    qtbot.keyClicks(panel, "k7m4qx9tb")
    panel.render(error_state(ErrorKind.CODE_NOT_FOUND))
    assert panel.typed == "K7M4QX9TB"  # kept, so one wrong symbol can be fixed
    with qtbot.waitSignal(panel.error_dismissed):
        qtbot.keyClick(panel, Qt.Key.Key_Backspace)
    with qtbot.waitSignal(panel.code_submitted) as submitted:
        qtbot.keyClicks(panel, "C")
    assert submitted.args == ["K7M-4QX-9TC"]


@pytest.mark.parametrize(
    "kind, detail, expected",
    [
        (ErrorKind.CODE_NOT_FOUND, "", "unknown or has expired"),
        (ErrorKind.DIRECTORY_UNAVAILABLE, "connect failed", "cannot reach the meeting directory"),
        (ErrorKind.HOST_NOT_ALLOWED, "evil.example.com", "evil.example.com, which this room is not allowed"),
        (ErrorKind.CODE_MALFORMED, "", "9 characters"),
        (ErrorKind.JOIN_TIMEOUT, "right", "took too long"),
        (ErrorKind.LINK_NOT_DIRECT, "", "lobby"),
    ],
)
def test_errors_are_in_the_teachers_words(panel, kind, detail, expected):
    panel.render(error_state(kind, detail))
    assert expected in panel.message_label.text()
    assert "Error" not in panel.message_label.text() and "Exception" not in panel.message_label.text()


def test_rate_limit_counts_down_and_blocks_submitting(qtbot, panel, clock):
    qtbot.keyClicks(panel, "K7M4QX9T")
    panel.render(error_state(ErrorKind.RATE_LIMITED, retry_at=1030.0))
    assert "wait 30 s" in panel.message_label.text()
    clock.now = 1012.2
    panel._on_countdown_timeout()
    assert "wait 18 s" in panel.message_label.text()
    with qtbot.assertNotEmitted(panel.code_submitted):
        qtbot.keyClicks(panel, "B")
        qtbot.keyClick(panel, Qt.Key.Key_Return)
    assert not panel.join_button.isEnabled()
    clock.now = 1030.5
    panel._on_countdown_timeout()
    assert panel.join_button.isEnabled()
    with qtbot.waitSignal(panel.code_submitted):
        qtbot.mouseClick(panel.join_button, Qt.MouseButton.LeftButton)


def test_german_panel(qtbot, clock):
    widget = Panel("Hörsaal", "de", clock=clock)
    qtbot.addWidget(widget)
    widget.render(error_state(ErrorKind.CODE_NOT_FOUND))
    assert "unbekannt oder abgelaufen" in widget.message_label.text()
    assert widget.join_button.text() == "Beitreten"


def in_meeting(**update) -> RoomState:
    meeting = MeetingInfo(id="m42", platform="bbb", host="bbb.example.org", since=0, join_url="https://x")
    return RoomState(lifecycle=Lifecycle.IN_MEETING, meeting=meeting).model_copy(update=update)


def test_meeting_controls_send_commands(qtbot, panel):
    screens = (ScreenState(id="left", role="main", media=True, status=ScreenStatus.LOADED),
               ScreenState(id="right", role="side", media=False, status=ScreenStatus.FAILED))
    panel.render(in_meeting(muted=False, layouts=("presentation", "cameras"), layout="presentation",
                            screens=screens))
    assert "bbb.example.org" in panel.connected_label.text()
    assert panel.screens_label.text() == "Screens:  left ✓   right ✗"
    assert panel.layout_buttons["presentation"].isChecked()
    with qtbot.waitSignal(panel.command_requested) as sent:
        qtbot.mouseClick(panel.layout_buttons["cameras"], Qt.MouseButton.LeftButton)
    assert sent.args[0] == cmd.SetLayout(layout="cameras")
    with qtbot.waitSignal(panel.command_requested) as sent:
        qtbot.mouseClick(panel.mute_button, Qt.MouseButton.LeftButton)
    assert isinstance(sent.args[0], cmd.Mute)
    with qtbot.waitSignal(panel.command_requested) as sent:
        qtbot.mouseClick(panel.leave_button, Qt.MouseButton.LeftButton)
    assert isinstance(sent.args[0], cmd.Leave)


def test_mute_is_hidden_where_the_platform_cannot_mute(panel):
    panel.render(in_meeting(muted=None))
    assert not panel.mute_button.isVisible() and not panel.layout_title.isVisible()
    assert panel.caps_label.isVisible() and "not available" in panel.caps_label.text()
    assert panel.leave_button.isVisible()


def test_busy_states_show_progress_and_cancel(qtbot, panel):
    panel.render(RoomState(lifecycle=Lifecycle.REDEEMING))
    assert panel.busy_label.text() == "Checking the code…" and panel.progress.maximum() == 0
    with qtbot.waitSignal(panel.command_requested) as sent:
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert isinstance(sent.args[0], cmd.Leave)


def test_compact_overlay_shrinks_to_a_leave_control_in_a_meeting(qtbot, clock):
    from PySide6.QtCore import QRect

    widget = Panel("Room", compact=True, clock=clock)
    qtbot.addWidget(widget)
    screen = QRect(0, 0, 1920, 1080)
    assert widget.overlay_rect(screen) == screen
    widget.render(in_meeting())
    rect = widget.overlay_rect(screen)
    assert rect.width() <= 260 and rect.right() < 1920 and rect.top() >= 0
    assert widget.compact_leave.text() == "Leave"


def test_notices_show_on_the_panel_but_not_over_the_compact_leave_control(qtbot, clock):
    widget = Panel("Room", compact=True, clock=clock)
    qtbot.addWidget(widget)
    widget.show()
    widget.show_message("We start in 5 minutes", 60)
    assert widget.notice_label.isVisible() and widget.notice_label.text() == "We start in 5 minutes"
    widget.render(in_meeting())
    assert not widget.notice_label.isVisible()  # the screen below shows it; the Leave button stays whole
    widget.render(RoomState())
    assert widget.notice_label.isVisible()  # back on the keypad while the notice is still current

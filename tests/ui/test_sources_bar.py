"""The panel's inputs section: signal shown in words and colour, buttons send the moderators' commands."""

from __future__ import annotations

import errno
import os

from PySide6.QtGui import QTextDocument

from roomagent.core import commands as cmd
from roomagent.core.sources import SourceState
from roomagent.core.state import Lifecycle, MeetingInfo, RoomState, ScreenState
from roomagent.ui.panel import Panel

HDMI = SourceState(id="hdmi", name="Lectern HDMI", present=True, signal=True, device="/dev/video0", label="x")
CAM = SourceState(id="doc", name="Document camera", present=True, signal=False, device="/dev/video2", label="y")
GONE = SourceState(id="aux", name="Aux HDMI", present=False)
SCREENS = (ScreenState(id="left", role="main", media=True), ScreenState(id="right", role="side", media=False))


def meeting_state(**update) -> RoomState:
    meeting = MeetingInfo(id="m", platform="bbb", host="bbb.example.org", since=0, join_url="https://x")
    return RoomState(lifecycle=Lifecycle.IN_MEETING, meeting=meeting, screens=SCREENS, capabilities=("share",),
                     sources=(HDMI, CAM, GONE), **update)


def test_idle_panel_lists_inputs_and_previews_on_the_side_screen(qtbot):
    panel = Panel("Room", preview_screen="right")
    qtbot.addWidget(panel)
    panel.render(RoomState(screens=SCREENS, sources=(HDMI, CAM, GONE)))
    bar = panel.idle_sources
    assert not bar.isHidden()
    text = {sid: label.text() for sid, (label, _) in bar.rows.items()}
    assert "picture" in text["hdmi"] and "no picture" in text["doc"] and "not connected" in text["aux"]
    assert bar.rows["aux"][1] == []  # nothing to do with an unplugged input
    sent = []
    panel.command_requested.connect(sent.append)
    (show,) = bar.rows["hdmi"][1]
    show.click()
    assert sent == [cmd.PreviewSource(screen="right", source="hdmi")]


def test_meeting_panel_shares_and_stops(qtbot):
    panel = Panel("Room", preview_screen="right")
    qtbot.addWidget(panel)
    panel.render(meeting_state())
    sent = []
    panel.command_requested.connect(sent.append)
    share, _show = panel.meeting_sources.rows["hdmi"][1]
    share.click()
    assert sent == [cmd.ShareSource(source="hdmi")]
    panel.render(meeting_state(sharing="hdmi", previews={"right": "doc"}))
    stop, _ = panel.meeting_sources.rows["hdmi"][1]
    _, stop_preview = panel.meeting_sources.rows["doc"][1]
    stop.click()
    stop_preview.click()
    assert sent[1:] == [cmd.StopShare(), cmd.StopPreview()]


def test_no_inputs_no_section(qtbot):
    panel = Panel("Room")
    qtbot.addWidget(panel)
    panel.render(RoomState(screens=SCREENS))
    assert panel.idle_sources.isHidden()


def test_an_input_name_with_markup_is_shown_as_text_and_loads_nothing(qtbot, tmp_path):
    # Input names come from the profile or the device (a capture card names itself): text, never markup.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    name = f"<img src='{fifo}'><b>Lectern</b>"
    panel = Panel("Room", preview_screen="right")
    qtbot.addWidget(panel)
    panel.render(RoomState(screens=SCREENS, sources=(HDMI.model_copy(update={"name": name}),)))
    label = panel.idle_sources.rows["hdmi"][0]
    label.grab()  # laid out and painted: rich text would load its image now
    assert "&lt;img" in label.text()  # the row is our own markup, the name in it escaped
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        opened = True
    except OSError as exc:
        assert exc.errno == errno.ENXIO
        opened = False
    assert not opened, "the panel opened the file named in an input's name"
    # What the teacher reads is the name itself, characters as typed.
    doc = QTextDocument()
    doc.setHtml(label.text())
    assert name in doc.toPlainText()

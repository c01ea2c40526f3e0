"""Which input Jitsi's media participant may share, chosen from the join request (no browser)."""

from __future__ import annotations

from roomagent.core.sources import SourceState
from roomagent.core.state import MeetingInfo, ScreenState
from roomagent.meeting.base import JoinRequest
from roomagent.meeting.jitsi import share_device

MEETING = MeetingInfo(id="r", platform="jitsi", host="meet.example.org", since=0.0,
                      join_url="https://meet.example.org/r")


def request(sources=(), **options) -> JoinRequest:
    return JoinRequest(attempt=1, meeting=MEETING, screens=(ScreenState(id="left", role="main", media=True),),
                       layout=None, allowed_hosts=("meet.example.org",), display_name="Room", options=options,
                       sources=sources)


def test_the_first_present_input_by_label_else_product():
    gone = SourceState(id="a", name="A", present=False, label="gone", product="gone")
    card = SourceState(id="b", name="B", present=True, label="HDMI (1234:5678)", product="HDMI")
    bare = SourceState(id="c", name="C", present=True, product="Document camera")
    assert share_device(request((gone, card, bare))) == "HDMI (1234:5678)"
    assert share_device(request((gone, bare, card))) == "Document camera"
    assert share_device(request((gone,))) == ""


def test_an_adapter_option_wins():
    card = SourceState(id="b", name="B", present=True, label="HDMI")
    assert share_device(request((card,), share_device="fake_device_0")) == "fake_device_0"

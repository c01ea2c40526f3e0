"""Platform detection from join URLs (the first, Qt-free step of every join)."""

from __future__ import annotations

import pytest

from roomagent.core.meeting_url import NotADirectLink, describe_join_url, jitsi_room


@pytest.mark.parametrize("url, platform, meeting_id", [
    ("https://bbb.example.org/bigbluebutton/api/join?meetingID=m42&fullName=R&checksum=x", "bbb", "m42"),
    ("https://scalelite.example.org/bigbluebutton/api/join/?meetingID=abc&checksum=x", "bbb", "abc"),
    ("https://meet.example.org/Physics101?jwt=eyJ.abc.def", "jitsi", "physics101"),
    ("https://jitsi.uni.example/tenant-a/Seminar", "jitsi", "tenant-a/seminar"),
    ("https://video.example.org/Seminar", "jitsi", "seminar"),  # listed in jitsi_hosts
])
def test_platform_and_stable_meeting_id(url, platform, meeting_id):
    target = describe_join_url(url, {"jitsi": ("video.example.org",)})
    assert (target.platform, target.meeting_id) == (platform, meeting_id)


@pytest.mark.parametrize("url", [
    "https://meet.example.org/x/y/z?jwt=x",           # too deep for a Jitsi room
    "https://stream.example.org/live/index.html",     # a page, not a room
    "https://video.example.org/Seminar",              # not listed here, no jwt, no "jitsi" in the name
])
def test_everything_else_allowed_is_generic(url):
    target = describe_join_url(url)
    assert target.platform == "generic" and len(target.meeting_id) == 16


@pytest.mark.parametrize("url", [
    "https://greenlight.example.org/rooms/abc-def-ghi/join",
    "https://greenlight.example.org/b/abc-def-ghi",
    "https://moodle.example.org/mod/bigbluebuttonbn/view.php?id=3",
])
def test_lobby_pages_need_a_direct_join_link(url):
    with pytest.raises(NotADirectLink):
        describe_join_url(url)


def test_jitsi_room_parts():
    assert jitsi_room("https://meet.example.org/t1/Room?jwt=abc") == ("t1", "Room", "abc")
    assert jitsi_room("https://meet.example.org/Room") == ("", "Room", None)

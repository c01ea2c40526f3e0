"""What a screen's page applies itself when bbb-web dropped its getJoinUrl parameters (no pages here)."""

from __future__ import annotations

from urllib.parse import urlencode

from roomagent.core.layouts import BbbSettings
from roomagent.meeting.base import js_asset
from roomagent.meeting.bbb import page_traits, session_userdata
from roomagent.meeting.bbb_api import dropped_params

ASKED = {"sessionName": "left", "enforceLayout": "CAMERAS_ONLY", "userdata-bbb_auto_join_audio": "true"}


def _url(**query: str) -> str:
    return "https://bbb.example.org/bigbluebutton/api/join?" + urlencode({"meetingID": "m1", **query, "checksum": "c"})


def test_nothing_dropped_when_the_signed_url_carries_every_asked_value() -> None:
    assert dropped_params(_url(**ASKED), ASKED) == ()


def test_absent_or_inherited_values_count_as_dropped() -> None:
    # Stripped: none of them is in the URL.
    assert dropped_params(_url(), ASKED) == ("enforceLayout", "sessionName", "userdata-bbb_auto_join_audio")
    # The session's own (inherited) value instead of the asked one: the screen does not get what it asked.
    inherited = _url(sessionName="left", enforceLayout="PRESENTATION_ONLY", **{"userdata-bbb_auto_join_audio": "true"})
    assert dropped_params(inherited, ASKED) == ("enforceLayout",)


def test_page_traits_name_only_what_was_dropped() -> None:
    none = page_traits((), media=True, share_camera=True, layout="CAMERAS_ONLY")
    assert none == {"layout": None, "audio": None}
    layout_only = page_traits(("enforceLayout", "sessionName"), media=False, share_camera=True, layout="CAMERAS_ONLY")
    assert layout_only == {"layout": "CAMERAS_ONLY", "audio": None}
    audio = page_traits(("userdata-bbb_listen_only_mode",), media=True, share_camera=True, layout="CAMERAS_ONLY")
    assert audio == {"layout": None, "audio": {"media": True, "camera": True}}
    side = page_traits(("userdata-bbb_auto_join_audio",), media=False, share_camera=True, layout=None)
    assert side == {"layout": None, "audio": {"media": False, "camera": False}}
    # A dropped style or notification setting changes nothing the page does: it injects the style anyway.
    assert page_traits(("userdata-bbb_custom_style",), media=True, share_camera=False, layout="X")["audio"] is None


def test_custom_style_is_the_rooms_css_without_its_comments() -> None:
    css = js_asset("bbb_room.css")
    style = session_userdata(True, False, BbbSettings(), css)["bbb_custom_style"]
    # A comment line left in would prefix the selector and make the browser drop the whole rule.
    assert style.startswith('[data-test="pollingContainer"], ') and "*/" not in style and "/*" not in style
    assert style.endswith("{ display: none !important; }")

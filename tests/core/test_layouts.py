"""Layouts: the shipped files, validation, availability per room, and the profile's overrides."""

from __future__ import annotations

import pytest

from roomagent.configload import ConfigError
from roomagent.core.layouts import BbbSettings, JitsiSettings, Layout, available, offered_names
from roomagent.layouts import build_layouts, read_layout_files, room_layouts, shipped_dir
from roomagent.profile import RoomProfile

SHIPPED = {"lecture", "discussion", "presentation-only", "cameras-only", "single-screen"}


def profile(roles=("main", "side"), layouts=None, **meeting) -> RoomProfile:
    screens = [{"id": f"s{i}", "role": role} for i, role in enumerate(roles)]
    return RoomProfile(room={"id": "h1", "name": "H 1"}, directory={"url": "http://127.0.0.1:1"},
                       meeting={"allowed_hosts": ["bbb.example.org"], **meeting}, screens=screens,
                       layouts=layouts or {})


def test_shipped_layouts_load_and_are_valid():
    layouts = build_layouts(read_layout_files(shipped_dir()), "shipped")
    assert SHIPPED <= set(layouts)
    lecture = layouts["lecture"]
    assert lecture.settings_for("main", "bbb").enforce_layout == "PRESENTATION_ONLY"
    assert lecture.settings_for("side", "bbb").enforce_layout == "CAMERAS_ONLY"
    assert lecture.settings_for("side", "jitsi").tile_view is True
    assert lecture.settings_for("rear", "bbb").enforce_layout == "PRESENTATION_ONLY"  # [other]
    assert layouts["discussion"].settings_for("main", "bbb").enforce_layout == "CAMERAS_ONLY"


def test_a_role_or_platform_left_out_gets_the_neutral_default():
    layout = Layout(name="x", title="X", roles={"main": {"jitsi": {"tile_view": True}}})
    assert layout.settings_for("main", "bbb") == BbbSettings()
    assert layout.settings_for("side", "jitsi") == JitsiSettings()
    assert layout.settings_for("main", "generic") is None


@pytest.mark.parametrize("table, where", [
    ({"title": "T", "roles": {"main": {"bbb": {"enforce_layout": "HUGE"}}}}, "enforce_layout"),
    ({"title": "T", "roles": {"Main!": {}}}, "roles"),
    ({"title": "T", "roles": {}}, "roles"),
    ({"roles": {"main": {}}}, "title"),
    ({"title": "T", "roles": {"main": {"zoom": {}}}}, "zoom"),
    ({"title": "T", "roles": {"main": {"bbb": {"userdata": {"evil": "1"}}}}}, "userdata"),
])
def test_broken_layouts_are_reported_with_their_key_path(table, where):
    with pytest.raises(ConfigError) as info:
        build_layouts({"broken": table}, "test")
    assert any(line.startswith("layouts.broken") and where in line for line in info.value.errors), info.value.errors


def test_availability_follows_the_room_roles():
    layouts = build_layouts(read_layout_files(shipped_dir()), "shipped")
    one = {layout.name for layout in available(layouts.values(), ["main"])}
    assert "lecture" not in one and "discussion" not in one
    assert {"single-screen", "presentation-only", "cameras-only"} <= one
    names = offered_names(layouts.values(), ["main", "side"], "discussion")
    assert names[0] == "discussion" and "lecture" in names


def test_room_default_and_notes():
    layouts, default, notes = room_layouts(profile())
    assert default == "lecture" and notes == []
    _, default, notes = room_layouts(profile(roles=("main",)))
    assert default == "single-screen"
    assert any("'lecture'" in n and "'side'" in n for n in notes)


def test_default_layout_the_room_cannot_show_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        room_layouts(profile(roles=("main",), default_layout="lecture"))
    assert "meeting.default_layout" in info.value.errors[0] and "'side'" in info.value.errors[0]
    with pytest.raises(ConfigError):
        room_layouts(profile(default_layout="nope"))


def test_room_adds_and_overrides_layouts():
    p = profile(layouts={
        "exam": {"title": "Exam", "roles": {"main": {"bbb": {"enforce_layout": "PRESENTATION_FOCUS"}}}},
        "lecture": {"roles": {"side": {"bbb": {"enforce_layout": "VIDEO_FOCUS"}}}},
    }, default_layout="exam")
    layouts, default, _ = room_layouts(p)
    assert default == "exam"
    assert layouts["lecture"].settings_for("side", "bbb").enforce_layout == "VIDEO_FOCUS"
    assert layouts["lecture"].settings_for("main", "bbb").enforce_layout == "PRESENTATION_ONLY"  # merged

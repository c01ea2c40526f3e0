"""The platform records: one table the room and the directory both read (``roomagent.core.platforms``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from roomagent.core.layouts import Layout, RoleSettings, default_settings
from roomagent.core.meeting_url import describe_join_url
from roomagent.core.platforms import PLATFORMS, UnknownPlatform, configured_hosts, platform
from roomagent.directory.server.settings import DirectorySettings
from roomagent.profile import MeetingSection

CORE = Path(__file__).resolve().parents[2] / "roomagent" / "core"


def test_names_are_unique_and_generic_comes_last():
    names = [p.name for p in PLATFORMS]
    assert len(set(names)) == len(names)
    assert PLATFORMS[-1].name == "generic"  # it claims every URL, so nothing after it would be reached


def test_an_unknown_name_is_an_error_not_generic():
    assert platform("jitsi").name == "jitsi"
    with pytest.raises(UnknownPlatform, match="zoom"):
        platform("zoom")


def test_every_layout_key_has_settings_in_layouts_and_no_other():
    keys = {p.layout_key for p in PLATFORMS if p.layout_key is not None}
    assert keys == set(RoleSettings.model_fields)
    layout = Layout(name="x", title="X", roles={"main": {}})
    for p in PLATFORMS:
        expected = default_settings(p.layout_key) if p.layout_key else None
        assert layout.settings_for("main", p.layout_key or p.name) == expected


def test_room_and_directory_read_the_same_configured_hosts():
    meeting = MeetingSection(allowed_hosts=["*.uni-example.de"], jitsi_hosts=["meet.uni-example.de"])
    directory = DirectorySettings(allowed_join_hosts=["*.uni-example.de"], jitsi_hosts=["meet.uni-example.de"],
                                  tokens={"bbb": "t" * 20})
    assert configured_hosts(meeting) == configured_hosts(directory) == {"jitsi": ("meet.uni-example.de",)}
    url = "https://meet.uni-example.de/Lecture101"
    assert describe_join_url(url, configured_hosts(directory)).meeting_id == "lecture101"
    assert describe_join_url(url).platform == "generic"  # without the hosts it is just a web page


def test_the_records_import_neither_qt_nor_the_adapters():
    tree = ast.parse((CORE / "platforms.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and (m.startswith("PySide6") or m.startswith("roomagent.meeting"))}

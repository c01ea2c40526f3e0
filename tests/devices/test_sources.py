"""The Qt-free model of the room's inputs: matching profile entries to devices, naming, labels, MRLs;
and the profile's ``[[sources]]``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roomagent.configload import ConfigError
from roomagent.core.sources import (
    SOURCE_ID,
    DeviceInfo,
    SourceState,
    chromium_label,
    label_matches,
    resolve_sources,
    slugify,
    source_mrl,
)
from roomagent.profile import SourceSection, load_profile

ROOT = Path(__file__).resolve().parents[2]
LECTERN_PATH = "pci-0000:00:14.0-usb-0:2:1.0"


def device(n: int, product: str = "USB3 Video", caps: str = ":capture:", **props: str) -> DeviceInfo:
    """A fake udev device as the edge reports it."""
    properties = {"ID_V4L_CAPABILITIES": caps, "ID_V4L_PRODUCT": product, "ID_VENDOR_ID": "534d",
                  "ID_MODEL_ID": "2109", "ID_PATH": f"pci-0000:00:14.0-usb-0:{n}:1.0", **props}
    return DeviceInfo(devpath=f"/devices/usb1/1-{n}/video4linux/video{n}", devnode=f"/dev/video{n}",
                      properties=properties)


LECTERN = SourceSection(id="lectern", name="Lectern HDMI", match={"ID_PATH": LECTERN_PATH})
DOC_CAM = SourceSection(id="doc-cam", name="Document camera", match={"ID_SERIAL": "Lumens_0001"},
                        mrl="v4l2:///dev/video9:width=1920:height=1080")


def test_configured_sources_are_always_listed_and_absent_ones_are_not_present():
    states = resolve_sources([LECTERN, DOC_CAM], [])
    assert [(s.id, s.name, s.present, s.signal, s.device) for s in states] == [
        ("lectern", "Lectern HDMI", False, None, ""), ("doc-cam", "Document camera", False, None, "")]


def test_a_matching_device_makes_its_source_present_with_device_label_product_and_signal():
    states = resolve_sources([LECTERN, DOC_CAM], [device(2)], {"/dev/video2": True})
    lectern = states[0]
    assert lectern == SourceState(id="lectern", name="Lectern HDMI", present=True, signal=True,
                                  device="/dev/video2", label="USB3 Video (534d:2109)", product="USB3 Video")
    assert not states[1].present


def test_every_match_pair_must_hold():
    spec = SourceSection(id="x", name="X", match={"ID_PATH": LECTERN_PATH, "ID_SERIAL": "other"})
    unmatched = resolve_sources([spec], [device(2, ID_SERIAL="mine")])
    assert [(s.id, s.present) for s in unmatched] == [("x", False), ("usb3-video", True)]
    assert [(s.id, s.present) for s in resolve_sources([spec], [device(2, ID_SERIAL="other")])] == [("x", True)]


def test_unknown_capture_devices_are_listed_under_their_product_with_unique_slug_ids():
    devices = [device(3), device(4), device(5, product="Lumens DC-125 !"), device(2)]
    states = resolve_sources([LECTERN], devices)
    assert [(s.id, s.name, s.device) for s in states] == [
        ("lectern", "Lectern HDMI", "/dev/video2"),
        ("lumens-dc-125", "Lumens DC-125 !", "/dev/video5"),
        ("usb3-video", "USB3 Video", "/dev/video3"),  # ids follow the port (ID_PATH), not plug order
        ("usb3-video-2", "USB3 Video", "/dev/video4"),
    ]
    assert all(SOURCE_ID.match(s.id) for s in states)


def test_unknown_ids_do_not_take_a_configured_id_and_stay_put_across_a_replug():
    spec = SourceSection(id="usb3-video", name="Configured", match={"ID_SERIAL": "absent"})
    first = resolve_sources([spec], [device(3), device(4)])
    assert [s.id for s in first] == ["usb3-video", "usb3-video-2", "usb3-video-3"]
    # video3 comes back as video7 on the same port: same id.
    replugged = resolve_sources([spec], [device(4), DeviceInfo(devpath="/x/video7", devnode="/dev/video7",
                                                               properties=device(3).properties)])
    assert [(s.id, s.device) for s in replugged[1:]] == [("usb3-video-2", "/dev/video7"), ("usb3-video-3", "/dev/video4")]


def test_metadata_and_output_nodes_are_not_inputs_and_a_card_with_two_capture_nodes_is_one_source():
    meta = device(3, caps=":")  # a UVC camera's metadata node
    output = device(6, caps=":video_output:")
    second = DeviceInfo(devpath="/d/video12", devnode="/dev/video12", properties=device(2).properties)
    states = resolve_sources([LECTERN], [second, meta, output, device(2)])
    assert [(s.id, s.device) for s in states] == [("lectern", "/dev/video2")]


def test_slugify_is_a_valid_id_for_any_product_name():
    assert slugify("USB3. Video  (HDMI)") == "usb3-video-hdmi"
    assert slugify("¡¡¡") == "input"
    long = slugify("X" * 200)
    assert len(long) == 64 and SOURCE_ID.match(long)
    states = resolve_sources([], [device(n, product="Y" * 90) for n in (2, 3)])
    assert [len(s.id) for s in states] == [64, 64] and states[0].id != states[1].id


def test_chromium_label_is_the_card_name_with_usb_ids_when_there_are_any():
    assert chromium_label(device(2)) == "USB3 Video (534d:2109)"
    platform = DeviceInfo(devpath="/d/video0", devnode="/dev/video0",
                          properties={"ID_V4L_PRODUCT": "unicam", "ID_V4L_CAPABILITIES": ":capture:"})
    assert chromium_label(platform) == "unicam"


@pytest.mark.parametrize("label, expected", [
    ("USB3 Video (534d:2109)", True),
    ("usb3 video (534D:2109)", True),
    ("USB3 Video", True),  # no USB ids on one side: the card name decides
    ("USB3 Video (046d:082d)", False),  # the same card name on another model
    ("USB3 Video 2 (534d:2109)", False),
    ("", False),  # no permission yet: Chromium hides labels
])
def test_label_matches(label, expected):
    source = resolve_sources([LECTERN], [device(2)])[0]
    assert label_matches(source, label) is expected


def test_label_never_matches_an_unplugged_source():
    absent = resolve_sources([LECTERN], [])[0]
    assert not label_matches(absent, "USB3 Video (534d:2109)")


def test_mrl_is_the_device_unless_the_profile_overrides_it():
    states = resolve_sources([LECTERN, DOC_CAM], [device(2), device(9, ID_SERIAL="Lumens_0001")])
    assert source_mrl(states[0], [LECTERN, DOC_CAM]) == "v4l2:///dev/video2"
    assert source_mrl(states[1], [LECTERN, DOC_CAM]) == "v4l2:///dev/video9:width=1920:height=1080"
    absent = resolve_sources([LECTERN, DOC_CAM], [])
    assert source_mrl(absent[0], [LECTERN]) is None
    assert source_mrl(absent[1], [DOC_CAM]) == DOC_CAM.mrl  # an override plays even without udev's say-so


BASE = """
[room]
id = "h0104"
name = "Room"
[directory]
url = "https://mediaauth.example.org"
[meeting]
allowed_hosts = ["bbb.example.org"]
[[screens]]
id = "left"
"""


@pytest.mark.parametrize("entry, words", [
    ('id = "Lectern"\nname = "L"\nmatch = { ID_PATH = "x" }', "sources[0].id"),
    ('id = "lectern"\nname = "L"\nmatch = {}', "sources[0].match"),
    ('id = "lectern"\nname = ""\nmatch = { ID_PATH = "x" }', "sources[0].name"),
])
def test_bad_source_entries_are_reported_with_their_key_path(tmp_path, entry, words):
    path = tmp_path / "room.toml"
    path.write_text(BASE + "[[sources]]\n" + entry + "\n")
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert any(line.startswith(words) for line in caught.value.errors), caught.value.errors


def test_source_ids_are_unique(tmp_path):
    path = tmp_path / "room.toml"
    entry = '[[sources]]\nid = "a"\nname = "A"\nmatch = { ID_PATH = "x" }\n'
    path.write_text(BASE + entry + entry)
    with pytest.raises(ConfigError, match="duplicate id a"):
        load_profile(path)


def test_the_commented_example_in_the_shipped_profile_is_valid_when_uncommented(tmp_path):
    text = (ROOT / "kiosk" / "room.example.toml").read_text()
    lines = text[text.index("# [[sources]]"):].splitlines()
    block = lines[:next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))]
    uncommented = "\n".join(re.sub(r"^# ?", "", line) for line in block)
    path = tmp_path / "room.toml"
    path.write_text(BASE + uncommented + "\n")
    profile = load_profile(path)
    assert [s.id for s in profile.sources] == ["lectern", "doc-cam"]
    assert profile.sources[0].match == {"ID_PATH": LECTERN_PATH} and profile.sources[0].mrl == ""
    assert load_profile(ROOT / "kiosk" / "room.example.toml").sources == ()

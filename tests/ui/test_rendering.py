"""Choosing the rendering path: each detected case with an injected probe, the profile overrides, and
what the choice puts into the environment Qt and Chromium read."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from roomagent.profile import KioskSection, RoomProfile
from roomagent.ui import rendering
from roomagent.ui.rendering import GlProbe, RenderingChoice, apply_rendering, choose_rendering

HARDWARE = GlProbe(renderer="Mesa Intel(R) UHD Graphics 620 (KBL GT2)", vendor="Intel", version="OpenGL ES 3.2 Mesa")
V3D = GlProbe(renderer="V3D 7.1", vendor="Broadcom", version="OpenGL ES 3.1 Mesa 23.2.1")  # Raspberry Pi 5
LLVMPIPE = GlProbe(renderer="llvmpipe (LLVM 15.0.6, 256 bits)", vendor="Mesa/X.org", version="OpenGL ES 3.2 Mesa")
SWIFTSHADER = GlProbe(renderer="Google SwiftShader", vendor="Google Inc.", version="OpenGL ES 3.0 SwiftShader")
NONE = GlProbe(error="eglInitialize failed")


@pytest.mark.parametrize(("probe", "mode"), [(HARDWARE, "gpu"), (V3D, "gpu"), (LLVMPIPE, "software"),
                                             (SWIFTSHADER, "software"), (NONE, "software")])
def test_auto_follows_what_opengl_runs_on(probe: GlProbe, mode: str) -> None:
    choice = choose_rendering("auto", probe)
    assert choice.mode == mode
    assert choice.renderer == probe.renderer
    assert (probe.renderer or probe.error) in choice.reason


def test_auto_without_any_probe_result_is_software() -> None:
    assert choose_rendering("auto", None).mode == "software"


@pytest.mark.parametrize("setting", ["gpu", "software"])
@pytest.mark.parametrize("probe", [HARDWARE, LLVMPIPE, NONE, None])
def test_profile_override_wins_over_the_probe(setting: str, probe: GlProbe | None) -> None:
    choice = choose_rendering(setting, probe)
    assert choice.mode == setting
    assert "[kiosk] rendering" in choice.reason


def test_software_sets_qt_quick_and_chromium_flags_once() -> None:
    env = {"QTWEBENGINE_CHROMIUM_FLAGS": "--use-fake-device-for-media-stream --disable-gpu"}
    choice = apply_rendering("auto", env, probe=lambda: LLVMPIPE)
    assert choice.mode == "software"
    assert env["QT_QUICK_BACKEND"] == "software"
    assert env["QTWEBENGINE_CHROMIUM_FLAGS"].split() == ["--use-fake-device-for-media-stream", "--disable-gpu"]


def test_gpu_leaves_the_environment_alone() -> None:
    env: dict[str, str] = {}
    assert apply_rendering("auto", env, probe=lambda: HARDWARE).mode == "gpu"
    assert env == {}


def test_an_operators_own_scene_graph_backend_is_kept() -> None:
    env = {"QT_QUICK_BACKEND": "openvg"}
    apply_rendering("software", env, probe=lambda: pytest.fail("an override needs no probe"))
    assert env["QT_QUICK_BACKEND"] == "openvg"


def test_choice_is_logged_with_its_reason(caplog) -> None:
    caplog.set_level("INFO", logger="roomagent.ui.rendering")
    apply_rendering("auto", {}, probe=lambda: LLVMPIPE)
    assert any("rendering: software, because OpenGL runs on llvmpipe" in r.getMessage() for r in caplog.records)


def test_state_form_and_chromium_flags() -> None:
    choice = RenderingChoice("software", "why", "llvmpipe")
    assert choice.as_state() == {"mode": "software", "reason": "why", "renderer": "llvmpipe"}
    assert rendering.chromium_flags(choice) == ["--disable-gpu"]
    assert rendering.chromium_flags(RenderingChoice("gpu", "why")) == []


def test_real_probe_answers_or_says_why() -> None:
    probe = rendering.probe_gl()
    assert probe.renderer or probe.error


def test_probe_that_cannot_run_is_no_opengl(monkeypatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    probe = rendering.probe_gl()
    assert probe.renderer == "" and probe.error.startswith("probe failed")
    assert choose_rendering("auto", probe).mode == "software"


def test_kiosk_section_defaults_and_validation() -> None:
    base = {"room": {"id": "r1", "name": "R"}, "directory": {"url": "https://d.example.org"},
            "meeting": {"allowed_hosts": ["bbb.example.org"]}, "screens": [{"id": "left"}]}
    assert RoomProfile(**base).kiosk == KioskSection(rendering="auto", engine="auto",
                                                     chromium_path="/usr/bin/chromium")
    custom = RoomProfile(**base, kiosk={"rendering": "gpu", "engine": "chromium"})
    assert (custom.kiosk.rendering, custom.kiosk.engine) == ("gpu", "chromium")
    with pytest.raises(ValidationError):
        RoomProfile(**base, kiosk={"rendering": "vulkan"})
    with pytest.raises(ValidationError):
        RoomProfile(**base, kiosk={"engine": "firefox"})


def test_example_profiles_kiosk_block_is_valid() -> None:
    # The block is commented out in the example (defaults apply); uncommented, it must still validate.
    import tomllib
    from pathlib import Path

    lines = Path(__file__).resolve().parents[2].joinpath("kiosk/room.example.toml").read_text().splitlines()
    start = lines.index("# [kiosk]")
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line[2:])
    kiosk = tomllib.loads("\n".join(b for b in block if not b.startswith("#")))["kiosk"]
    assert set(kiosk) == set(KioskSection.model_fields)
    assert KioskSection(**kiosk) == KioskSection()

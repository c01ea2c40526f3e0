"""The engine factory, the Chromium command line and the DevTools framing (no browser needed)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest

from roomagent.profile import KioskSection
from roomagent.ui.browser import BrowserSession
from roomagent.ui.chromium.cdp import Framer
from roomagent.ui.chromium.process import LaunchOptions, chromium_argv
from roomagent.ui.chromium.session import ChromiumSession
from roomagent.ui.engine import EngineChoice, EngineError, chromium_runs, engine_state, resolve_engine, session_factory
from roomagent.ui.lockdown import KioskLockdownError
from roomagent.ui.rendering import RenderingChoice

SOFTWARE = RenderingChoice("software", "llvmpipe")


GPU = RenderingChoice("gpu", "OpenGL runs on Mesa Intel(R) UHD Graphics (hardware)", "Mesa Intel(R) UHD Graphics")
INSTALLED = {"which": lambda path: path, "runs": lambda path: None}


def test_auto_is_the_default_and_without_a_probe_keeps_qtwebengine() -> None:
    assert KioskSection().engine == "auto"
    assert session_factory(KioskSection()) is BrowserSession  # embedded agents (tests) have no probe


def test_auto_picks_chromium_without_a_gpu_as_an_unprivileged_user(caplog) -> None:
    caplog.set_level("INFO")
    choice = resolve_engine(KioskSection(), SOFTWARE, euid=lambda: 1000, **INSTALLED)
    assert choice.engine == "chromium" and not choice.no_sandbox
    assert "no hardware GPU" in choice.reason and "full frame rate" in choice.reason
    assert any("engine: chromium, because" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("rendering", "euid", "which", "runs", "why"), [
    (GPU, 1000, lambda p: p, lambda p: None, "draw on a GPU (Mesa Intel(R) UHD Graphics)"),
    (SOFTWARE, 0, lambda p: p, lambda p: None, "runs as root"),
    (SOFTWARE, 1000, lambda p: None, lambda p: None, "/usr/bin/chromium is not installed"),
    (SOFTWARE, 1000, lambda p: p, lambda p: "exit status 1", "Chromium does not run (exit status 1)"),
    (SOFTWARE, 1000, lambda p: p, lambda p: None, "no [panel] output"),
])
def test_auto_keeps_qtwebengine_and_says_why(rendering, euid, which, runs, why) -> None:
    choice = resolve_engine(KioskSection(), rendering, euid=lambda: euid, which=which, runs=runs, environ={},
                            separate_panel="[panel]" not in why)
    assert choice.engine == "qtwebengine" and why in choice.reason, choice.reason


def test_explicit_chromium_as_root_is_a_configuration_error_naming_the_way_around() -> None:
    kiosk = KioskSection(engine="chromium")
    with pytest.raises(EngineError, match="cannot run as root.*QTWEBENGINE_DISABLE_SANDBOX=1"):
        resolve_engine(kiosk, SOFTWARE, euid=lambda: 0, environ={}, **INSTALLED)
    # The development-only switch runs it without its sandbox, and says so.
    choice = resolve_engine(kiosk, SOFTWARE, euid=lambda: 0, environ={"QTWEBENGINE_DISABLE_SANDBOX": "1"}, **INSTALLED)
    assert choice.engine == "chromium" and choice.no_sandbox and "development only" in choice.reason
    factory = session_factory(kiosk, SOFTWARE, engine=choice)
    assert factory.keywords["options"].no_sandbox
    # An unprivileged user gets Chromium with its sandbox, whatever the environment says.
    user = resolve_engine(kiosk, SOFTWARE, euid=lambda: 1000, environ={"QTWEBENGINE_DISABLE_SANDBOX": "1"},
                          **INSTALLED)
    assert user.engine == "chromium" and not user.no_sandbox


def test_chromium_runs_asks_the_program_itself() -> None:
    assert chromium_runs("/bin/true") is None
    assert "exit status 1" in chromium_runs("/bin/false")
    assert "failed" in chromium_runs("/nonexistent/chromium")


def test_chromium_engine_binds_its_options() -> None:
    kiosk = KioskSection(engine="chromium", chromium_path="/bin/sh")  # any installed program will do here
    factory = session_factory(kiosk, SOFTWARE, engine=EngineChoice("chromium", "test"),
                              extra_args=["--use-fake-device-for-media-stream"])
    assert isinstance(factory, functools.partial) and factory.func is ChromiumSession
    options: LaunchOptions = factory.keywords["options"]
    assert options.path == "/bin/sh" and not options.no_sandbox
    assert options.extra_args == ("--disable-gpu", "--use-fake-device-for-media-stream")


def test_missing_chromium_falls_back_to_qtwebengine(caplog) -> None:
    kiosk = KioskSection(engine="chromium", chromium_path="/nonexistent/chromium")
    choice = resolve_engine(kiosk)
    assert choice.engine == "qtwebengine" and "not installed" in choice.reason
    assert session_factory(kiosk) is BrowserSession
    assert any(r.levelname == "ERROR" for r in caplog.records)


def test_engine_state_keys() -> None:
    state = engine_state(EngineChoice("chromium", "profile"), SOFTWARE, {"vp8": {"play": "probably"}})
    assert state == {"engine": "chromium", "rendering": SOFTWARE.as_state(), "codecs": {"vp8": {"play": "probably"}}}


def test_full_screen_uses_kiosk_and_windowed_an_app_window() -> None:
    options = LaunchOptions()
    kiosk = chromium_argv(options, "/tmp/p", (1920, 0, 1920, 1080), True)
    assert "--kiosk" in kiosk and "--window-position=1920,0" in kiosk and "--window-size=1920,1080" in kiosk
    windowed = chromium_argv(options, "/tmp/p", (40, 40, 960, 540), False)
    assert "--kiosk" not in windowed and any(a.startswith("--app=") for a in windowed)
    headless = chromium_argv(LaunchOptions(headless=True), "/tmp/p", (0, 0, 1, 1), True)
    assert "--headless" in headless and "--kiosk" not in headless
    for argv in (kiosk, windowed):
        assert "--remote-debugging-pipe" in argv and "--user-data-dir=/tmp/p" in argv
        assert "--no-sandbox" not in argv  # only when a test or bench asks for it
        assert not any(a.startswith("--remote-debugging-port") for a in argv)
    assert "--no-sandbox" in chromium_argv(LaunchOptions(no_sandbox=True), "/tmp/p", (0, 0, 1, 1), True)


@pytest.mark.parametrize("flag", ["--remote-debugging-port=9222", "--remote-debugging-address=0.0.0.0",
                                  "--user-data-dir=/home/x", "--auto-open-devtools-for-tabs"])
def test_flags_that_open_the_browser_are_refused(flag: str) -> None:
    with pytest.raises(KioskLockdownError):
        chromium_argv(LaunchOptions(extra_args=(flag,)), "/tmp/p", (0, 0, 1, 1), True)


def test_framer_splits_joins_and_skips_garbage() -> None:
    framer = Framer()
    wire = Framer.encode({"id": 1, "result": {}}) + b"{not json}\0" + Framer.encode({"method": "Page.x"})
    assert framer.feed(wire[:5]) == []
    assert framer.feed(wire[5:]) == [{"id": 1, "result": {}}, {"method": "Page.x"}]
    assert Framer.encode({"a": "ü"}).endswith(b"\0")


def test_profiles_left_behind_are_wiped_but_live_and_young_ones_kept(tmp_path) -> None:
    import os
    import time

    from roomagent.ui.chromium.process import PROFILE_PREFIX, STALE_PROFILE_AGE_S, wipe_stale_profiles

    old = time.time() - 2 * STALE_PROFILE_AGE_S
    dead, live, young = (tmp_path / f"{PROFILE_PREFIX}{n}" for n in ("dead", "live", "young"))
    for path in (dead, live, young):
        path.mkdir()
        (path / "Cookies").write_text("meeting")
    os.symlink("host-999999999", dead / "SingletonLock")
    os.symlink(f"host-{os.getpid()}", live / "SingletonLock")  # a running process holds it
    for path in (dead, live):
        os.utime(path, (old, old))
    other = tmp_path / "someone-elses"
    other.mkdir()
    os.utime(other, (old, old))
    assert wipe_stale_profiles(str(tmp_path)) == 1
    assert not dead.exists() and live.exists() and young.exists() and other.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the refusal concerns an agent running as root")
def test_run_as_root_with_engine_chromium_exits_78_with_the_way_around(tmp_path) -> None:
    config = tmp_path / "room.toml"
    config.write_text('[room]\nid = "r1"\nname = "Room"\n[directory]\nurl = "http://127.0.0.1:9"\n'
                      '[meeting]\nallowed_hosts = ["127.0.0.1"]\n[kiosk]\nengine = "chromium"\nrendering = "software"\n'
                      '[[screens]]\nid = "left"\n')
    env = {k: v for k, v in os.environ.items() if k != "QTWEBENGINE_DISABLE_SANDBOX"}
    done = subprocess.run([sys.executable, "-m", "roomagent", "run", "--config", str(config), "--offscreen",
                           str(tmp_path / "shots")], env={**env, "HOME": str(tmp_path)}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 78, done.stderr[-2000:]
    assert "cannot run as root" in done.stderr and "QTWEBENGINE_DISABLE_SANDBOX=1" in done.stderr
    assert "Traceback" not in done.stderr

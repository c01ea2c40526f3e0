"""The local preview: clear errors without libVLC, and real frames on a real X server.

A short testsrc video made with ffmpeg stands in for the capture card (a profile entry's ``mrl`` override
does the same in a room). The Xvfb part runs in its own process (``preview_child.py``): Qt picks its
platform once per process, and this one is offscreen.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QCoreApplication

from roomagent.devices.preview import MISSING_LIBVLC, MISSING_PLUGINS, VlcPreview

ROOT = Path(__file__).resolve().parents[2]
#: Failure guards only (a cold Chromium and libVLC start on a busy 2-core machine).
GUARD_MS = 5000
CHILD_TIMEOUT_S = 120


def _record(preview: VlcPreview) -> list[str]:
    seen: list[str] = []
    preview.playing.connect(lambda: seen.append("playing"))
    preview.error.connect(lambda message: seen.append(f"error:{message}"))
    preview.stopped.connect(lambda: seen.append("stopped"))
    return seen


def _no_plugins(args):
    return None


def _no_libvlc(args):
    raise OSError("libvlc.so.5: cannot open shared object file")


@pytest.mark.parametrize("factory, message", [(_no_plugins, MISSING_PLUGINS), (_no_libvlc, MISSING_LIBVLC)])
def test_missing_vlc_is_a_clear_error_delivered_through_the_event_loop(qtbot, factory, message):
    preview = VlcPreview(instance_factory=factory)
    qtbot.addWidget(preview)
    seen = _record(preview)
    with qtbot.waitSignal(preview.error, timeout=GUARD_MS) as caught:
        preview.play("v4l2:///dev/video0")
        assert seen == []  # never from inside play(): a caller connects after starting a preview
    assert caught.args == [message] and "vlc-plugin-base" in message
    assert not preview.active
    preview.stop()
    QCoreApplication.processEvents()  # let anything queued arrive
    assert seen == [f"error:{message}"]  # a preview that never played does not "stop"


class FakeVlc:
    """libVLC's instance, player and event manager as far as the preview uses them; fires events from
    another thread, as libVLC does."""

    def __init__(self) -> None:
        self.players: list[SimpleNamespace] = []
        self.callbacks: dict = {}

    def __call__(self, args):
        self.args = list(args)
        return self

    def media_new(self, mrl: str) -> SimpleNamespace:
        return SimpleNamespace(mrl=mrl, release=lambda: None)

    def media_player_new(self) -> SimpleNamespace:
        calls: list = []
        events = SimpleNamespace(event_attach=lambda kind, cb: self.callbacks.__setitem__(kind, cb),
                                 event_detach=lambda kind: self.callbacks.pop(kind))
        player = SimpleNamespace(
            calls=calls, event_manager=lambda: events, video_set_mouse_input=lambda on: calls.append(("mouse", on)),
            video_set_key_input=lambda on: calls.append(("keys", on)), set_xwindow=lambda w: calls.append("xwindow"),
            set_media=lambda m: calls.append(("media", m.mrl)), play=lambda: 0,
            stop=lambda: calls.append("stop"), release=lambda: calls.append("release"))
        self.players.append(player)
        return player

    def fire(self, name: str, count: int = 0) -> None:
        import vlc

        callback = self.callbacks.get(getattr(vlc.EventType, name))
        worker = threading.Thread(target=callback, args=(SimpleNamespace(u=SimpleNamespace(new_count=count)),))
        worker.start()
        worker.join()


def test_playing_error_and_stopped_follow_libvlc_events_from_its_threads(qtbot):
    fake = FakeVlc()
    preview = VlcPreview(instance_factory=fake)
    qtbot.addWidget(preview)
    seen = _record(preview)
    preview.play("v4l2:///dev/video0")
    assert "--no-audio" in fake.args and "--no-xlib" in fake.args
    player = fake.players[0]
    assert player.calls[:3] == [("mouse", False), ("keys", False), "xwindow"]  # taps stay with Qt
    assert ("media", "v4l2:///dev/video0") in player.calls
    with qtbot.waitSignal(preview.playing, timeout=GUARD_MS):
        fake.fire("MediaPlayerVout", 1)
    fake.fire("MediaPlayerVout", 1)  # a second output is no second "playing"
    with qtbot.waitSignal(preview.stopped, timeout=GUARD_MS):
        fake.fire("MediaPlayerEndReached")  # the card went away, or the file ended
    assert player.calls[-2:] == ["stop", "release"] and fake.callbacks == {}  # detached before release
    assert seen == ["playing", "stopped"] and not preview.active

    preview.play("v4l2:///dev/video1")
    with qtbot.waitSignal(preview.error, timeout=GUARD_MS) as caught:
        fake.fire("MediaPlayerEncounteredError")
    assert caught.args == ["VLC could not play v4l2:///dev/video1"]


def test_a_late_report_of_an_earlier_playback_is_ignored(qtbot):
    fake = FakeVlc()
    preview = VlcPreview(instance_factory=fake)
    qtbot.addWidget(preview)
    seen = _record(preview)
    preview.play("file:///a.mkv")
    import vlc

    # libVLC may be inside the first playback's callback while the second playback starts.
    first_vout = fake.callbacks[vlc.EventType.MediaPlayerVout]
    preview.play("file:///b.mkv")
    worker = threading.Thread(target=first_vout, args=(SimpleNamespace(u=SimpleNamespace(new_count=1)),))
    worker.start()
    worker.join()  # its report is queued now
    QCoreApplication.processEvents()
    assert seen == ["stopped"]  # the first playback's end (from the second play()), and no "playing"
    preview.stop()


@pytest.fixture(scope="module")
def test_video(tmp_path_factory) -> Path:
    """60 s of ffmpeg's testsrc (colour bars, moving gradient, counter): long enough never to end mid-test."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is missing")
    path = tmp_path_factory.mktemp("video") / "testsrc.mkv"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                    "-i", "testsrc=size=320x180:rate=10", "-t", "60", "-c:v", "mpeg4", "-q:v", "5", str(path)],
                   check=True, timeout=60)
    return path


@pytest.mark.xvfb
@pytest.mark.skipif(any(shutil.which(t) is None for t in ("Xvfb", "xrandr")), reason="Xvfb/xrandr missing")
def test_preview_covers_the_screen_with_frames_and_gives_back_what_was_shown(test_video):
    from tests.e2e.xvfb import Xvfb

    xvfb = Xvfb().start()
    try:
        done = subprocess.run([sys.executable, "-m", "tests.devices.preview_child", test_video.as_uri()],
                              env={**xvfb.env, "QTWEBENGINE_DISABLE_SANDBOX": "1"}, cwd=ROOT,
                              capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    finally:
        xvfb.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    # A session showing a green page; the preview plays over all of it, frames keep coming.
    assert result["session_loaded"] and result["before"]["green"] > 0.9
    assert result["events_during_call"] == []
    assert result["events"][0] == "playing", result["events"]
    video = result["preview"]
    assert video["dark"] < 0.5 and video["colours"] > 20 and video["spread"] > 40 and video["green"] < 0.3, video
    assert result["frames_changed"] > 0.002, result["frames_changed"]
    assert result["geometry"]["preview"] == result["geometry"]["window"] == [1920, 1080]
    # A notice stays on top of the preview.
    assert result["notice_area_without"]["vivid"] > 0.8 and result["notice_area_with"]["vivid"] < 0.2
    # Stopping gives the session back exactly as it was.
    assert result["preview_after_stop"] is None and result["after"]["green"] > 0.9
    # The session closed underneath a preview: the preview stayed on top; afterwards the idle card shows.
    assert result["preview_over_closed_session"]["dark"] < 0.5, result["preview_over_closed_session"]
    assert result["showing_idle"] and result["idle_after_stop"]["green"] < 0.01
    assert result["idle_after_stop"]["dark"] > 0.8  # the idle card's dark background, not the video
    assert result["events"] == ["playing", "stopped", "playing", "stopped"]

"""The codec probe on both engines' real media stacks, and the reduction of its answer."""

from __future__ import annotations

import functools

import pytest

from roomagent.ui.browser import BrowserSession
from roomagent.ui.chromium.process import LaunchOptions
from roomagent.ui.chromium.session import ChromiumSession
from roomagent.ui.codecs import CODECS, CodecProbe, summarize
from tests.ui.conftest import CHROMIUM_WAIT_MS as WAIT_MS


def test_summarize_keeps_known_codecs_and_types() -> None:
    raw = {"vp8": {"play": "probably", "webrtc_send": True, "webrtc_receive": True},
           "h264": {"play": "bogus", "webrtc_send": "yes"}, "theora": {"play": "probably"}}
    out = summarize(raw)
    assert list(out) == list(CODECS)
    assert out["vp8"] == {"play": "probably", "webrtc_send": True, "webrtc_receive": True}
    assert out["h264"] == {"play": "", "webrtc_send": False, "webrtc_receive": False}
    assert summarize(None)["opus"] == {"play": "", "webrtc_send": False, "webrtc_receive": False}


def _probe(qtbot, factory) -> dict:
    probe = CodecProbe(factory)
    with qtbot.waitSignal(probe.done, timeout=WAIT_MS) as blocker:
        probe.start()
    return blocker.args[0]


def test_qtwebengine_plays_vp8_vp9_opus_and_no_h264_files(qtbot) -> None:
    codecs = _probe(qtbot, BrowserSession)
    for name in ("vp8", "vp9", "opus"):
        assert codecs[name]["play"] == "probably", name
        assert codecs[name]["webrtc_receive"], name
    assert codecs["h264"]["play"] == ""  # PyPI's QtWebEngine is built without proprietary codecs


def test_debian_chromium_plays_h264_too(qtbot, chromium_options: LaunchOptions) -> None:
    codecs = _probe(qtbot, functools.partial(ChromiumSession, options=chromium_options))
    for name in ("vp8", "vp9", "h264", "opus"):
        assert codecs[name]["play"] == "probably", name
        assert codecs[name]["webrtc_send"] and codecs[name]["webrtc_receive"], name


@pytest.mark.parametrize("engine", ["qtwebengine", "chromium"])
def test_probe_session_is_closed_afterwards(qtbot, engine: str, chromium_options: LaunchOptions) -> None:
    made = []

    def factory(*args, **kw):
        cls = BrowserSession if engine == "qtwebengine" else functools.partial(ChromiumSession, options=chromium_options)
        made.append(cls(*args, **kw))
        return made[-1]

    _probe(qtbot, factory)
    qtbot.waitUntil(lambda: made[0].closed, timeout=WAIT_MS)

"""The kiosk lockdown of BrowserSession against real pages on a real local server."""

from __future__ import annotations

import logging
import os
import signal
import socket

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWebEngineCore import QWebEngineDownloadRequest, QWebEnginePage
from PySide6.QtWidgets import QApplication, QWidget

from roomagent.ui.browser import BrowserSession
from roomagent.ui.lockdown import KioskLockdownError

from .conftest import LOAD_TIMEOUT_MS

T = LOAD_TIMEOUT_MS


def _load(qtbot, session: BrowserSession, url: str) -> None:
    with qtbot.waitSignal(session.loaded, timeout=T, check_params_cb=lambda ok, u: ok) as blocker:
        session.load(url)
    assert blocker.args[0] is True


def _refusal(kind: str, detail: str | None = None):
    def check(k: str, d: str) -> bool:
        return k == kind and (detail is None or d == detail)

    return check


def _meeting_paths(server) -> list[str]:
    return [entry["path"] for entry in server.loads()]


def test_run_json_round_trip_returns_a_dict(qtbot, server, make_session) -> None:
    session = make_session()
    _load(qtbot, session, f"{server.url}/meeting/Round%20trip?screen=left")
    with qtbot.waitCallback(timeout=T) as cb:
        session.run_json("({meeting: window.roomagentDemo.meeting, n: [1, 2.5, null], ok: true})", cb)
    cb.assert_called_with({"meeting": "Round trip", "n": [1, 2.5, None], "ok": True}, None)


def test_failed_load_is_reported_as_not_ok(qtbot, make_session) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/meeting/nowhere"
    session = make_session()
    with qtbot.waitSignal(session.loaded, timeout=T) as blocker:
        session.load(dead)
    assert blocker.args == [False, dead]


def test_run_json_reports_exceptions_and_syntax_errors(qtbot, server, make_session) -> None:
    session = make_session()
    _load(qtbot, session, f"{server.url}/meeting/errors")
    with qtbot.waitCallback(timeout=T) as cb:
        session.run_json("(() => { throw new Error('boom'); })()", cb)
    value, error = cb.args
    assert value is None and "boom" in error
    with qtbot.waitCallback(timeout=T) as cb:
        session.run_json("1 +", cb)
    value, error = cb.args
    assert value is None and error


def test_injected_script_runs_in_main_frame_only_and_is_replaced_by_name(qtbot, server, make_session) -> None:
    session = make_session()
    session.add_script("marker", "window.__roomagentMarker = 42;")
    session.add_script("marker", "window.__roomagentMarker = 43;")
    _load(qtbot, session, f"{server.url}/t/frame?src=/meeting/inner")
    expr = (
        "({main: window.__roomagentMarker ?? null,"
        " frameTitle: document.getElementById('f').contentDocument.title,"
        " sub: document.getElementById('f').contentWindow.__roomagentMarker ?? null})"
    )
    with qtbot.waitCallback(timeout=T) as cb:
        session.run_json(expr, cb)
    cb.assert_called_with({"main": 43, "frameTitle": "inner — demo meeting", "sub": None}, None)


def test_window_open_without_a_gesture_returns_null_and_opens_nothing(qtbot, server, make_session) -> None:
    session = make_session()
    windows_before = len(QApplication.topLevelWidgets())
    _load(qtbot, session, f"{server.url}/t/popup-auto")
    qtbot.waitUntil(lambda: session.title.startswith("popup-auto:"), timeout=T)
    assert session.title == "popup-auto:null"
    assert len(QApplication.topLevelWidgets()) == windows_before


def test_window_open_from_a_click_is_refused_and_logged(qtbot, server, make_session, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="roomagent.ui.browser")
    session = make_session()
    windows_before = len(QApplication.topLevelWidgets())
    _load(qtbot, session, f"{server.url}/t/popup-click")
    target = session.widget.focusProxy() or session.widget
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("popup")) as blocker:
        QTest.mouseClick(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 200))
    assert blocker.args[1].endswith("/meeting/popup-target")
    assert any("refused popup" in r.getMessage() for r in caplog.records)
    qtbot.waitUntil(lambda: session.title.startswith("clicked:"), timeout=T)
    # A later load through the same server proves the popup's request would have arrived by now.
    _load(qtbot, session, f"{server.url}/meeting/after-popup")
    assert "/meeting/popup-target" not in _meeting_paths(server)
    assert len(QApplication.topLevelWidgets()) == windows_before
    assert session.url.endswith("/meeting/after-popup")


def test_navigation_to_a_foreign_host_is_refused_and_the_page_stays(qtbot, server, make_session) -> None:
    session = make_session(["127.0.0.1"])
    foreign = f"http://localhost:{server.port}/meeting/foreign"
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("navigation", foreign)):
        session.load(f"{server.url}/t/go-away?to={foreign}")
    assert session.url.startswith(f"{server.url}/t/go-away")
    assert "/meeting/foreign" not in _meeting_paths(server)


def test_navigation_to_a_second_allowed_host_is_followed(qtbot, server, make_session) -> None:
    # The positive control for the test above: same page, the foreign host now allowed.
    session = make_session(["127.0.0.1", "localhost"])
    foreign = f"http://localhost:{server.port}/meeting/foreign"
    with qtbot.waitSignal(session.loaded, timeout=T, check_params_cb=lambda ok, url: url == foreign):
        session.load(f"{server.url}/t/go-away?to={foreign}")
    assert "/meeting/foreign" in _meeting_paths(server)


def test_foreign_iframe_is_refused(qtbot, server, make_session) -> None:
    session = make_session()
    foreign = f"http://localhost:{server.port}/meeting/framed"
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("navigation", foreign)):
        session.load(f"{server.url}/t/frame?src={foreign}")
    assert "/meeting/framed" not in _meeting_paths(server)


def test_download_is_cancelled_and_refused(qtbot, server, make_session, tmp_path) -> None:
    session = make_session()
    session._profile.setDownloadPath(str(tmp_path))
    states = []  # connected after the session's own slot, so it sees the request after the verdict
    session._profile.downloadRequested.connect(lambda download: states.append(download.state()))
    _load(qtbot, session, f"{server.url}/t/links")
    with qtbot.waitSignal(
        session.refused, timeout=T, check_params_cb=_refusal("download", f"{server.url}/t/download")
    ):
        session.run_json("document.getElementById('download').click()", lambda value, error: None)
    assert states == [QWebEngineDownloadRequest.DownloadState.DownloadCancelled]
    assert session.url == f"{server.url}/t/links"
    assert list(tmp_path.iterdir()) == []


def test_file_link_is_refused(qtbot, server, make_session) -> None:
    session = make_session()
    _load(qtbot, session, f"{server.url}/t/links")
    with qtbot.waitSignal(
        session.refused, timeout=T, check_params_cb=_refusal("file", "file:///etc/hostname")
    ):
        session.run_json("document.getElementById('file').click()", lambda value, error: None)
    assert session.url == f"{server.url}/t/links"


def test_loading_a_file_url_is_refused(qtbot, server, make_session) -> None:
    session = make_session()
    _load(qtbot, session, f"{server.url}/meeting/stay")
    with qtbot.waitSignal(
        session.refused, timeout=T, check_params_cb=_refusal("file", "file:///etc/hostname")
    ):
        session.load("file:///etc/hostname")
    assert session.url == f"{server.url}/meeting/stay"


def test_camera_is_denied_to_a_non_media_session(qtbot, server, make_session) -> None:
    session = make_session(media=False)
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("permission")) as blocker:
        session.load(f"{server.url}/t/media")
    assert blocker.args[1] == f"MediaVideoCapture for {server.url}/"
    qtbot.waitUntil(
        lambda: session.title.startswith("media:") and session.title != "media:pending", timeout=T
    )
    # QtWebEngine answers a denied media request with INVALID_STATE, which pages see as AbortError
    # (Chrome proper says NotAllowedError); either way the page gets no stream.
    assert session.title.startswith("media:error:")


@pytest.mark.parametrize(("audio", "tracks"), [("0", "video"), ("1", "audio,video")])
def test_camera_and_microphone_are_granted_to_the_media_session(
    qtbot, server, make_session, audio, tracks
) -> None:
    session = make_session(media=True)
    session.load(f"{server.url}/t/media?audio={audio}")
    qtbot.waitUntil(
        lambda: session.title.startswith("media:") and session.title != "media:pending", timeout=T
    )
    assert session.title == f"media:ok:{tracks}"


def test_geolocation_is_denied_even_to_the_media_session(qtbot, server, make_session) -> None:
    session = make_session(media=True)
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("permission")) as blocker:
        session.load(f"{server.url}/t/geolocation")
    assert blocker.args[1].startswith("Geolocation for ")
    qtbot.waitUntil(lambda: session.title.startswith("geo:error:"), timeout=T)


def test_javascript_dialogs_are_answered_without_a_window(qtbot, server, make_session) -> None:
    session = make_session()
    windows_before = len(QApplication.topLevelWidgets())
    session.load(f"{server.url}/t/dialogs")
    qtbot.waitUntil(
        lambda: session.title.startswith("dialogs:") and session.title != "dialogs:pending", timeout=T
    )
    assert session.title == "dialogs:false:null"
    assert QApplication.activeModalWidget() is None
    assert len(QApplication.topLevelWidgets()) == windows_before


def test_devtools_and_context_menu_are_off(qtbot, server, make_session) -> None:
    session = make_session()
    assert session.widget.contextMenuPolicy() == Qt.ContextMenuPolicy.NoContextMenu
    _load(qtbot, session, f"{server.url}/meeting/inspect")
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("devtools")):
        session.widget.pageAction(QWebEnginePage.WebAction.InspectElement).trigger()
    assert session._page.devToolsPage() is None


def test_remote_debugging_configuration_refuses_to_start(monkeypatch) -> None:
    monkeypatch.setenv("QTWEBENGINE_REMOTE_DEBUGGING", "9222")
    with pytest.raises(KioskLockdownError):
        BrowserSession("nope", [], False)


def test_killed_renderer_is_reloaded_with_the_same_profile(qtbot, server, make_session) -> None:
    session = make_session()
    _load(qtbot, session, f"{server.url}/meeting/crashy")
    first_pid = session.renderer_pid
    assert first_pid > 0
    with qtbot.waitSignals([session.crashed, session.loaded], timeout=T, order="strict"):
        os.kill(first_pid, signal.SIGKILL)
    loads = server.loads()
    assert [e["path"] for e in loads] == ["/meeting/crashy", "/meeting/crashy"]
    assert loads[1]["cookies"] == {"demo_session": loads[0]["session"]}  # same profile, same cookie
    assert session.renderer_pid not in (0, first_pid)


def test_renderer_that_keeps_crashing_is_given_up(qtbot, server, make_session) -> None:
    session = make_session(clock=lambda: 500.0)  # every crash falls inside the window
    _load(qtbot, session, f"{server.url}/meeting/crash-loop")
    for _ in range(2):
        with qtbot.waitSignals([session.crashed, session.loaded], timeout=T, order="strict"):
            os.kill(session.renderer_pid, signal.SIGKILL)
    with qtbot.waitSignal(session.gave_up, timeout=T) as blocker:
        os.kill(session.renderer_pid, signal.SIGKILL)
    assert blocker.args == [3]
    with qtbot.assertNotEmitted(session.loaded, wait=1500):
        pass
    assert len(server.loads()) == 3


def test_close_after_the_parent_widget_died_still_destroys_the_profile(qtbot) -> None:
    host = QWidget()
    session = BrowserSession("orphan", [], False, host)
    profile, page = session._profile, session._page
    with qtbot.waitSignal(page.destroyed, timeout=T):
        host.deleteLater()
    with qtbot.waitSignal(profile.destroyed, timeout=T):
        session.close()
    assert session.closed and session.url == ""


def test_a_closed_session_is_destroyed_from_the_event_loop(qtbot) -> None:
    # Held by this test the whole time: close() alone hands the session to Qt's deferred deletion.
    session = BrowserSession("closed-later", [], False, None)
    with qtbot.waitSignal(session.destroyed, timeout=T):
        session.close()


def test_a_refused_main_frame_navigation_is_signalled_a_refused_iframe_is_not(qtbot, server, make_session) -> None:
    session = make_session(["127.0.0.1"])
    main: list[str] = []
    session.navigation_refused.connect(main.append)
    framed = f"http://localhost:{server.port}/meeting/framed"
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("navigation", framed)):
        session.load(f"{server.url}/t/frame?src={framed}")
    _load(qtbot, session, f"{server.url}/meeting/settled")  # the frame's refusal has been delivered by now
    assert main == []  # a foreign iframe does not stop the page
    foreign = f"http://localhost:{server.port}/meeting/foreign"
    with qtbot.waitSignal(session.navigation_refused, timeout=T) as blocker:
        session.load(f"{server.url}/t/go-away?to={foreign}")
    assert blocker.args == [foreign]

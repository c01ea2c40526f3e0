"""The Chromium engine's page policy against real pages: the same lockdown as the QtWebEngine session
(tests/ui/test_browser_session.py), enforced over the DevTools pipe."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

from roomagent.ui.chromium.session import ChromiumSession
from tests.ui.conftest import CHROMIUM_WAIT_MS as T


def _load(qtbot, session: ChromiumSession, url: str) -> None:
    with qtbot.waitSignal(session.loaded, timeout=T, check_params_cb=lambda ok, u: ok and u == url):
        session.load(url)


def _run(qtbot, session: ChromiumSession, expression: str):
    with qtbot.waitCallback(timeout=T) as cb:
        session.run_json(expression, cb)
    return tuple(cb.args)


def _refusal(kind: str, detail: str | None = None):
    return lambda k, d: k == kind and (detail is None or d == detail)


def _paths(server) -> list[str]:
    return [entry["path"] for entry in server.loads()]


def _title_settles(qtbot, session: ChromiumSession, prefix: str) -> str:
    qtbot.waitUntil(lambda: session.title.startswith(prefix) and not session.title.endswith(":pending"), timeout=T)
    return session.title


def test_run_json_round_trip_and_errors(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    _load(qtbot, session, f"{server.url}/meeting/Round%20trip?screen=left")
    assert _run(qtbot, session, "({meeting: window.roomagentDemo.meeting, n: [1, 2.5, null]})") == (
        {"meeting": "Round trip", "n": [1, 2.5, None]}, None)
    value, error = _run(qtbot, session, "(() => { throw new Error('boom'); })()")
    assert value is None and "boom" in error
    value, error = _run(qtbot, session, "1 +")
    assert value is None and error


def test_failed_load_is_reported_as_not_ok(qtbot, make_chromium) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/meeting/nowhere"
    session = make_chromium()
    with qtbot.waitSignal(session.loaded, timeout=T) as blocker:
        session.load(dead)
    assert blocker.args == [False, dead]


def test_injected_script_runs_in_main_frame_only_and_is_replaced_by_name(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    session.add_script("marker", "window.__roomagentMarker = 42;")
    session.add_script("marker", "window.__roomagentMarker = 43;")
    _load(qtbot, session, f"{server.url}/t/frame?src=/meeting/inner")
    qtbot.waitUntil(lambda: _run(qtbot, session, "document.getElementById('f').contentDocument.readyState")[0]
                    == "complete", timeout=T)
    value, error = _run(qtbot, session, "({main: window.__roomagentMarker ?? null,"
                                        " sub: document.getElementById('f').contentWindow.__roomagentMarker ?? null})")
    assert (value, error) == ({"main": 43, "sub": None}, None)


def test_bridge_hears_the_main_frame_only(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    session.enable_bridge()
    session.add_script("hello", "window.__roomagent.post({type: 'hello', top: window === window.top});")
    with qtbot.waitSignal(session.message, timeout=T) as blocker:
        session.load(f"{server.url}/t/frame?src=/meeting/inner")
    assert blocker.args == [{"type": "hello", "top": True}]
    # A sub-frame has Chromium's raw binding, but whatever it sends is not the page's word.
    with qtbot.assertNotEmitted(session.message, wait=1500):
        _run(qtbot, session, "document.getElementById('f').contentWindow.__roomagentBinding("
                             "JSON.stringify({type: 'forged'}))")
    with qtbot.waitSignal(session.message, timeout=T) as blocker:
        _run(qtbot, session, "window.__roomagent.post({type: 'again', n: 2})")
    assert blocker.args == [{"type": "again", "n": 2}]


def test_navigation_to_a_foreign_host_is_refused_and_the_page_stays(qtbot, server, make_chromium) -> None:
    session = make_chromium(["127.0.0.1"])
    foreign = f"http://localhost:{server.port}/meeting/foreign"
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("navigation", foreign)):
        session.load(f"{server.url}/t/go-away?to={foreign}")
    _run(qtbot, session, "1")  # one more round trip: the refused navigation has settled
    assert session.url.startswith(f"{server.url}/t/go-away")
    assert "/meeting/foreign" not in _paths(server)


def test_navigation_to_a_second_allowed_host_is_followed(qtbot, server, make_chromium) -> None:
    session = make_chromium(["127.0.0.1", "localhost"])
    foreign = f"http://localhost:{server.port}/meeting/foreign"
    with qtbot.waitSignal(session.loaded, timeout=T, check_params_cb=lambda ok, url: url == foreign):
        session.load(f"{server.url}/t/go-away?to={foreign}")
    assert "/meeting/foreign" in _paths(server)


def test_foreign_iframe_is_refused(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    foreign = f"http://localhost:{server.port}/meeting/framed"
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("navigation", foreign)):
        session.load(f"{server.url}/t/frame?src={foreign}")
    assert "/meeting/framed" not in _paths(server)


def test_download_is_refused(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    _load(qtbot, session, f"{server.url}/t/links")
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("download", f"{server.url}/t/download")):
        session.run_json("document.getElementById('download').click()", lambda value, error: None)
    assert session.url == f"{server.url}/t/links"


def test_file_link_and_file_load_are_refused(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    _load(qtbot, session, f"{server.url}/t/links")
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("file", "file:///etc/hostname")):
        session.run_json("document.getElementById('file').click()", lambda value, error: None)
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("file", "file:///etc/hostname")):
        session.load("file:///etc/hostname")
    assert session.url == f"{server.url}/t/links"


def test_popup_is_closed_and_refused(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    _load(qtbot, session, f"{server.url}/t/links")
    # A popup needs a user gesture; the protocol can lend one, as a click on the projector would.
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("popup")):
        session._send("Runtime.evaluate", {"expression": "window.open('/meeting/popup-target')", "userGesture": True})
    _load(qtbot, session, f"{server.url}/meeting/after-popup")
    assert "/meeting/popup-target" not in _paths(server)


def test_camera_is_denied_to_a_non_media_session(qtbot, server, make_chromium) -> None:
    session = make_chromium(media=False)
    session.load(f"{server.url}/t/media")
    assert _title_settles(qtbot, session, "media:").startswith("media:error:")


def test_camera_and_microphone_are_granted_to_the_media_session(qtbot, server, make_chromium) -> None:
    session = make_chromium(media=True)
    session.load(f"{server.url}/t/media?audio=1")
    assert _title_settles(qtbot, session, "media:") == "media:ok:audio,video"


def test_geolocation_is_denied_even_to_the_media_session(qtbot, server, make_chromium) -> None:
    session = make_chromium(media=True)
    session.load(f"{server.url}/t/geolocation")
    assert _title_settles(qtbot, session, "geo:").startswith("geo:error:")


def test_javascript_dialogs_are_answered(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    session.load(f"{server.url}/t/dialogs")
    assert _title_settles(qtbot, session, "dialogs:") == "dialogs:false:null"


def test_wrapper_page_gets_the_base_origin_without_a_request(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    base = f"{server.url}/wrapper/room"
    with qtbot.waitSignal(session.loaded, timeout=T, check_params_cb=lambda ok, url: ok and url == base):
        session.load_html("<title>wrapper</title><p>local</p>", base)
    assert _run(qtbot, session, "({title: document.title, origin: location.origin})") == (
        {"title": "wrapper", "origin": server.url}, None)
    assert "/wrapper/room" not in _paths(server)


def test_unload_goes_to_about_blank(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    _load(qtbot, session, f"{server.url}/meeting/bye")
    with qtbot.waitSignal(session.loaded, timeout=T, check_params_cb=lambda ok, url: url == "about:blank"):
        session.unload()
    assert session.unloading


def test_killed_renderer_is_reloaded_with_the_same_profile(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    _load(qtbot, session, f"{server.url}/meeting/crashy")
    qtbot.waitUntil(lambda: session.renderer_pid > 0, timeout=T)
    first = session.renderer_pid
    with qtbot.waitSignals([session.crashed, session.loaded], timeout=T, order="strict"):
        os.kill(first, signal.SIGKILL)
    loads = server.loads()
    assert [e["path"] for e in loads] == ["/meeting/crashy", "/meeting/crashy"]
    assert loads[1]["cookies"] == {"demo_session": loads[0]["session"]}  # same profile, same cookie


def test_renderer_that_keeps_crashing_is_given_up(qtbot, server, make_chromium) -> None:
    session = make_chromium(clock=lambda: 500.0)  # every crash falls inside the window
    _load(qtbot, session, f"{server.url}/meeting/crash-loop")
    for _ in range(2):
        with qtbot.waitSignals([session.crashed, session.loaded], timeout=T, order="strict"):
            session._send("Page.crash", {})
    with qtbot.waitSignal(session.gave_up, timeout=T) as blocker:
        session._send("Page.crash", {})
    assert blocker.args == [3]
    with qtbot.assertNotEmitted(session.loaded, wait=1500):
        pass


def test_browser_that_died_is_restarted_with_scripts_and_page(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    session.add_script("marker", "window.__roomagentMarker = 7;")
    _load(qtbot, session, f"{server.url}/meeting/phoenix")
    first = session.browser_pid
    with qtbot.waitSignals([session.crashed, session.loaded], timeout=T, order="strict"):
        os.kill(first, signal.SIGKILL)
    assert session.browser_pid not in (0, first)
    assert _run(qtbot, session, "window.__roomagentMarker") == (7, None)


def test_close_ends_the_browser_and_wipes_its_profile(qtbot, server, make_chromium) -> None:
    session = make_chromium()
    _load(qtbot, session, f"{server.url}/meeting/wipe")
    pid, profile_dir = session.browser_pid, Path(session._process.user_data_dir)
    assert profile_dir.is_dir()
    session.close()
    assert session.closed and session.url == "" and session.browser_pid == 0
    assert not profile_dir.exists()
    assert not Path(f"/proc/{pid}").exists()
    session.close()  # idempotent


def test_screen_window_runs_a_chromium_session_and_ends_it(qtbot, server, chromium_options) -> None:
    import functools

    from roomagent.ui.screen import ScreenWindow

    window = ScreenWindow("left", "Lecture Hall 1", session_factory=functools.partial(ChromiumSession,
                                                                                        options=chromium_options))
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    session = window.open_session(None, ["127.0.0.1"], False)
    assert isinstance(session, ChromiumSession) and not window.showing_idle
    _load(qtbot, session, f"{server.url}/meeting/in-a-window")
    pid = session.browser_pid
    window.close_session()
    assert window.showing_idle and session.closed
    assert not Path(f"/proc/{pid}").exists()


def test_a_closed_session_is_destroyed_from_the_event_loop(qtbot, server, make_chromium) -> None:
    # close() often runs inside one of the session's own signals (the meeting ended): the session, its
    # process object and that process's socket notifiers must die later, from the event loop, even while
    # someone still holds the session.
    session = make_chromium()
    _load(qtbot, session, f"{server.url}/meeting/destroyed-later")
    with qtbot.waitSignal(session.destroyed, timeout=T):
        session.close()
        assert session.closed and session._process is not None  # nothing destroyed during close() itself


def test_a_title_set_before_the_binding_exists_is_reported_once_it_does(qtbot, server, make_chromium) -> None:
    # In a new document Chromium may install the binding a moment after the title script ran (seen as a
    # flaky "title never settles"); a title set in that gap must still arrive. The script is run again
    # here under a binding name that only appears 100 ms later.
    from roomagent.ui.chromium.scripts import TITLE_BINDING, TITLE_JS

    session = make_chromium()
    _load(qtbot, session, f"{server.url}/meeting/late-binding")
    script = TITLE_JS.replace(TITLE_BINDING, "__lateTitle")
    started = _run(qtbot, session, "(() => { window.__got = [];\n" + script + "\ndocument.title = 'early';"
                   " setTimeout(() => { window.__lateTitle = (t) => window.__got.push(t); }, 100); return true; })()")
    assert started == (True, None)
    qtbot.waitUntil(lambda: _run(qtbot, session, "window.__got") == (["early"], None), timeout=T)


def test_a_refused_main_frame_navigation_is_signalled_a_refused_iframe_is_not(qtbot, server, make_chromium) -> None:
    session = make_chromium(["127.0.0.1"])
    main: list[str] = []
    session.navigation_refused.connect(main.append)
    framed = f"http://localhost:{server.port}/meeting/framed"
    with qtbot.waitSignal(session.refused, timeout=T, check_params_cb=_refusal("navigation", framed)):
        session.load(f"{server.url}/t/frame?src={framed}")
    _run(qtbot, session, "1")
    assert main == []  # a foreign iframe does not stop the page
    foreign = f"http://localhost:{server.port}/meeting/foreign"
    with qtbot.waitSignal(session.navigation_refused, timeout=T) as blocker:
        session.load(f"{server.url}/t/go-away?to={foreign}")
    assert blocker.args == [foreign]


def test_the_screen_windows_notice_is_shown_in_the_page_above_it(qtbot, server, chromium_options) -> None:
    # Chromium's window covers the screen window that draws the banner: the banner goes into the page.
    import functools

    from roomagent.ui.screen import ScreenWindow

    window = ScreenWindow("left", "Lecture Hall 1", session_factory=functools.partial(ChromiumSession,
                                                                                        options=chromium_options))
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    session = window.open_session(None, ["127.0.0.1"], False)
    _load(qtbot, session, f"{server.url}/meeting/with-notice")
    strip = "(() => { const e = document.getElementById('__roomagent_notice'); return e ? e.textContent : null; })()"
    assert _run(qtbot, session, strip) == (None, None)
    window.show_message("We start in 5 minutes", 60)
    qtbot.waitUntil(lambda: _run(qtbot, session, strip) == ("We start in 5 minutes", None), timeout=T)
    window.show_message("Back at 10:15", 60)
    qtbot.waitUntil(lambda: _run(qtbot, session, strip) == ("Back at 10:15", None), timeout=T)
    _load(qtbot, session, f"{server.url}/meeting/next-page")  # a new document gets the strip again
    qtbot.waitUntil(lambda: _run(qtbot, session, strip) == ("Back at 10:15", None), timeout=T)
    window.clear_notice()
    qtbot.waitUntil(lambda: _run(qtbot, session, strip) == (None, None), timeout=T)
    window.close_session()

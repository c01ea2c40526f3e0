"""The assembled agent (panel, windows, directory client) against the real reference directory over HTTP
and the demo meeting server: every error path a teacher can meet, and the happy path."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from roomagent.core.state import ErrorKind, Lifecycle
from roomagent.directory.client import CodeNotFound, DirectoryClient
from tests.app.conftest import WAIT_MS, new_code, type_code, wait_error


def test_generic_meeting_page_opens_on_the_media_screen_only(qtbot, make_agent, directory, meeting):
    agent = make_agent(directory.url)
    httpx.post(meeting.url + "/_reset")
    type_code(qtbot, agent, new_code(directory.url, f"{meeting.url}/meeting/lecture"))
    qtbot.waitUntil(lambda: agent.state.lifecycle is Lifecycle.IN_MEETING, timeout=WAIT_MS)
    assert agent.windows["left"].session is not None and agent.windows["right"].session is None
    assert len(httpx.get(meeting.url + "/_loads").json()) == 1
    assert agent.state.capabilities == () and agent.state.layouts == ()


def test_unknown_code(qtbot, make_agent, directory):
    agent = make_agent(directory.url)
    type_code(qtbot, agent, "K7M4QX9TB")
    wait_error(qtbot, agent, ErrorKind.CODE_NOT_FOUND)
    assert "unknown or has expired" in agent.panel.message_label.text()


def test_directory_down(qtbot, make_agent):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    agent = make_agent(f"http://127.0.0.1:{port}")
    type_code(qtbot, agent, "K7M4QX9TB")
    wait_error(qtbot, agent, ErrorKind.DIRECTORY_UNAVAILABLE)
    assert "cannot reach the meeting directory" in agent.panel.message_label.text()


def test_directory_that_hangs_is_reported_and_the_panel_stays_usable(qtbot, make_agent):
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_say_nothing() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept_and_say_nothing, daemon=True)
    thread.start()
    try:
        agent = make_agent(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout_s=0.5)
        type_code(qtbot, agent, "K7M4QX9TB")
        assert agent.state.lifecycle is Lifecycle.REDEEMING  # the Qt loop is not blocked meanwhile
        assert agent.panel.busy_label.text() == "Checking the code…"
        wait_error(qtbot, agent, ErrorKind.DIRECTORY_UNAVAILABLE)
        assert accepted, "the agent never connected"
    finally:
        stop.set()
        thread.join()
        listener.close()
        for conn in accepted:
            conn.close()


def test_too_many_attempts_count_down(qtbot, make_agent, directory):
    agent = make_agent(directory.url)
    for _ in range(3):
        type_code(qtbot, agent, "K7M4QX9TB")
        wait_error(qtbot, agent, ErrorKind.CODE_NOT_FOUND)
        agent.panel.clear_code()
    type_code(qtbot, agent, "K7M4QX9TB")
    wait_error(qtbot, agent, ErrorKind.RATE_LIMITED)
    assert agent.state.error.retry_at > agent.state.error.at
    assert "Too many attempts. Please wait" in agent.panel.message_label.text()
    assert not agent.panel.join_button.isEnabled()


def test_meeting_host_not_allowed_opens_nothing(qtbot, make_agent, directory, meeting):
    agent = make_agent(directory.url, allowed=("localhost",))
    meeting_server_loads = meeting.url + "/_loads"
    before = len(httpx.get(meeting_server_loads).json())
    type_code(qtbot, agent, new_code(directory.url, f"{meeting.url}/meeting/elsewhere"))
    wait_error(qtbot, agent, ErrorKind.HOST_NOT_ALLOWED)
    assert "127.0.0.1, which this room is not allowed to open" in agent.panel.message_label.text()
    assert len(httpx.get(meeting_server_loads).json()) == before


def test_join_opens_two_separate_sessions_then_leave_tears_them_down(qtbot, make_agent, directory, bbb_server):
    agent = make_agent(directory.url)
    code = new_code(directory.url, bbb_server.join_url("m1"))
    type_code(qtbot, agent, code.lower())
    qtbot.waitUntil(lambda: agent.state.lifecycle is Lifecycle.IN_MEETING, timeout=WAIT_MS)
    # One BigBlueButton session per screen, each joined by its own browser profile with its own cookie.
    minted = [r for r in bbb_server.log("getJoinUrl") if r["ok"]]
    assert sorted(r["session_name"] for r in minted) == ["left", "right"]
    assert all(w.session is not None for w in agent.windows.values())
    assert agent.panel.connected_label.text() == "Connected to 127.0.0.1"
    # The code was single use: a second room typing it gets "unknown".
    with pytest.raises(CodeNotFound):
        DirectoryClient(directory.url).redeem(code)

    agent.panel.leave_button.click()
    qtbot.waitUntil(lambda: agent.state.lifecycle is Lifecycle.IDLE, timeout=WAIT_MS)
    assert all(w.session is None for w in agent.windows.values())
    assert agent.state.meeting is None and agent.panel.typed == ""

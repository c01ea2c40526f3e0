"""Fixtures for the screen-window and screen-session tests: real QtWebEngine (offscreen) and real Debian
Chromium (headless, over the DevTools pipe) against the same fake pages on a real local server.

The process-wide environment (offscreen, no sandbox as root, fake camera/microphone so getUserMedia has
a device once *our* permission policy grants it) is set by the root ``conftest.py`` before any
QApplication exists. Chromium runs with ``--no-sandbox`` here only because the tests run as root; the
flag is an explicit option that no production path sets. The window placement of a full-screen Chromium
session is exercised by ``tests/bench/bench_video.py`` under Xvfb and by ``tests/session``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

# QtWebEngineWidgets must be imported before the QApplication is created.
from PySide6 import QtWebEngineWidgets  # noqa: F401 - imported for its side effect, see above
from PySide6.QtWidgets import QVBoxLayout, QWidget

from roomagent.serving import RunningServer, run_in_thread
from roomagent.ui.browser import BrowserSession
from roomagent.ui.chromium.process import LaunchOptions
from roomagent.ui.chromium.session import ChromiumSession
from roomagent.ui.screen import ScreenWindow
from tests.demo.kiosk_pages import create_kiosk_test_app

# What Qt says once per process when it starts Chromium in a container without a GPU (OpenGL and
# Vulkan probes fail, software rendering is used). Nothing a test can change; matched exactly.
NO_GPU_WARNINGS = (
    r"^QRhiGles2: Failed to create (temporary )?context$",
    r"^Failed to create RHI for backend: OpenGL$",
    r"^This plugin does not support createPlatformVulkanInstance$",
    r"^QVulkanInstance: Failed to initialize Vulkan$",
    r"^GBM is not supported with the current configuration and Vulkan is not available\."
    r" Fallback to software rendering\.$",
    r"^GPUInfo not initialized on GpuInfoUpdate$",
)

_HERE = Path(__file__).parent
LOAD_TIMEOUT_MS = 20_000  # failure guard only: a cold Chromium start on 2 cores takes a few seconds


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.qt_log_ignore(*NO_GPU_WARNINGS))


class Server:
    """The running fake meeting server plus helpers to read its load log."""

    def __init__(self, running: RunningServer, app) -> None:
        self.running = running
        self.app = app
        self.url = running.url
        self.port = running.port

    def loads(self) -> list[dict]:
        """The load log, fetched over HTTP the way any client would."""
        return httpx.get(f"{self.url}/_loads", timeout=5).json()

    def reset(self) -> None:
        httpx.post(f"{self.url}/_reset", timeout=5).raise_for_status()


@pytest.fixture(scope="session")
def _running_server() -> Iterator[Server]:
    app = create_kiosk_test_app()
    with run_in_thread(app) as running:
        yield Server(running, app)


@pytest.fixture
def server(_running_server: Server) -> Server:
    """The fake meeting server on 127.0.0.1 with an empty load log."""
    _running_server.reset()
    return _running_server


def shown_in_host(qtbot, hosts: list[QWidget], build: Callable[[QWidget], Any]) -> Any:
    """``build(host)`` a session in a fresh, shown 800x600 host widget that its widget fills; the host is
    kept in ``hosts`` (qtbot only keeps weak references)."""
    host = QWidget()
    host.resize(800, 600)
    qtbot.addWidget(host)
    hosts.append(host)
    session = build(host)
    layout = QVBoxLayout(host)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(session.widget)
    host.show()
    return session


def _wait_gone(qtbot, session: BrowserSession) -> None:
    profile = session._profile
    with qtbot.waitSignal(profile.destroyed, timeout=LOAD_TIMEOUT_MS):
        session.close()


@pytest.fixture
def make_session(qtbot) -> Iterator[Callable[..., BrowserSession]]:
    """Factory for bare BrowserSessions in a shown host widget; all are closed (profile gone) afterwards."""
    made: list[BrowserSession] = []
    hosts: list[QWidget] = []  # qtbot only keeps weak references

    def make(allowed_hosts: list[str] | None = None, media: bool = False, **kw) -> BrowserSession:
        session = shown_in_host(qtbot, hosts, lambda host: BrowserSession(
            f"test-{len(made) + 1}", allowed_hosts or [], media, host, **kw))
        made.append(session)
        return session

    yield make
    for session in made:
        if not session.closed:
            _wait_gone(qtbot, session)


@pytest.fixture
def make_window(qtbot) -> Iterator[Callable[..., ScreenWindow]]:
    """Factory for shown ScreenWindows (1280x720); open sessions are closed and their profiles awaited."""
    made: list[ScreenWindow] = []  # also keeps them alive: qtbot only holds weak references

    def make(screen_id: str = "left", room_name: str = "Lecture Hall 1", **kw) -> ScreenWindow:
        window = ScreenWindow(screen_id, room_name, **kw)
        qtbot.addWidget(window)
        window.resize(1280, 720)
        window.show()
        made.append(window)
        return window

    yield make
    for window in made:
        session = window.session
        if session is not None:
            with qtbot.waitSignal(session._profile.destroyed, timeout=LOAD_TIMEOUT_MS):
                window.close_session()


#: Failure guard of the Chromium tests only: a cold Chromium start on two busy cores takes a few seconds.
CHROMIUM_WAIT_MS = 30_000
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def chromium_options() -> LaunchOptions:
    """How the tests start Chromium: headless, fake camera, no sandbox (root)."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian's chromium is not installed (make setup)")
    return LaunchOptions(path=CHROMIUM, no_sandbox=True, headless=True, extra_args=("--use-fake-device-for-media-stream",))


@pytest.fixture
def make_chromium(qtbot, chromium_options: LaunchOptions) -> Iterator[Callable[..., ChromiumSession]]:
    """Factory for ChromiumSessions in a shown host widget; every one is closed afterwards."""
    made: list[ChromiumSession] = []
    hosts: list[QWidget] = []

    def make(allowed_hosts: list[str] | None = None, media: bool = False, **kw) -> ChromiumSession:
        options = kw.pop("options", chromium_options)
        session = shown_in_host(qtbot, hosts, lambda host: ChromiumSession(
            f"test-{len(made) + 1}", allowed_hosts or [], media, host, options=options, **kw))
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()

"""Fixtures for the screen-window tests: real QtWebEngine, offscreen, against real local servers.

The environment is set here, at import, because Qt and Chromium read it once per process before the
QApplication exists: offscreen rendering, no sandbox (we run as root) and a fake camera/microphone
so getUserMedia has a device once *our* permission policy grants it (no fake UI that would grant
it behind our back).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
_FAKE_MEDIA = "--use-fake-device-for-media-stream"
if _FAKE_MEDIA not in os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", ""):
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = (
        f"{os.environ.get('QTWEBENGINE_CHROMIUM_FLAGS', '')} {_FAKE_MEDIA}".strip()
    )

# QtWebEngineWidgets must be imported before the QApplication is created.
from PySide6 import QtWebEngineWidgets  # noqa: E402,F401
from PySide6.QtWidgets import QVBoxLayout, QWidget  # noqa: E402

from roomagent.serving import RunningServer, run_in_thread  # noqa: E402
from roomagent.ui.browser import BrowserSession  # noqa: E402
from roomagent.ui.screen import ScreenWindow  # noqa: E402
from tests.demo.kiosk_pages import create_kiosk_test_app  # noqa: E402

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

"""Fixtures for the screen-engine tests: real Debian Chromium (headless, over the DevTools pipe) and real
QtWebEngine against the same fake pages on a real local server.

Chromium runs with ``--no-sandbox`` here only because the tests run as root; the flag is an explicit
option that no production path sets. Headless keeps these tests free of a display; the window
placement of a full-screen session is exercised by ``tests/bench/bench_video.py`` under Xvfb.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtWidgets import QWidget

from roomagent.ui.chromium.process import LaunchOptions
from roomagent.ui.chromium.session import ChromiumSession
from tests.ui.conftest import NO_GPU_WARNINGS, _running_server, server, shown_in_host  # noqa: F401 - shared fixtures

#: Failure guard only: a cold Chromium start on two busy cores takes a few seconds.
WAIT_MS = 30_000
CHROMIUM = "/usr/bin/chromium"
FAKE_MEDIA = "--use-fake-device-for-media-stream"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/video" in str(item.path):
            item.add_marker(pytest.mark.qt_log_ignore(*NO_GPU_WARNINGS))


@pytest.fixture
def chromium_options() -> LaunchOptions:
    """How the tests start Chromium: headless, fake camera, no sandbox (root)."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian's chromium is not installed (make setup)")
    return LaunchOptions(path=CHROMIUM, no_sandbox=True, headless=True, extra_args=(FAKE_MEDIA,))


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

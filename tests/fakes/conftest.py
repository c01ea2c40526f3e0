"""Fixtures for the tests of the fake meeting servers: the servers (from ``fixtures.py``) and real
QtWebEngine sessions, offscreen.

Qt and Chromium read their environment once per process; ``tests/conftest.py`` sets it (offscreen, no
sandbox as root, Chromium's fake camera/microphone) before any QApplication exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# The process-wide Qt/Chromium environment (offscreen, no sandbox, fake camera) is set by the root
# conftest before any QApplication exists; the no-GPU warnings are the screen-window tests' list.
from PySide6.QtWidgets import QVBoxLayout, QWidget  # noqa: E402

from roomagent.ui.browser import BrowserSession  # noqa: E402
from tests.fakes.fixtures import (  # noqa: E402,F401
    bbb2_server,
    bbb30_server,
    bbb_server,
    jitsi_server,
    scalelite_server,
)
from tests.ui.conftest import NO_GPU_WARNINGS  # noqa: E402

_HERE = Path(__file__).parent
LOAD_TIMEOUT_MS = 20_000  # failure guard only: a cold Chromium start on 2 cores takes a few seconds
#: ``make_session(allowed_hosts, media=False) -> BrowserSession``
MakeSession = Callable[..., BrowserSession]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.qt_log_ignore(*NO_GPU_WARNINGS))


@pytest.fixture
def make_session(qtbot) -> Iterator[Callable[..., BrowserSession]]:  # noqa: ANN001
    """Factory for BrowserSessions in a shown host widget; all are closed (profile gone) afterwards."""
    made: list[BrowserSession] = []
    hosts: list[QWidget] = []  # qtbot only keeps weak references

    def make(allowed_hosts: list[str], media: bool = False) -> BrowserSession:
        host = QWidget()
        host.resize(800, 600)
        qtbot.addWidget(host)
        hosts.append(host)
        layout = QVBoxLayout(host)
        layout.setContentsMargins(0, 0, 0, 0)
        session = BrowserSession(f"fake-{len(made) + 1}", allowed_hosts, media, host)
        layout.addWidget(session.widget)
        host.show()
        made.append(session)
        return session

    yield make
    for session in made:
        if not session.closed:
            with qtbot.waitSignal(session._profile.destroyed, timeout=LOAD_TIMEOUT_MS):
                session.close()

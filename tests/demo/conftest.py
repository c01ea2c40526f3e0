"""Fixtures for the tests of the fake meeting servers: the servers (from ``fixtures.py``) and real
QtWebEngine sessions, offscreen.

Qt and Chromium read their environment once per process; ``tests/conftest.py`` sets it (offscreen, no
sandbox as root, Chromium's fake camera/microphone) before any QApplication exists.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

# The process-wide Qt/Chromium environment (offscreen, no sandbox, fake camera) is set by the root
# conftest before any QApplication exists; the no-GPU warnings are the screen-window tests' list.
from roomagent.ui.browser import BrowserSession

# make_session: BrowserSessions in shown host widgets, closed (profile gone) afterwards.
from tests.ui.conftest import NO_GPU_WARNINGS, make_session  # noqa: F401 - make_session: the fixture of tests/ui, used here too

_HERE = Path(__file__).parent
LOAD_TIMEOUT_MS = 20_000  # failure guard only: a cold Chromium start on 2 cores takes a few seconds
#: ``make_session(allowed_hosts, media=False) -> BrowserSession``
MakeSession = Callable[..., BrowserSession]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.qt_log_ignore(*NO_GPU_WARNINGS))

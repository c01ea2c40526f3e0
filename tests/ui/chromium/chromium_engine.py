"""pytest plugin: every room built by a test runs its screens on the Chromium engine.

``pytest -p tests.ui.chromium.chromium_engine tests/meeting`` runs the meeting adapters' own tests, unchanged,
on Debian's Chromium (headless, fake camera; ``--no-sandbox`` because tests run as root). It swaps
the screen window class the composition root builds for one whose session factory is Chromium's, so
it works whatever ``roomagent.app`` passes by default (``roomagent.ui.room_windows`` builds the windows).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from roomagent.profile import KioskSection
from roomagent.ui.engine import EngineChoice, session_factory
from roomagent.ui.screen import ScreenWindow

CHROMIUM = "/usr/bin/chromium"
FAKE_MEDIA = "--use-fake-device-for-media-stream"


@pytest.fixture(autouse=True)
def _chromium_screens(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian's chromium is not installed (make setup)")
    factory = session_factory(KioskSection(engine="chromium", chromium_path=CHROMIUM),
                              engine=EngineChoice("chromium", "test plugin"), no_sandbox=True, headless=True,
                              extra_args=[FAKE_MEDIA])

    def chromium_window(*args, **kwargs) -> ScreenWindow:
        return ScreenWindow(*args, **{**kwargs, "session_factory": factory})

    monkeypatch.setattr("roomagent.ui.room_windows.ScreenWindow", chromium_window)
    yield

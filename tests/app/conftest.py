"""What the tests of the assembled agent share: the real reference directory and the demo meeting server
over HTTP, agents built from a two-screen profile, and a teacher typing a code."""

from __future__ import annotations

import pytest

from roomagent.app import RoomAgent
from roomagent.core.state import ErrorKind, Lifecycle
from roomagent.demo import meeting_server
from roomagent.demo.runner import create_code
from roomagent.directory.client import DirectoryClient
from roomagent.directory.server.main import run_in_thread as serve_directory
from roomagent.directory.server.settings import DirectorySettings
from roomagent.profile import RoomProfile
from roomagent.serving import run_in_thread as serve_app
from tests.ui.conftest import chromium_options  # noqa: F401 - the fixture of tests/ui, for the Chromium recovery test

TOKEN = "test-meeting-server-secret"
#: Guards against a hung join; generous so that a slow CI machine never fails on it.
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def meeting():
    server = serve_app(meeting_server.create_app())
    yield server
    server.stop()


@pytest.fixture
def directory():
    settings = DirectorySettings(allowed_join_hosts=["127.0.0.1", "localhost"], tokens={"bbb": TOKEN},
                                 redeem_limit_per_min=3, store="memory")
    server = serve_directory(settings)
    yield server
    server.stop()


def new_code(directory_url: str, join_url: str) -> str:
    """A code for ``join_url``, minted as the test meeting server."""
    return create_code(directory_url, TOKEN, join_url)


@pytest.fixture
def make_agent(qtbot):
    agents = []

    def _make(directory_url: str, *, allowed=("127.0.0.1",), timeout_s: float = 5.0) -> RoomAgent:
        profile = RoomProfile(
            room={"id": "t1", "name": "Test room"},
            directory={"url": directory_url, "timeout_s": timeout_s},
            meeting={"allowed_hosts": list(allowed)},
            screens=[{"id": "left", "media": True}, {"id": "right", "role": "side"}],
        )
        agent = RoomAgent.from_profile(profile, lambda: DirectoryClient(profile.directory.url, timeout_s=timeout_s),
                          windowed=True)
        agent.start()
        agents.append(agent)
        return agent

    yield _make
    for agent in agents:
        agent.stop()


def type_code(qtbot, agent: RoomAgent, code: str) -> None:
    qtbot.keyClicks(agent.panel, code)


def wait_error(qtbot, agent: RoomAgent, kind: ErrorKind) -> None:
    qtbot.waitUntil(lambda: agent.state.error is not None and agent.state.error.kind is kind, timeout=WAIT_MS)
    assert agent.state.lifecycle is Lifecycle.IDLE
    assert all(w.session is None for w in agent.windows.values())

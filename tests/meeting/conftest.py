"""The real agent (core, windows, QtWebEngine pages, adapters) against the fake meeting platforms.

The directory is replaced by a stub that hands out the join URL under test: the directory has its own
tests, and here each test names the exact link a code would redeem to.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from roomagent.app import RoomAgent
from roomagent.core import events as ev
from roomagent.core.state import Lifecycle
from roomagent.profile import KioskSection, RoomProfile
from roomagent.ui.engine import EngineChoice, session_factory
from tests.devices.fakes import FakeDeviceSource
from tests.ui.conftest import NO_GPU_WARNINGS

#: Failure guard for a join or a page round trip; a cold Chromium on 2 busy cores needs seconds, and the
#: whole suite keeps both cores busy.
WAIT_MS = 60_000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/meeting" in str(item.path):
            item.add_marker(pytest.mark.qt_log_ignore(*NO_GPU_WARNINGS))


@dataclass
class _Ticket:
    join_url: str


class StubDirectory:
    """Redeems every code to ``join_url`` (set by the test)."""

    def __init__(self) -> None:
        self.join_url = ""

    def redeem(self, code: str) -> _Ticket:
        return _Ticket(self.join_url)

    def close(self) -> None:
        pass


CHROMIUM = "/usr/bin/chromium"
FAKE_MEDIA = "--use-fake-device-for-media-stream"


@pytest.fixture(params=["qtwebengine", "chromium"])
def engine(request: pytest.FixtureRequest):
    """Every adapter test runs on both screen engines; ``None`` means the agent's default (QtWebEngine)."""
    if request.param == "qtwebengine":
        return None
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian's chromium is not installed (make setup installs it)")
    # Headless with the fake camera, and without Chromium's sandbox because the tests run as root.
    return session_factory(KioskSection(engine="chromium", chromium_path=CHROMIUM),
                           engine=EngineChoice("chromium", "tests"), no_sandbox=True, headless=True,
                           extra_args=[FAKE_MEDIA])


@pytest.fixture
def make_room(qtbot, engine) -> Iterator[Callable[..., RoomAgent]]:
    """Build and start a two-screen room (left: main + media, right: side); stopped afterwards."""
    agents: list[RoomAgent] = []

    def make(*, allowed=("127.0.0.1", "localhost"), screens=None, options=None, sources=(), devices=None,
             signal_io=None, **meeting) -> RoomAgent:
        profile = RoomProfile(
            room={"id": "t1", "name": "Test room"},
            directory={"url": "http://127.0.0.1:9"},
            meeting={"allowed_hosts": list(allowed), "display_name": "Room T1", **meeting},
            screens=screens or [{"id": "left", "role": "main", "media": True}, {"id": "right", "role": "side"}],
            sources=list(sources),
        )
        stub = StubDirectory()
        # No udev here unless a test brings devices: an empty fake keeps other processes' test devices out.
        agent = RoomAgent.from_profile(profile, lambda: stub, windowed=True, devices=devices or FakeDeviceSource(),
                          signal_io=signal_io, session_factory=engine)
        agent.stub = stub
        agent.adapter_options.update(options or {})
        agent.start()
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        windows = [w for w in agent.windows.values() if w.session is not None]
        agent.stop()
        assert all(w.session is None for w in windows)


def join(qtbot, agent: RoomAgent, url: str, *, expect=Lifecycle.IN_MEETING) -> None:
    """Redeem a code to ``url`` and wait until the room reaches ``expect``."""
    agent.stub.join_url = url
    agent.dispatch(ev.CodeEntered(code="K7M-4QX-9TB"))
    qtbot.waitUntil(lambda: agent.state.lifecycle is expect, timeout=WAIT_MS)


def command(qtbot, agent: RoomAgent, cmd) -> dict:
    """Send a remote command and wait for its reply (as the MQTT edge would see it)."""
    replies = []
    agent.remote_reply.connect(replies.append)
    try:
        agent.dispatch_command(cmd, origin="mqtt:1")
        qtbot.waitUntil(lambda: any(r.command_id == cmd.id for r in replies), timeout=WAIT_MS)
    finally:
        agent.remote_reply.disconnect(replies.append)
    return next(r for r in replies if r.command_id == cmd.id)


def run_js(qtbot, session, expression: str):
    """Evaluate ``expression`` in a session's page and return its JSON value."""
    out: list = []
    session.run_json(expression, lambda value, error: out.append((value, error)))
    qtbot.waitUntil(lambda: bool(out), timeout=WAIT_MS)
    value, error = out[0]
    assert error is None, error
    return value


def wait_log(qtbot, server, kind: str, count: int = 1, **match) -> list[dict]:
    """Wait until the fake recorded ``count`` records of ``kind`` matching ``match``; return them."""
    found: list[dict] = []

    def enough() -> bool:
        found[:] = [r for r in server.log(kind) if all(r.get(k) == v for k, v in match.items())]
        return len(found) >= count

    qtbot.waitUntil(enough, timeout=WAIT_MS)
    return found


def jitsi_url(server, room: str = "Physics101", jwt: str = "eyJ.test.token") -> str:
    """A link to ``room`` on the fake Jitsi server, with a JWT as a Jitsi-as-a-service link has."""
    return f"{server.url}/{room}?jwt={jwt}"

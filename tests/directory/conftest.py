"""Fixtures for the directory tests: a fake clock, a private redis-server and mosquitto, live directory servers.

Every server is real: uvicorn on a free port in a thread (``run_in_thread``), spoken to over HTTP.
Tests that take ``store_url`` (directly or through ``directory``/``start_directory``) run once with the
memory store and once with Redis.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from roomagent.directory.server.app import create_app
from roomagent.directory.server.main import RunningServer, run_in_thread
from roomagent.directory.server.settings import DirectorySettings
from roomagent.serving import free_port
from tests.control.broker import Mosquitto
from tests.directory.helpers import FakeClock, http_client, settings_for

#: Startup of a private redis-server; generous because CI machines can be slow, not a timing check.
REDIS_START_TIMEOUT_S = 20.0


@pytest.fixture(scope="session", autouse=True)
def _no_directory_env() -> Iterator[None]:
    # Settings are built in code here; an operator's ROOMAGENT_DIRECTORY_* must not leak into them.
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.upper().startswith("ROOMAGENT_DIRECTORY_"):
                patch.delenv(key)
        yield


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """URL of a private redis-server (no persistence) for this test session."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server binary not installed (apt-get install redis-server)")
    import redis

    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + REDIS_START_TIMEOUT_S
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"private redis-server on port {port} did not start") from None
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def private_mosquitto(folder: Path, *, anonymous: bool = True, extra: str = "", port: int = 0) -> Iterator[str]:
    """Run a private mosquitto (tests/control/broker.py: a free port unless ``port``, our own config in
    ``folder`` plus ``extra``, no persistence); yields its ``mqtt://`` URL and stops it afterwards."""
    broker = Mosquitto(folder, port or None, anonymous=anonymous, extra=extra).start()
    try:
        yield broker.url
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def mosquitto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a private, anonymous mosquitto for this test session (see :func:`private_mosquitto`)."""
    with private_mosquitto(tmp_path_factory.mktemp("mosquitto")) as url:
        yield url


def _empty_store(request: pytest.FixtureRequest, kind: str) -> str:
    if kind == "memory":
        return "memory"
    url = request.getfixturevalue("redis_server_url")
    import redis

    with redis.Redis.from_url(url) as client:
        client.flushall()
    return url


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request: pytest.FixtureRequest) -> str:
    """``memory`` or the URL of an emptied private Redis: tests using it run on both stores."""
    return _empty_store(request, request.param)


@pytest.fixture(scope="module", params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def module_store_url(request: pytest.FixtureRequest) -> str:
    """Like ``store_url``, for module-scoped servers of tests that change no shared state."""
    return _empty_store(request, request.param)


@pytest.fixture(scope="module", params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def shared_directory(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    """One directory per test module and store, for tests that change no state (refusals, discovery)."""
    settings = settings_for(_empty_store(request, request.param))
    with run_in_thread(settings, clock=FakeClock()) as server:
        yield server


@pytest.fixture
def shared_http(shared_directory: RunningServer) -> Iterator[httpx.Client]:
    """A plain httpx client of ``shared_directory``."""
    with http_client(shared_directory.url) as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    """The clock every directory of the test runs on."""
    return FakeClock()


@pytest.fixture
def make_settings(store_url: str) -> Callable[..., DirectorySettings]:
    """Factory for settings on this test's store; keyword arguments override the test defaults."""
    return lambda **overrides: settings_for(store_url, **overrides)


@pytest.fixture(scope="session")
def stopping_servers() -> Iterator[list[RunningServer]]:
    """Servers told to stop but not waited for; joined at the end of the session.

    uvicorn takes about 0.2 s to wind down; the next test need not wait for that.
    """
    servers: list[RunningServer] = []
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def start_directory(make_settings, clock, stopping_servers) -> Iterator[Callable[..., RunningServer]]:
    """Factory: start a directory (settings overrides as keywords, ``code_factory=`` optional)."""
    running: list[RunningServer] = []

    def start(*, code_factory: Callable[[], str] | None = None, **overrides) -> RunningServer:
        settings = make_settings(**overrides)
        extra = {"code_factory": code_factory} if code_factory else {}
        server = run_in_thread(settings, clock=clock, app=create_app(settings, clock, **extra))
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop(wait=False)
    stopping_servers.extend(running)


@pytest.fixture
def directory(start_directory) -> RunningServer:
    """A directory with the default test settings."""
    return start_directory()


@pytest.fixture
def http(directory: RunningServer) -> Iterator[httpx.Client]:
    """A plain httpx client of ``directory``."""
    with http_client(directory.url) as client:
        yield client

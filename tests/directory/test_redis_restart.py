"""A Redis restart under a running directory: the pooled connection that died with it is retried once, so
the first request afterwards succeeds (it used to answer 503)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from roomagent.directory.server.main import run_in_thread
from roomagent.serving import free_port
from tests.control.broker import GUARD_S
from tests.directory.helpers import AUTH, BBB_URL, FakeClock, http_client, settings_for

pytestmark = pytest.mark.redis


class PrivateRedis:
    """A redis-server of this test alone, restartable on its port (no persistence, like the default
    of a fresh install without AOF: a restart forgets every code)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server binary not installed (apt-get install redis-server)")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.workdir)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + GUARD_S
        with redis.Redis(port=self.port) as client:
            while True:  # a failure guard: wait for the server to answer
                try:
                    client.ping()
                    return
                except redis.exceptions.ConnectionError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("private redis-server did not start") from None
                    time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(GUARD_S)
            self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_the_first_request_after_a_redis_restart_succeeds(private_redis):
    settings = settings_for(private_redis.url)
    with run_in_thread(settings, clock=FakeClock()) as server, http_client(server.url) as http:
        for round_ in range(3):
            # Warm the pool: the directory holds a connection to the Redis that is about to go away.
            assert http.get("/healthz").status_code == 200
            private_redis.stop()
            private_redis.start()
            created = http.post("/meeting", json={"data": {"join_url": BBB_URL}}, headers=AUTH)
            assert created.status_code == 200, f"restart {round_ + 1}: {created.text}"
            redeemed = http.get("/meeting", headers={"Code": created.json()["data"]["code"]})
            assert redeemed.status_code == 200, redeemed.text
            assert redeemed.json()["data"]["join_url"] == BBB_URL

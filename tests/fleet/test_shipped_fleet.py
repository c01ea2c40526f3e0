"""The dashboard on the broker config we ship (kiosk/mosquitto/mosquitto.conf and roomagent.acl, only
ports and paths changed: TLS, passwords, ``max_inflight_messages 20``, ``max_queued_messages 100``) with
1,000 rooms, each logged in as itself (tests/bench/bench_fleet.py's room workers). Subscribing brings two
retained messages per room at once; the dashboard must learn every room with its state, and the broker
must drop nothing for it."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from roomagent.fleet.web import create_app
from roomagent.serving import run_in_thread
from tests.bench.fleet_sim import DASHBOARD_USER, TILE, SimFleet, known_with_state
from tests.control.broker import GUARD_S
from tests.fleet.conftest import make_settings, signed_in
from tests.security.shipped import CONTROLLER, ShippedBroker, secret_file

ROOMS = [f"r{i:04d}" for i in range(1000)]
DASHBOARD_PASSWORD = "pw-fleet-dashboard"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Iterator[ShippedBroker]:
    """The shipped broker with 1,000 rooms online, idle, their availability and state retained."""
    # 1,000 rooms are 1,000 sockets: mosquitto inherits the open-files limit of this process.
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(limits[0], min(limits[1], 8192)), limits[1]))
    broker = ShippedBroker(tmp_path_factory.mktemp("shipped"),
                           users={**SimFleet.users(ROOMS), DASHBOARD_USER: DASHBOARD_PASSWORD}).start()
    rooms = SimFleet(broker)
    try:
        for share in range(4):
            rooms.spawn(ROOMS[share * 250:(share + 1) * 250])
        rooms.wait_ready()
        yield broker
    finally:
        rooms.stop()
        broker.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, limits)


def test_the_dashboard_learns_all_1000_rooms_with_state_on_the_shipped_broker(shipped, tmp_path):
    secret = tmp_path / "ctl_fleet.password"
    secret.write_text(DASHBOARD_PASSWORD + "\n")
    settings = make_settings(tmp_path, shipped.url, mqtt={"username": DASHBOARD_USER, "password_file": str(secret),
                                                         "ca_file": str(shipped.certs.ca)})
    with run_in_thread(create_app(settings)) as server, signed_in(server) as client:
        deadline = time.monotonic() + GUARD_S  # a failure guard: the loop ends once every room is there
        known = 0
        while known < len(ROOMS) and time.monotonic() < deadline:
            page = client.get("/").text
            known = known_with_state(page)
            time.sleep(0.2)
        # Two rooms of the inventory (make_settings) never connect: 1,002 tiles.
        assert (known, page.count(TILE)) == (len(ROOMS), len(ROOMS) + 2), \
            f"{known} of {len(ROOMS)} rooms known with state"
    dropped = [line for line in shipped.log if f"dropped for client {DASHBOARD_USER}" in line]
    assert dropped == []


def test_ctl_status_lists_all_1000_rooms_on_the_shipped_broker(shipped):
    """``roomagent ctl status --all`` follows every room too: without its own Receive Maximum the shipped
    per-client limits left it 120 of 1,000 rooms."""
    login = ["--broker", shipped.url, "--username", CONTROLLER, "--password-file",
             str(secret_file(shipped.workdir, CONTROLLER)), "--ca-file", str(shipped.certs.ca)]
    ctl = subprocess.run([sys.executable, "-m", "roomagent", "ctl", *login, "status", "--all"],
                         capture_output=True, text=True, timeout=GUARD_S, check=False)
    assert ctl.returncode == 0, ctl.stderr
    listed = {line.split()[0] for line in ctl.stdout.splitlines()[1:] if line.strip()}
    assert set(ROOMS) <= listed, f"{len(set(ROOMS) & listed)} of {len(ROOMS)} rooms listed"
    assert [line for line in shipped.log if f"dropped for client {CONTROLLER}" in line] == []

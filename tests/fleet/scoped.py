"""Helpers for the roles and bulk-action tests: settings with several users and buildings, the commands a
simulated room received, a signed-in HTTP client, and the dashboard as its own process."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from roomagent.fleet.config import FleetSettings
from roomagent.serving import free_port
from tests.bench.fleet_sim import TILE
from tests.control.broker import GUARD_S, kill_process
from tests.fleet.conftest import PASSWORD, SimRoom, make_settings, password_hash

REPO = Path(__file__).resolve().parents[2]
#: The inventory these tests use: three rooms in one building, two in another, one never connected.
ROOMS = [
    {"id": "h0104", "name": "Lecture hall 1.04", "building": "Main building"},
    {"id": "h0105", "name": "Lecture hall 1.05", "building": "Main building"},
    {"id": "h0106", "name": "Seminar 1.06", "building": "Main building"},
    {"id": "s2-201", "name": "Seminar 201", "building": "Science 2"},
    {"id": "s2-202", "name": "Lab 202", "building": "Science 2"},
]


def user(name: str, role: str | None = None, buildings: list[str] | None = None, *, hashed: bool = True) -> dict:
    """An ``[[auth.users]]`` entry whose password is :data:`PASSWORD`; no ``role`` key unless given."""
    entry: dict = {"name": name}
    if hashed:
        entry["password_hash"] = password_hash()
    if role is not None:
        entry["role"] = role
    if buildings is not None:
        entry["buildings"] = buildings
    return entry


def settings_with(folder: Path, broker_url: str, users: list[dict], *, rooms: list[dict] = ROOMS,
                  timeout_s: float = GUARD_S / 2, **auth) -> FleetSettings:
    """:func:`make_settings` with these users, rooms and command timeout, validated as a whole."""
    base = make_settings(folder, broker_url).model_dump(mode="json")
    base["web"]["command_timeout_s"] = timeout_s
    base["auth"] = {"mode": "password", "users": users, **auth}
    base["rooms"] = rooms
    return FleetSettings.model_validate(base)


def commands(room: SimRoom) -> list[dict]:
    """The commands the room's MQTT client received, oldest first."""
    return [json.loads(m.payload) for m in room.probe.on(f"roomagent/{room.room}/command")]


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms."""
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@contextlib.contextmanager
def signed_in(base_url: str, name: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in as ``name`` (password :data:`PASSWORD`)."""
    with httpx.Client(base_url=base_url, timeout=GUARD_S) as client:
        token = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"csrf": token, "name": name, "password": PASSWORD, "next": "/"})
        assert response.status_code == 303, (name, response.status_code, response.text[:300])
        yield client


def wait_for_rooms(base_url: str, count: int, name: str) -> None:
    """Until the dashboard is connected and, as ``name`` sees it, shows ``count`` rooms (a failure guard of
    GUARD_S). Anonymous ``/healthz`` tells only whether it follows the broker, not how many rooms there are."""
    deadline = time.monotonic() + GUARD_S
    with contextlib.ExitStack() as stack:
        client = None
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if client is None:
                    client = stack.enter_context(signed_in(base_url, name))
                if client.get("/healthz").json()["mqtt"] and client.get("/").text.count(TILE) >= count:
                    return
            assert time.monotonic() < deadline, f"the dashboard did not get to know {count} rooms"
            time.sleep(0.05)


def toml_of(settings: FleetSettings) -> str:
    """``settings`` as a fleet.toml (JSON strings are valid TOML basic strings)."""
    data = settings.model_dump(mode="json", exclude_none=True)
    lines = []
    for section in ("mqtt", "web"):
        lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in data[section].items() if not isinstance(v, dict)]
    lines += ["[auth]"] + [f"{k} = {json.dumps(v)}" for k, v in data["auth"].items() if k != "users"]
    for entry in data["auth"]["users"]:
        lines += ["[[auth.users]]"] + [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
    for entry in data["rooms"]:
        lines += ["[[rooms]]"] + [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def dashboard_process(settings: FleetSettings, folder: Path, rooms_known: int) -> Iterator[str]:
    """``roomagent fleet --config …`` in its own process (this checkout's code); yields its base URL once it
    is connected to the broker and knows ``rooms_known`` rooms."""
    config = folder / "fleet.toml"
    config.write_text(toml_of(settings))
    port = free_port()
    log_path = folder / "fleet.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "roomagent", "fleet", "--config", str(config), "--host",
                                 "127.0.0.1", "--port", str(port)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_rooms(base, rooms_known, settings.auth.users[0].name)
        except AssertionError:
            raise AssertionError("the dashboard did not start:\n" + log_path.read_text()[-3000:]) from None
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(GUARD_S)
        except subprocess.TimeoutExpired:
            kill_process(proc)

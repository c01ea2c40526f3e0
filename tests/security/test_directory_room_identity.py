"""The black-box probe's findings on room identity at the directory, as regression tests against the real
server over HTTP (both stores, the shipped limits: 10 failures per requester, 100 per network a minute):

- the lockout loop: failed redemptions sent every minute in a room's name from the room's own network,
  for longer than a minute, must leave an authenticated room redeeming every one of its own codes, even
  while the same network is over its cap (a valid code from a network others made fail);
- the code-minting bypass: valid codes redeemed under made-up ``Room-Id``s must add no guesses beyond
  the per-network cap;
- the real agent (``roomagent.service.run`` with ``[directory] secret_file`` in a ``room.d`` drop-in)
  joins with a code typed on its panel while someone on its network has just failed 10 times in its name.

Networks are told apart by ``X-Forwarded-For`` from the trusted loopback proxy; time is the directory's
injected clock, moved by the test (three simulated minutes take a second).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from roomagent.demo import meeting_server
from roomagent.demo.runner import create_code as demo_code
from roomagent.directory.server.main import RunningServer, run_in_thread
from roomagent.serving import run_in_thread as serve_app
from tests.control.broker import Mosquitto, Probe
from tests.directory.helpers import (
    TOKEN,
    FakeClock,
    create_code,
    http_client,
    provision_rooms,
    room_headers,
    settings_for,
)
from tests.security.agent_room import ROOM as AGENT_ROOM
from tests.security.agent_room import RoomProcess, wait_answering

ROOM = "h0104"
ROOM_NET = "203.0.113.10"  # the room's network, shared with the attacker (one NAT address)
WRONG = "ABC-DEF-234"
NETWORK_CAP = 100


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def attacked(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[RunningServer, FakeClock, str]]:
    """A directory with the shipped rate limits and one registered room; yields it, its clock, the secret."""
    store = "memory" if request.param == "memory" else request.getfixturevalue("redis_server_url")
    if store != "memory":
        import redis

        with redis.Redis.from_url(store) as admin:
            admin.flushall()
    rooms_file = tmp_path / "rooms.toml"
    secret = provision_rooms(rooms_file, ROOM)[ROOM]
    settings = settings_for(store, redeem_limit_per_min=10, redeem_limit_per_network_per_min=NETWORK_CAP,
                            trusted_proxies=["127.0.0.0/8"], rooms_file=str(rooms_file))
    clock = FakeClock()
    with run_in_thread(settings, clock=clock) as server:
        yield server, clock, secret


def redeem(client: httpx.Client, code: str, address: str, headers: dict[str, str] | None = None) -> int:
    return client.get("/meeting", headers={"Code": code, "X-Forwarded-For": address, **(headers or {})}).status_code


def test_the_lockout_loop_leaves_an_authenticated_room_redeeming_all_its_codes(attacked):
    server, clock, secret = attacked
    own = attempts = refused_to_attacker = 0
    with http_client(server.url) as client:
        for second in range(0, 180, 3):  # three minutes: longer than any one rate window
            if second % 60 == 0:
                # Each minute the attacker also fills the network's cap with made-up room ids ...
                for n in range(NETWORK_CAP + 5):
                    refused_to_attacker += redeem(client, WRONG, ROOM_NET, room_headers(f"fake-{second}-{n}")) == 429
            if second % 6 == 0:
                # ... and sends 10 failed redemptions a minute in the room's name: without its secret, with a
                # guessed one, and anonymously (no Room-Id).
                forged = [room_headers(ROOM), room_headers(ROOM, "guessed-secret-0123456789"), {}][second // 6 % 3]
                refused_to_attacker += redeem(client, WRONG, ROOM_NET, forged) in (401, 429)
            if second % 9 == 0:  # the room redeems its own fresh code every 9 s, from the same network
                attempts += 1
                own += redeem(client, create_code(client), ROOM_NET, room_headers(ROOM, secret)) == 200
            clock.advance(3)
    assert refused_to_attacker > 0  # the attack was live: the network was over its limits
    assert own == attempts == 20  # 100 %


def test_codes_redeemed_under_made_up_room_ids_buy_no_guesses_beyond_the_network_cap(attacked):
    server, _clock, _secret = attacked
    attacker = "192.0.2.66"
    with http_client(server.url) as client:
        for n in range(40):  # 40 valid codes redeemed under made-up room ids
            assert redeem(client, create_code(client), attacker, room_headers(f"minted-{n}")) == 200
        guesses = 0
        # Within one minute, guess the attacker's best way: fresh room ids until the network is over its cap,
        # then every id that redeemed a code above until each is refused too.
        for n in range(NETWORK_CAP + 50):
            guesses += redeem(client, WRONG, attacker, room_headers(f"fresh-{n}")) == 404
        for n in range(40):
            for _ in range(11):
                guesses += redeem(client, WRONG, attacker, room_headers(f"minted-{n}")) == 404
    assert guesses == NETWORK_CAP


def test_the_real_agent_proves_its_room_while_others_fail_in_its_name(tmp_path):
    rooms_file = tmp_path / "rooms.toml"
    secret_file = tmp_path / "directory.secret"
    secret_file.write_text(provision_rooms(rooms_file, AGENT_ROOM)[AGENT_ROOM] + "\n")
    (tmp_path / "room.d").mkdir()
    (tmp_path / "room.d" / "50-secret.toml").write_text(f'[directory]\nsecret_file = "{secret_file}"\n')
    settings = settings_for("memory", redeem_limit_per_min=10, allowed_join_hosts=["127.0.0.1"],
                            rooms_file=str(rooms_file))
    broker = Mosquitto(tmp_path).start()
    with run_in_thread(settings) as directory, serve_app(meeting_server.create_app()) as meeting:
        agent = RoomProcess(tmp_path, broker.url, directory=directory.url).start()
        try:
            with Probe(broker.port) as probe, http_client(directory.url) as http:
                probe.subscribe("test/reply", f"roomagent/{agent.room}/state")
                wait_answering(probe, agent.room)
                # Someone on the room's network (loopback, like the agent) fails 10 times in its name.
                forged = [http.get("/meeting", headers={"Code": "ABC-DEF-234", "Room-Id": agent.room}).status_code
                          for _ in range(11)]
                assert forged == [401] * 10 + [429]
                code = demo_code(directory.url, TOKEN, f"{meeting.url}/meeting/identity")
                agent.ask("type " + code.replace("-", ""))
                probe.wait_for(lambda m: m.topic.endswith("/state") and json.loads(m.payload)["state"] == "in_meeting")
                status = http.get("/meeting/status", headers={"Code": code, "Authorization": f"Bearer {TOKEN}"})
                assert status.json()["data"]["room"]["id"] == agent.room
        finally:
            agent.stop()
            broker.stop()

"""Redemption rate limits over real HTTP, on both stores: IPv6 counted per prefix, rooms counted apart from
the rest of their network, invented room ids capped by the network's limit, and the memory store's bounded
table never forgetting an active lockout. (Authenticated rooms: test_room_credentials.py and
tests/security/test_directory_room_identity.py.)

Clients are told apart by ``X-Forwarded-For`` from a trusted proxy (the test's loopback), exactly as behind
a real reverse proxy. The test settings allow 5 failures per requester per minute.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from roomagent.directory.server.store import Blocked, MemoryStore, NotFound, Redeemed
from tests.directory.helpers import BBB_URL, assert_error, create_code, http_client

WRONG = "ABC-DEF-234"
PROXY = ["127.0.0.0/8"]


def redeem(client: httpx.Client, code: str, address: str, room: str | None = None) -> httpx.Response:
    headers = {"Code": code, "X-Forwarded-For": address}
    if room is not None:
        headers["Room-Id"] = room
    return client.get("/meeting", headers=headers)


def test_ipv6_is_counted_per_64_prefix(start_directory):
    server = start_directory(trusted_proxies=PROXY)
    with http_client(server.url) as client:
        for host in range(1, 6):  # five hosts of one /64, one failure each
            assert_error(redeem(client, WRONG, f"2001:db8:1:2::{host:x}"), 404)
        assert_error(redeem(client, WRONG, "2001:db8:1:2:ffff:ffff:ffff:ffff"), 429)  # the same /64
        assert_error(redeem(client, WRONG, "2001:db8:1:3::1"), 404)  # the next /64 has its own budget
        assert_error(redeem(client, WRONG, "192.0.2.1"), 404)  # IPv4: per address
        assert_error(redeem(client, WRONG, "192.0.2.2"), 404)


def test_the_ipv6_prefix_is_configurable(start_directory):
    server = start_directory(trusted_proxies=PROXY, redeem_ipv6_prefix=128)
    with http_client(server.url) as client:
        for host in range(1, 8):
            assert_error(redeem(client, WRONG, f"2001:db8:1:2::{host:x}"), 404)


def test_others_mistakes_on_a_shared_address_do_not_lock_a_room_out(start_directory):
    server = start_directory(trusted_proxies=PROXY)
    nat = "198.51.100.7"
    with http_client(server.url) as client:
        for _ in range(5):  # someone behind the NAT, without a room id, uses up their budget ...
            assert_error(redeem(client, WRONG, nat), 404)
        assert_error(redeem(client, create_code(client), nat), 429)
        # ... and a room behind the same NAT still redeems its valid code.
        assert redeem(client, create_code(client), nat, room="h0104").status_code == 200
        # A room's own mistakes count against itself only.
        for _ in range(5):
            assert_error(redeem(client, WRONG, nat, room="h0105"), 404)
        assert_error(redeem(client, create_code(client), nat, room="h0105"), 429)
        assert redeem(client, create_code(client), nat, room="h0106").status_code == 200


def test_invented_room_ids_do_not_buy_unlimited_guesses_and_redeeming_makes_no_room_known(start_directory):
    server = start_directory(trusted_proxies=PROXY, redeem_limit_per_network_per_min=12)
    nat = "2001:db8:7::1"
    with http_client(server.url) as client:
        # Redeeming a valid code under a room id (anonymously) no longer makes that id exempt from the cap.
        assert redeem(client, create_code(client), nat, room="h0104").status_code == 200
        for n in range(12):  # an attacker behind the same network invents a room id per guess
            assert_error(redeem(client, WRONG, f"2001:db8:7::{n + 2:x}", room=f"fake-{n}"), 404)
        assert_error(redeem(client, WRONG, nat, room="fake-new"), 429)  # the network's budget is spent
        assert_error(redeem(client, create_code(client), nat, room="h0105"), 429)  # an anonymous room waits too
        assert_error(redeem(client, WRONG, nat, room="h0104"), 429)  # and so does the one that redeemed before


@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
def test_a_full_client_table_never_forgets_an_active_lockout(start_directory):
    server = start_directory(trusted_proxies=PROXY, memory_max_clients=6)
    with http_client(server.url) as client:
        for _ in range(5):
            assert_error(redeem(client, WRONG, "203.0.113.1"), 404)
        assert_error(redeem(client, WRONG, "203.0.113.1"), 429)
        for n in range(2, 40):  # many other clients overfill the table, one failure each
            redeem(client, WRONG, f"203.0.113.{n}")
        assert_error(redeem(client, WRONG, "203.0.113.1"), 429)  # still locked out
        assert redeem(client, create_code(client), "203.0.113.200").status_code == 200  # valid codes still work


def test_a_client_table_full_of_lockouts_refuses_new_failures_but_not_valid_codes():
    """The memory store itself (no HTTP): the corner the HTTP test cannot reach with a table this small."""
    store = MemoryStore(max_clients=2)

    async def scenario() -> None:
        for client in ("a", "b"):
            for _ in range(5):
                assert isinstance(await store.redeem(None, client, now=0.0, limit=5), NotFound)
        assert isinstance(await store.redeem(None, "c", now=1.0, limit=5), Blocked)  # fail closed, ...
        for client in ("a", "b"):  # ... and neither lockout was forgotten
            assert isinstance(await store.redeem(None, client, now=2.0, limit=5), Blocked)
        assert await store.create("C1", BBB_URL, now=3.0, ttl_s=300)
        assert await store.redeem("C1", "c", now=3.0, limit=5) == Redeemed(BBB_URL)  # valid codes get in
        assert isinstance(await store.redeem(None, "c", now=60.0, limit=5), NotFound)  # lockouts over: counted

    asyncio.run(scenario())

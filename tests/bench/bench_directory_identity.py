"""Room identity at the directory under attack: the black-box probe's figures, before and after.

Run: ``.venv/bin/python tests/bench/bench_directory_identity.py [--seconds 75] [--store memory redis]``.
Prints figures, asserts nothing. The directory runs as operators run it (``python -m roomagent directory
--config ...``) with the shipped limits (10 failures per requester, 100 per network a minute) behind the
loopback "proxy" (``X-Forwarded-For`` tells networks apart), on real time:

- **lockout loop**: for ``--seconds`` (longer than a minute), someone on the rooms' network sends 10
  failed redemptions a minute in the name of each of two rooms (``Room-Id``): ``h0104`` has a secret in
  the directory's rooms file and sends it, ``h0105`` is anonymous. Each room redeems a fresh valid code
  every 3 s; so does an anonymous client without ``Room-Id`` while the network is over its cap;
- **code-minting bypass**: one network redeems 40 valid codes under made-up room ids, then guesses as
  fast as it can within a minute (fresh room ids first, then the 40): how many guesses were answered
  (404) rather than refused (429)?

``--old-directory`` writes no ``rooms_file`` (for a directory from before room credentials: run this file
with ``PYTHONPATH`` at the old tree; ``h0104`` still sends its secret, which such a directory ignores).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if not __package__:  # run as a file: make ``tests`` and ``roomagent`` importable as under ``-m``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from roomagent.serving import free_port
from tests.bench.bench_directory import JOIN_URL, TOKEN, redis_server, wait_ready

NET = "203.0.113.10"  # the rooms' network (one NAT address), shared with the attacker
ATTACKER_NET = "192.0.2.66"
WRONG = "ABC-DEF-234"
SECRET = "bench-room-secret-h0104-0123456789abcdef"


@contextmanager
def directory(store: str, workdir: Path, with_rooms: bool) -> Iterator[str]:
    """The directory as a process on a free port; yields its base URL."""
    port = free_port()
    lines = [f'store = "{store}"', 'allowed_join_hosts = ["*.example.org"]', 'trusted_proxies = ["127.0.0.1"]',
             "access_log = false"]
    if with_rooms:
        rooms = workdir / f"rooms-{port}.toml"
        rooms.write_text(f'[rooms]\nh0104 = ["sha256:{hashlib.sha256(SECRET.encode()).hexdigest()}"]\n')
        lines.append(f'rooms_file = "{rooms}"')
    config = workdir / f"directory-{port}.toml"
    config.write_text("\n".join([*lines, "[tokens]", f'bench = "{TOKEN}"']) + "\n")
    log = (workdir / f"directory-{port}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "roomagent", "directory", "--config", str(config), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def _code(client: httpx.Client) -> str:
    response = client.post("/meeting", json={"data": {"join_url": JOIN_URL}}, headers={"Authorization": f"Bearer {TOKEN}"})
    response.raise_for_status()
    return response.json()["data"]["code"]


def _redeem(client: httpx.Client, code: str, address: str, headers: dict[str, str] | None = None) -> int:
    return client.get("/meeting", headers={"Code": code, "X-Forwarded-For": address, **(headers or {})}).status_code


def lockout_loop(url: str, seconds: float) -> dict[str, tuple[int, int]]:
    """Own valid codes redeemed / tried per requester while others fail in the rooms' names."""
    results = {"h0104 (secret)": [0, 0], "h0105 (anonymous)": [0, 0], "no Room-Id": [0, 0]}
    own = {"h0104 (secret)": {"Room-Id": "h0104", "Authorization": f"Bearer {SECRET}"},
           "h0105 (anonymous)": {"Room-Id": "h0105"}, "no Room-Id": {}}
    with httpx.Client(base_url=url, timeout=10) as client:
        start = time.monotonic()
        tick = 0
        while time.monotonic() - start < seconds:
            if tick % 6 == 0:  # 10 a minute in each room's name
                _redeem(client, WRONG, NET, {"Room-Id": "h0104"})
                _redeem(client, WRONG, NET, {"Room-Id": "h0105"})
            if tick % 60 == 0:  # and the network's cap, once a minute, with made-up room ids
                for n in range(105):
                    _redeem(client, WRONG, NET, {"Room-Id": f"fake-{tick}-{n}"})
            if tick % 3 == 0:
                for name, headers in own.items():
                    results[name][1] += 1
                    results[name][0] += _redeem(client, _code(client), NET, headers) == 200
            tick += 1
            time.sleep(max(0.0, start + tick - time.monotonic()))
    return {name: (ok, tried) for name, (ok, tried) in results.items()}


def minting_bypass(url: str) -> tuple[int, float]:
    """Guesses answered (not refused) for one network after 40 codes redeemed under made-up ids; seconds taken."""
    with httpx.Client(base_url=url, timeout=10) as client:
        for n in range(40):
            _redeem(client, _code(client), ATTACKER_NET, {"Room-Id": f"minted-{n}"})
        guesses = 0
        start = time.monotonic()
        for n in range(150):
            guesses += _redeem(client, WRONG, ATTACKER_NET, {"Room-Id": f"fresh-{n}"}) == 404
        for n in range(40):
            for _ in range(11):
                guesses += _redeem(client, WRONG, ATTACKER_NET, {"Room-Id": f"minted-{n}"}) == 404
        return guesses, time.monotonic() - start


def main() -> None:
    """Command line: ``--seconds``, ``--store``, ``--old-directory``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=75.0, help="length of the lockout loop (default 75)")
    parser.add_argument("--store", nargs="+", choices=["memory", "redis"], default=["memory", "redis"])
    parser.add_argument("--old-directory", action="store_true", help="write no rooms_file (old directories)")
    args = parser.parse_args()
    print(f"directory identity bench: lockout loop {args.seconds:.0f} s, shipped limits (10/requester, 100/network)"
          f"{', no rooms_file' if args.old_directory else ''}")
    with tempfile.TemporaryDirectory() as tmp:
        for store in args.store:
            with redis_server() if store == "redis" else _memory() as store_url:
                with directory(store_url, Path(tmp), not args.old_directory) as url:
                    guesses, took = minting_bypass(url)
                    print(f"{store:<7} bypass: {guesses} guesses answered in {took:.1f} s after 40 codes redeemed "
                          f"under made-up room ids (network cap 100)")
                with directory(store_url, Path(tmp), not args.old_directory) as url:
                    for name, (ok, tried) in lockout_loop(url, args.seconds).items():
                        print(f"{store:<7} lockout loop: {name:<18} redeemed {ok}/{tried} of its own valid codes "
                              f"({100 * ok / tried:.0f} %)")


@contextmanager
def _memory() -> Iterator[str]:
    yield "memory"


if __name__ == "__main__":
    main()

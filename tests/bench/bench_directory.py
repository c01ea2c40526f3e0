"""Throughput and latency of the reference directory: create+redeem pairs per second, p50/p99 per pair.

Run: ``.venv/bin/python tests/bench/bench_directory.py [--seconds 5]``. Prints figures, asserts nothing
about time. The server runs in a separate process exactly as operators run it (``python -m roomagent
directory --config ...``, one uvicorn worker), first with the memory store, then with Redis (a private
redis-server on a free port). Load comes from this process: asyncio workers, each with one keep-alive
connection, speaking plain HTTP/1.1 so the load generator costs far less CPU than the server under test.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from roomagent.serving import free_port

TOKEN = "bench-token-0123456789abcdef"
JOIN_URL = "https://bbb.example.org/bigbluebutton/api/join?meetingID=bench&checksum=0123456789abcdef"
READY_TIMEOUT_S = 20.0
#: Unmeasured load before each run: connections, caches and the allocator settle first.
WARMUP_S = 1.5


def wait_ready(url: str, proc: subprocess.Popen) -> None:
    """Poll ``url`` until it answers 200; the process must stay alive meanwhile."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {READY_TIMEOUT_S} s")


@contextmanager
def redis_server():
    """A throw-away redis-server on a free port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not installed")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def directory_process(store: str, workdir: Path):
    """``python -m roomagent directory`` on a free port with ``store``; yields ``(host, port)``."""
    port = free_port()
    config = workdir / f"directory-{port}.toml"
    config.write_text(
        "\n".join(
            [
                f'store = "{store}"',
                'allowed_join_hosts = ["*.example.org"]',
                "redeem_limit_per_min = 1000",
                "access_log = false",
                "[tokens]",
                f'bench = "{TOKEN}"',
            ]
        )
        + "\n"
    )
    log = (workdir / f"directory-{port}.log").open("w")
    cmd = [sys.executable, "-m", "roomagent", "directory", "--config", str(config), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _worker(host: str, port: int, stop_at: float, latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    body = json.dumps({"data": {"join_url": JOIN_URL}}).encode()
    post = (
        f"POST /meeting HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            writer.write(post)
            status, payload = await _read_response(reader)
            if status != 200:
                errors.append(f"create {status}")
                continue
            code = json.loads(payload)["data"]["code"]
            writer.write(f"GET /meeting HTTP/1.1\r\nHost: {host}\r\nCode: {code}\r\n\r\n".encode())
            status, payload = await _read_response(reader)
            latencies.append(time.perf_counter() - t0)
            if status != 200 or json.loads(payload)["data"]["join_url"] != JOIN_URL:
                errors.append(f"redeem {status}")
    finally:
        writer.close()


async def _load(host: str, port: int, concurrency: int, seconds: float) -> tuple[list[float], list[str], float]:
    # A short warm-up first: connection set-up and first-call costs are not what is measured.
    await asyncio.gather(*(_worker(host, port, time.perf_counter() + WARMUP_S, [], []) for _ in range(concurrency)))
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    stop_at = start + seconds
    await asyncio.gather(*(_worker(host, port, stop_at, latencies, errors) for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    """``q``-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _run_loop(coro):
    # uvloop when present: the load generator should cost as little CPU (and latency) as possible.
    if _installed("uvloop"):
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


def run(seconds: float, concurrencies: list[int], stores: list[str]) -> None:
    """Bench each store at each concurrency and print one line per run."""
    fast = [m for m in ("uvloop", "httptools") if _installed(m)]
    print(
        f"directory bench: {os.cpu_count()} CPUs, {seconds:.0f} s per run, python {sys.version.split()[0]}, "
        f"uvicorn extras: {', '.join(fast) or 'none (asyncio + h11)'}, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'store':<7}{'conc':>5}{'pairs':>9}{'pairs/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for store in stores:
            with redis_server() if store == "redis" else _nothing("memory") as store_url:
                with directory_process(store_url, Path(tmp)) as (host, port):
                    for conc in concurrencies:
                        latencies, errors, elapsed = _run_loop(_load(host, port, conc, seconds))
                        ms = [x * 1000 for x in latencies] or [float("nan")]
                        print(
                            f"{store:<7}{conc:>5}{len(latencies):>9}{len(latencies) / elapsed:>10.0f}"
                            f"{statistics.median(ms):>9.2f}{percentile(ms, 99):>9.2f}{len(errors):>8}"
                        )
                        if errors:
                            print(f"        first errors: {errors[:3]}")
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on the machine skews the figures)")


@contextmanager
def _nothing(value: str):
    yield value


def main() -> None:
    """Command line: ``--seconds``, ``--concurrency``, ``--store``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run (default 5)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--store", nargs="+", choices=["memory", "redis"], default=["memory", "redis"])
    args = parser.parse_args()
    run(args.seconds, args.concurrency, args.store)


if __name__ == "__main__":
    main()

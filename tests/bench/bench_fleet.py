"""The fleet dashboard with 1,000 simulated rooms on the broker config we ship. Prints figures, asserts
nothing about time.

Run: ``.venv/bin/python tests/bench/bench_fleet.py [--rooms 1000] [--workers 4] [--samples 300]``.

* **Broker**: kiosk/mosquitto/mosquitto.conf and roomagent.acl as shipped (tests/security/shipped.py:
  only the port, paths, password file and log destination are swapped): TLS, no anonymous access,
  ``max_inflight_messages 20``, ``max_queued_messages 100``. Every room has an account of its own (its
  id), the dashboard logs in as ``ctl_fleet``. The broker's "messages are being dropped" lines are
  counted at the end.
* **Rooms.** 1,000 paho threads (or 1,000 agents) do not fit two cores, so the rooms are a lighter
  client: ``--workers`` processes, each multiplexing its share of paho clients (MQTT 5 over TLS, one
  socket each) on one ``selectors`` loop with paho's ``loop_read``/``loop_write``/``loop_misc``. Each room
  speaks the real contract: the ``offline`` will (retained, QoS 1), retained ``online`` and ``state``
  (the agent's snapshot shape), a subscription to its ``command`` topic, and a reply to every command
  (MQTT 5 ResponseTopic + CorrelationData, else ``response``). The ACL lets only a room write its own
  topics, so a state change is ordered through the worker's stdin and published by the room itself.
* **Start**: from starting the dashboard's process until its overview shows every room with
  availability and state (polled every 0.1 s).
* **Dashboard.** The real ``roomagent fleet`` in its own process, signed in over HTTP; its live updates
  are read **at the SSE stream** (``/events``, parsed by this script), not in a browser.
* **First page**: ``GET /`` with every room on it, after the retained burst has arrived.
* **State change -> tile**: the state of one room is republished by the room (retained) with the
  room in a meeting or idle again; timed from just before the publish to the arrival of that room's
  ``tile-<id>`` event showing the change. One change at a time; then a burst of every room at once.
* **Offline visible**: (a) a worker process with 10 rooms is SIGKILLed: the kernel closes its sockets and
  mosquitto publishes the wills at once; (b) a worker with 10 rooms whose keepalive is 5 s (room.toml's
  smallest) is SIGSTOPped (a hung or powered-off room: the TCP connection stays open, nothing more
  arrives): mosquitto gives up
  after its keepalive timeout (MQTT: 1.5 x keepalive; mosquitto 2.0 checks it on its own schedule, so
  the measured time is longer) and publishes the wills. Timed from the signal to each tile showing
  ``offline``. Production rooms use keepalive 30 s (room.toml ``mqtt.keepalive_s``), which scales (b).
* **In a browser** (Debian's Chromium, headless, through Playwright; skipped without it): the overview's
  load event with every tile, and state change -> the tile in the page showing it (a MutationObserver
  stamps ``Date.now()``; the publish is stamped with ``time.time()`` on the same machine).
* ``roomagent ctl status`` over all rooms (includes ctl's 0.5 s "retained burst is over" quiet time).
* Memory: RSS of mosquitto, of the dashboard and of all room workers together.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import re
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from roomagent.serving import free_port

if not __package__:  # run as a file: make ``tests`` and ``roomagent`` importable as under ``-m``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from tests.bench.fleet_sim import (  # noqa: E402 (after the path set-up above)
    DASHBOARD_USER,
    GUARD_S,
    REPO,
    TILE,
    SimFleet,
    SseReader,
    complete_rooms,
)


# ----- the measuring side ------------------------------------------------------------------------------------
def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()

    from roomagent.fleet.access import hash_password
    from tests.security.shipped import ShippedBroker

    # 1,000 rooms are 1,000 sockets on the broker: raise the open-files limit mosquitto inherits.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    names = Names(args.rooms)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        began = time.monotonic()
        broker = ShippedBroker(folder, users={**SimFleet.users(names.all), DASHBOARD_USER: "bench-dashboard"})
        broker.start()
        print(f"broker: the shipped kiosk/mosquitto/mosquitto.conf and roomagent.acl (TLS, {args.rooms} room "
              f"accounts), ready in {time.monotonic() - began:.1f} s")
        fleet = SimFleet(broker)
        procs: list[subprocess.Popen] = []
        try:
            return _bench(args, folder, broker, fleet, names, procs, hash_password)
        finally:
            fleet.stop()
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
            dropped = [line for line in broker.log if "dropped" in line]
            print(f"broker log: {len(dropped)} 'messages are being dropped' lines" +
                  (f" (first: {dropped[0]})" if dropped else ""))
            broker.stop()


#: Keepalive of the rooms that are SIGSTOPped: room.toml's smallest ``mqtt.keepalive_s``.
STOPPED_KEEPALIVE_S = 5

class Names:
    """The rooms of a run: most in the main workers, 10 to be SIGKILLed, 10 to be SIGSTOPped."""

    def __init__(self, total: int) -> None:
        self.main = [f"b{i:04d}" for i in range(total - 20)]
        self.killed = [f"k{i:04d}" for i in range(10)]
        self.stopped = [f"s{i:04d}" for i in range(10)]
        self.all = [*self.main, *self.killed, *self.stopped]


def fleet_toml(folder: Path, broker, password_hash: str) -> Path:
    """A dashboard config for the shipped broker: TLS with the test CA, the ``ctl_fleet`` account."""
    secret = folder / "secret"
    secret.write_text(secrets.token_hex(32))
    mqtt_password = folder / "ctl_fleet.password"
    mqtt_password.write_text("bench-dashboard\n")
    config = folder / "fleet.toml"
    config.write_text(f"""
[mqtt]
url = "{broker.url}"
username = "{DASHBOARD_USER}"
password_file = "{mqtt_password}"
ca_file = "{broker.certs.ca}"
[web]
session_secret_file = "{secret}"
secure_cookies = false
audit_log = "{folder / 'audit.jsonl'}"
[auth]
mode = "password"
[[auth.users]]
name = "bench"
password_hash = "{password_hash}"
""")
    return config


def _bench(args, folder: Path, broker, fleet: SimFleet, names: Names, procs: list, hash_password) -> int:
    total = args.rooms
    main_names, killed_names, stopped_names = names.main, names.killed, names.stopped
    began = time.monotonic()
    share = -(-len(main_names) // args.workers)
    workers = [fleet.spawn(main_names[i * share:(i + 1) * share]) for i in range(args.workers)]
    killed = fleet.spawn(killed_names)
    stopped = fleet.spawn(stopped_names, keepalive=STOPPED_KEEPALIVE_S)
    fleet.wait_ready()
    print(f"rooms: {total} connected over TLS in {time.monotonic() - began:.1f} s "
          f"({args.workers} workers of ~{share} paho clients on one selector loop each, + 2 x 10)")

    password = secrets.token_urlsafe(12)
    config = fleet_toml(folder, broker, hash_password(password))
    port = free_port()
    started = time.monotonic()
    dash = subprocess.Popen([sys.executable, "-m", "roomagent", "fleet", "--config", str(config), "--port", str(port)],
                            cwd=REPO, stderr=subprocess.DEVNULL)
    procs.append(dash)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=GUARD_S)
    deadline = started + GUARD_S
    while True:  # signed in as soon as the dashboard answers
        try:
            token = _csrf(http.get("/login").text)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError("the dashboard did not start") from None
            time.sleep(0.05)
    assert http.post("/login", data={"csrf": token, "name": "bench", "password": password}).status_code == 303
    answering = time.monotonic() - started
    # Watched without loading the dashboard: its stream (every room that changes from now on), and once
    # the page (every room complete before; rendered after the stream registered, so nothing falls between).
    watch = SseReader(httpx.Client(base_url=http.base_url, cookies=http.cookies, timeout=GUARD_S))
    watch.start()
    watch.wait(lambda ev, data: ev == "broker")  # the stream is open
    complete = complete_rooms(http.get("/").text)
    try:
        while len(complete) < total:
            _, event, data = watch.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if event == "new-tile" or event.startswith("tile-"):
                complete |= complete_rooms(data)
    except queue.Empty:
        print(f"dashboard: only {len(complete)} of {total} rooms known with state {GUARD_S:.0f} s after its start "
              f"({http.get('/').text.count(TILE)} tiles)")
        return 1
    done = time.monotonic()
    watch.client.close()
    print(f"dashboard start: all {total} rooms known with availability and state {done - started:.2f} s after its "
          f"process started; it answered HTTP (and began to connect to the broker) after {answering:.2f} s, so "
          f"{done - started - answering:.2f} s for the broker part")

    pages = []
    for _ in range(5):
        t0 = time.monotonic()
        body = http.get("/").text
        pages.append(time.monotonic() - t0)
    assert body.count('<article id="tile-') == total, body.count('<article id="tile-')
    print(f"first full page, {total} rooms: {1000 * pages[0]:.0f} ms the first time, median of 5 "
          f"{1000 * statistics.median(pages):.0f} ms, {len(body) / 1024:.0f} KiB")

    sse = SseReader(httpx.Client(base_url=http.base_url, cookies=http.cookies, timeout=GUARD_S))
    sse.start()
    time.sleep(0.5)
    sse.drain()
    rng = random.Random(16)
    meeting = {name: False for name in main_names}
    latencies = []
    for _ in range(args.samples):
        name = rng.choice(main_names)
        meeting[name] = not meeting[name]
        wanted = "in a meeting" if meeting[name] else "idle"
        t0 = time.monotonic()
        fleet.set_state(name, "in_meeting" if meeting[name] else "idle")
        [t1] = sse.wait(lambda ev, data, n=name, w=wanted: ev == f"tile-{n}" and w in data)
        latencies.append(1000 * (t1 - t0))
        time.sleep(rng.uniform(0.005, 0.02))
    print(f"state change -> tile event at the SSE stream, {len(latencies)} changes one at a time: "
          f"p50 {pct(latencies, 50):.1f} ms, p99 {pct(latencies, 99):.1f} ms, max {max(latencies):.1f} ms")

    _browser_figures(http, fleet, main_names, meeting, rng, min(100, args.samples))

    sse.drain()
    t0 = time.monotonic()
    for name in main_names:
        meeting[name] = not meeting[name]
        fleet.set_state(name, "in_meeting" if meeting[name] else "idle", flush=False)
    fleet.flush()
    seen: set[str] = set()

    def burst(ev: str, data: str) -> bool:
        name = ev.removeprefix("tile-")
        ok = ev.startswith("tile-") and name in meeting and name not in seen and \
            ("in a meeting" if meeting[name] else "idle") in data
        if ok:
            seen.add(name)
        return ok

    done = sse.wait(burst, count=len(main_names))
    print(f"burst: {len(main_names)} rooms change state at once -> every tile event at the SSE stream after "
          f"{1000 * (max(done) - t0):.0f} ms (median {1000 * (statistics.median(done) - t0):.0f} ms)")

    for label, proc, names, sig in (("SIGKILL of a room process (socket closed)", killed, killed_names, signal.SIGKILL),
                                    (f"SIGSTOP of a room process, keepalive {STOPPED_KEEPALIVE_S} s (connection silent)", stopped,
                                     stopped_names, signal.SIGSTOP)):
        sse.drain()
        t0 = time.monotonic()
        os.kill(proc.pid, sig)
        pending = set(names)

        def offline(ev: str, data: str, pending=pending) -> bool:
            name = ev.removeprefix("tile-")
            if name in pending and 'class="tile offline' in data:
                pending.discard(name)
                return True
            return False

        times = sse.wait(offline, count=len(names))
        print(f"offline visible after {label}: first {1000 * (min(times) - t0):.0f} ms, "
              f"all {len(names)} {1000 * (max(times) - t0):.0f} ms")

    t0 = time.monotonic()
    from tests.security.shipped import CONTROLLER, secret_file

    login = ["--broker", broker.url, "--username", CONTROLLER, "--password-file",
             str(secret_file(broker.workdir, CONTROLLER)), "--ca-file", str(broker.certs.ca)]
    ctl = subprocess.run([sys.executable, "-m", "roomagent", "ctl", *login, "status", "--all"],
                         cwd=REPO, capture_output=True, text=True, timeout=GUARD_S)
    rows = len(ctl.stdout.splitlines()) - 1
    print(f"roomagent ctl status --all: {rows} rooms in {time.monotonic() - t0:.2f} s "
          f"(process start and the 0.5 s quiet time included)")
    t0 = time.monotonic()
    reply = subprocess.run([sys.executable, "-m", "roomagent", "ctl", *login, "--room", main_names[7],
                            "identify_screens"], cwd=REPO, capture_output=True, text=True, timeout=GUARD_S)
    print(f"roomagent ctl identify_screens to a simulated room: exit {reply.returncode} in "
          f"{time.monotonic() - t0:.2f} s (process start included)")

    room_rss = sum(rss_mib(p.pid) for p in [*workers, stopped])
    print(f"memory (RSS): mosquitto {rss_mib(broker.server.proc.pid):.0f} MiB, dashboard {rss_mib(dash.pid):.0f} MiB "
          f"(with {len(main_names) + 20} rooms and their history), room workers together {room_rss:.0f} MiB")
    print(f"total run time {time.monotonic() - began:.0f} s")
    return 0


#: Resolves with Date.now() once the room's tile shows the wanted text (a MutationObserver, no polling).
_TILE_CHANGED_JS = """([id, want]) => { window.__changed = new Promise(resolve => {
  const tiles = document.getElementById('tiles');
  const observer = new MutationObserver(() => {
    const tile = document.getElementById('tile-' + id);
    if (tile && tile.textContent.includes(want)) { observer.disconnect(); resolve(Date.now()); }
  });
  observer.observe(tiles, {childList: true, subtree: true, characterData: true});
}); }"""


def _browser_figures(http: httpx.Client, fleet: SimFleet, names: list[str], meeting: dict, rng: random.Random,
                     samples: int) -> None:
    """The same figures in Debian's Chromium (headless, Playwright): the overview's load, and a state
    change until the tile in the page shows it (wall clock on both sides: one machine)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser figures: skipped (playwright is not installed)")
        return
    if not Path("/usr/bin/chromium").exists():
        print("browser figures: skipped (no /usr/bin/chromium)")
        return
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox"] if os.geteuid() == 0 else [])
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.add_cookies([{"name": "fleet_session", "value": http.cookies["fleet_session"],
                              "url": str(http.base_url)}])
        page = context.new_page()
        t0 = time.monotonic()
        page.goto(str(http.base_url) + "/", wait_until="load")
        loaded = time.monotonic() - t0
        tiles = page.locator("article.tile").count()
        page.wait_for_function("() => window.htmx !== undefined")
        time.sleep(1.0)  # the event stream connects after the load event
        latencies = []
        for _ in range(samples):
            name = rng.choice(names)
            meeting[name] = not meeting[name]
            wanted = "in a meeting" if meeting[name] else "idle"
            page.evaluate(_TILE_CHANGED_JS, [name, wanted])
            t_pub = time.time()
            fleet.set_state(name, "in_meeting" if meeting[name] else "idle")
            shown_ms = page.evaluate("window.__changed")
            latencies.append(shown_ms - 1000 * t_pub)
            time.sleep(rng.uniform(0.005, 0.02))
        browser.close()
    print(f"in Chromium (headless): overview with {tiles} tiles loaded in {1000 * loaded:.0f} ms; state change -> "
          f"tile changed in the page, {len(latencies)} changes: p50 {pct(latencies, 50):.1f} ms, "
          f"p99 {pct(latencies, 99):.1f} ms")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)



if __name__ == "__main__":
    raise SystemExit(main())

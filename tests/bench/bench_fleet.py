"""The fleet dashboard with 1,000 simulated rooms on one mosquitto. Prints figures, asserts nothing about time.

Run: ``.venv/bin/python tests/bench/bench_fleet.py [--rooms 1000] [--workers 4] [--samples 300]``.

* **Rooms.** 1,000 paho threads (or 1,000 agents) do not fit two cores, so the rooms are a lighter
  client: ``--workers`` processes, each multiplexing its share of paho clients (MQTT 5, one socket
  each) on one ``selectors`` loop with paho's ``loop_read``/``loop_write``/``loop_misc``. Each room
  speaks the real contract: the ``offline`` will (retained, QoS 1), retained ``online`` and ``state``
  (the agent's snapshot shape), a subscription to its ``command`` topic, and a reply to every command
  (MQTT 5 ResponseTopic + CorrelationData, else ``response``).
* **Dashboard.** The real ``roomagent fleet`` in its own process, signed in over HTTP; its live updates
  are read **at the SSE stream** (``/events``, parsed by this script), not in a browser.
* **First page**: ``GET /`` with every room on it, after the retained burst has arrived.
* **State change -> tile**: the state of one room is republished (retained, the room's topic) with the
  room in a meeting or idle again; timed from just before the publish to the arrival of that room's
  ``tile-<id>`` event showing the change. One change at a time; then a burst of every room at once.
* **Offline visible**: (a) a worker process with 10 rooms is SIGKILLed: the kernel closes its sockets and
  mosquitto publishes the wills at once; (b) a worker with 10 rooms whose keepalive is 2 s is SIGSTOPped
  (a hung or powered-off room: the TCP connection stays open, nothing more arrives): mosquitto gives up
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
import json
import os
import queue
import random
import resource
import secrets
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from roomagent.serving import free_port

if not __package__:  # run as a file: make ``tests`` and ``roomagent`` importable as under ``-m``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

REPO = Path(__file__).resolve().parents[2]
GUARD_S = 60.0
MEETING = {"id": "m", "platform": "bbb", "host": "bbb.example.org", "since": 1_700_000_000.0}


def snapshot(lifecycle: str = "idle") -> dict:
    """A state in the agent's shape (roomagent/control/schemas/state.schema.json)."""
    status = "loaded" if lifecycle == "in_meeting" else "idle"
    return {"state": lifecycle, "meeting": MEETING if lifecycle == "in_meeting" else None, "layout": None,
            "muted": None, "screens": [{"id": "left", "role": "slides", "media": True, "status": status},
                                       {"id": "right", "role": "cameras", "media": False, "status": status}],
            "layouts": ["lecture"], "capabilities": [], "warnings": [],
            "sources": [{"id": "hdmi1", "name": "HDMI 1", "present": True, "signal": False}], "sharing": None,
            "previews": {}, "reconnecting": False, "engine": "qtwebengine",
            "rendering": {"mode": "software", "reason": "bench"}, "codecs": {}, "version": "bench", "error": None}


# ----- the room workers (child processes) ------------------------------------------------------------------
def run_worker(port: int, names: list[str], keepalive: int) -> int:
    """Connect every room in ``names`` and serve them on one selector loop until killed."""
    sel = selectors.DefaultSelector()
    clients: list[mqtt.Client] = []
    ready = {"n": 0}
    state = json.dumps(snapshot()).encode()

    def on_connect(client, room, _flags, reason, _props):
        if reason.is_failure:
            print(f"refused {room}: {reason}", flush=True)
            return
        client.publish(f"roomagent/{room}/state", state, qos=1, retain=True)
        client.publish(f"roomagent/{room}/availability", b"online", qos=1, retain=True)
        client.subscribe(f"roomagent/{room}/command", qos=1)

    def on_subscribe(_client, _room, _mid, _reasons, _props):
        ready["n"] += 1

    def on_message(client, room, message):
        try:
            request = json.loads(message.payload)
            reply = {"id": str(request.get("id", "")), "status": "ok"}
        except ValueError:
            reply = {"id": "", "status": "error", "error": {"code": "invalid", "message": "not JSON"}}
        props = message.properties
        topic = getattr(props, "ResponseTopic", None) or f"roomagent/{room}/response"
        out = None
        if getattr(props, "CorrelationData", None) is not None:
            out = Properties(PacketTypes.PUBLISH)
            out.CorrelationData = props.CorrelationData
        client.publish(topic, json.dumps(reply).encode(), qos=1, properties=out)

    for room in names:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"roomagent-{room}", userdata=room,
                             protocol=MQTTProtocolVersion.MQTTv5)
        client.will_set(f"roomagent/{room}/availability", b"offline", qos=1, retain=True)
        client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
        client.connect("127.0.0.1", port, keepalive)
        sel.register(client.socket(), selectors.EVENT_READ, client)
        clients.append(client)
    announced = False
    last_misc = time.monotonic()
    while True:
        for client in clients:
            if client.want_write():
                client.loop_write()
        for key, _ in sel.select(timeout=0.1):
            key.data.loop_read()
        if time.monotonic() - last_misc > 0.5:
            last_misc = time.monotonic()
            for client in clients:
                client.loop_misc()
        if not announced and ready["n"] == len(clients):
            announced = True
            print("ready", flush=True)


# ----- the measuring side ------------------------------------------------------------------------------------
def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class SseReader:
    """Reads the dashboard's ``/events`` in a thread; (arrival time, event, data) land in a queue."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.events: queue.Queue[tuple[float, str, str]] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            self._read()
        except httpx.HTTPError:  # the dashboard stopped at the end of the run
            pass

    def _read(self) -> None:
        with self.client.stream("GET", "/events", timeout=None) as response:
            name, data = "message", []
            for line in response.iter_lines():
                if line == "":
                    if data:
                        self.events.put((time.monotonic(), name, "\n".join(data)))
                    name, data = "message", []
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))

    def wait(self, predicate, count: int = 1) -> list[float]:
        """Arrival times of the first ``count`` events matching ``predicate(name, data)``."""
        times: list[float] = []
        deadline = time.monotonic() + GUARD_S
        while len(times) < count:
            at, name, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if predicate(name, data):
                times.append(at)
        return times

    def drain(self) -> None:
        while True:
            try:
                self.events.get_nowait()
            except queue.Empty:
                return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--worker", nargs=3, metavar=("PORT", "NAMES", "KEEPALIVE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return run_worker(int(args.worker[0]), args.worker[1].split(","), int(args.worker[2]))

    from roomagent.fleet.access import hash_password
    from tests.control.broker import Mosquitto

    # 1,000 rooms are 1,000 sockets on the broker: raise the open-files limit mosquitto inherits.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Mosquitto(folder, extra="max_connections -1\nmax_queued_messages 10000").start()
        try:
            return _bench(args, folder, broker, procs, hash_password)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGCONT)
                    proc.kill()
                proc.wait()
            broker.stop()


def _spawn_rooms(port: int, names: list[str], keepalive: int, procs: list) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.bench_fleet", "--worker", str(port), ",".join(names),
                             str(keepalive)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    procs.append(proc)
    return proc


def _bench(args, folder: Path, broker, procs: list, hash_password) -> int:
    total = args.rooms
    main_names = [f"b{i:04d}" for i in range(total - 20)]
    killed_names = [f"k{i:04d}" for i in range(10)]
    stopped_names = [f"s{i:04d}" for i in range(10)]
    began = time.monotonic()
    workers = []
    share = -(-len(main_names) // args.workers)
    for i in range(args.workers):
        workers.append(_spawn_rooms(broker.port, main_names[i * share:(i + 1) * share], 30, procs))
    killed = _spawn_rooms(broker.port, killed_names, 30, procs)
    stopped = _spawn_rooms(broker.port, stopped_names, 2, procs)
    for proc in [*workers, killed, stopped]:
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"room worker failed: {line!r}")
    print(f"rooms: {total} connected in {time.monotonic() - began:.1f} s "
          f"({args.workers} workers of ~{share} paho clients on one selector loop each, + 2 x 10)")

    password = secrets.token_urlsafe(12)
    secret = folder / "secret"
    secret.write_text(secrets.token_hex(32))
    config = folder / "fleet.toml"
    config.write_text(f"""
[mqtt]
url = "{broker.url}"
[web]
session_secret_file = "{secret}"
secure_cookies = false
audit_log = "{folder / 'audit.jsonl'}"
[auth]
mode = "password"
[[auth.users]]
name = "bench"
password_hash = "{hash_password(password)}"
""")
    port = free_port()
    dash = subprocess.Popen([sys.executable, "-m", "roomagent", "fleet", "--config", str(config), "--port", str(port)],
                            cwd=REPO, stderr=subprocess.DEVNULL)
    procs.append(dash)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=GUARD_S)
    deadline = time.monotonic() + GUARD_S
    while True:
        try:
            if http.get("/healthz").json()["rooms"] >= total:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the dashboard did not learn every room")
        time.sleep(0.05)
    print(f"dashboard: every room known {time.monotonic() - began:.1f} s after the start")
    token = _csrf(http.get("/login").text)
    assert http.post("/login", data={"csrf": token, "name": "bench", "password": password}).status_code == 303

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
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    pub.on_socket_open = __import__("roomagent.control.paho_client", fromlist=["no_delay"]).no_delay
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    rng = random.Random(16)
    meeting = {name: False for name in main_names}
    latencies = []
    for _ in range(args.samples):
        name = rng.choice(main_names)
        meeting[name] = not meeting[name]
        wanted = "in a meeting" if meeting[name] else "idle"
        payload = json.dumps(snapshot("in_meeting" if meeting[name] else "idle")).encode()
        t0 = time.monotonic()
        pub.publish(f"roomagent/{name}/state", payload, qos=1, retain=True)
        [t1] = sse.wait(lambda ev, data, n=name, w=wanted: ev == f"tile-{n}" and w in data)
        latencies.append(1000 * (t1 - t0))
        time.sleep(rng.uniform(0.005, 0.02))
    print(f"state change -> tile event at the SSE stream, {len(latencies)} changes one at a time: "
          f"p50 {pct(latencies, 50):.1f} ms, p99 {pct(latencies, 99):.1f} ms, max {max(latencies):.1f} ms")

    _browser_figures(http, pub, main_names, meeting, rng, min(100, args.samples))

    sse.drain()
    t0 = time.monotonic()
    for name in main_names:
        meeting[name] = not meeting[name]
        pub.publish(f"roomagent/{name}/state", json.dumps(snapshot("in_meeting" if meeting[name] else "idle")).encode(),
                    qos=1, retain=True)
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
                                    ("SIGSTOP of a room process, keepalive 2 s (connection silent)", stopped,
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
    ctl = subprocess.run([sys.executable, "-m", "roomagent", "ctl", "--broker", broker.url, "status", "--all"],
                         cwd=REPO, capture_output=True, text=True, timeout=GUARD_S)
    rows = len(ctl.stdout.splitlines()) - 1
    print(f"roomagent ctl status --all: {rows} rooms in {time.monotonic() - t0:.2f} s "
          f"(process start and the 0.5 s quiet time included)")
    t0 = time.monotonic()
    reply = subprocess.run([sys.executable, "-m", "roomagent", "ctl", "--broker", broker.url, "--room", main_names[7],
                            "identify_screens"], cwd=REPO, capture_output=True, text=True, timeout=GUARD_S)
    print(f"roomagent ctl identify_screens to a simulated room: exit {reply.returncode} in "
          f"{time.monotonic() - t0:.2f} s (process start included)")

    room_rss = sum(rss_mib(p.pid) for p in [*workers, stopped])
    print(f"memory (RSS): mosquitto {rss_mib(broker.proc.pid):.0f} MiB, dashboard {rss_mib(dash.pid):.0f} MiB "
          f"(with {len(main_names) + 20} rooms and their history), room workers together {room_rss:.0f} MiB")
    pub.loop_stop()
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


def _browser_figures(http: httpx.Client, pub: mqtt.Client, names: list[str], meeting: dict, rng: random.Random,
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
            payload = json.dumps(snapshot("in_meeting" if meeting[name] else "idle")).encode()
            t_pub = time.time()
            pub.publish(f"roomagent/{name}/state", payload, qos=1, retain=True)
            shown_ms = page.evaluate("window.__changed")
            latencies.append(shown_ms - 1000 * t_pub)
            time.sleep(rng.uniform(0.005, 0.02))
        browser.close()
    print(f"in Chromium (headless): overview with {tiles} tiles loaded in {1000 * loaded:.0f} ms; state change -> "
          f"tile changed in the page, {len(latencies)} changes: p50 {pct(latencies, 50):.1f} ms, "
          f"p99 {pct(latencies, 99):.1f} ms")


def _csrf(html: str) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)



if __name__ == "__main__":
    raise SystemExit(main())

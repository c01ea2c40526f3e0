"""Simulated rooms for the fleet dashboard's tests and benchmark, on the shipped broker config
(tests/security/shipped.py): many paho clients multiplexed on one ``selectors`` loop per worker process
(1,000 paho threads or agents do not fit two cores), each room logged in as itself over TLS; and a reader
of the dashboard's Server-Sent Events. Used by tests/bench/bench_fleet.py and tests/fleet/."""

from __future__ import annotations

import json
import os
import queue
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

REPO = Path(__file__).resolve().parents[2]
#: Upper bound of every wait (a failure guard).
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
def run_worker(port: int, names: list[str], keepalive: int, ca: str, password_file: str) -> int:
    """Connect every room in ``names`` (over TLS, each logged in as its own user, as the shipped ACL
    wants) and serve them on one selector loop until killed. A line ``<room> <lifecycle>`` on stdin makes
    that room publish its retained state in that lifecycle: only a room may write its own topics."""
    sel = selectors.DefaultSelector()
    clients: dict[str, mqtt.Client] = {}
    ready = {"n": 0}
    password = Path(password_file).read_text().strip()
    states = {name: json.dumps(snapshot(name)).encode() for name in ("idle", "in_meeting")}

    def on_connect(client, room, _flags, reason, _props):
        if reason.is_failure:
            print(f"refused {room}: {reason}", flush=True)
            return
        client.publish(f"roomagent/{room}/state", states["idle"], qos=1, retain=True)
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
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=room, userdata=room,
                             protocol=MQTTProtocolVersion.MQTTv5)
        client.username_pw_set(room, password)
        client.tls_set(ca_certs=ca)
        client.will_set(f"roomagent/{room}/availability", b"offline", qos=1, retain=True)
        client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
        client.connect("127.0.0.1", port, keepalive)
        sel.register(client.socket(), selectors.EVENT_READ, client)
        clients[room] = client
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, None)
    pending = b""
    announced = False
    last_misc = time.monotonic()
    while True:
        for client in clients.values():
            if client.want_write():
                client.loop_write()
        for key, _ in sel.select(timeout=0.1):
            if key.data is None:  # orders from the bench: "<room> <lifecycle>" lines
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    return 0
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    room, lifecycle = line.decode().split()
                    clients[room].publish(f"roomagent/{room}/state", states[lifecycle], qos=1, retain=True)
                continue
            key.data.loop_read()
            # TLS: a record may hold more than one packet; what OpenSSL buffered never wakes select().
            while (sock := key.data.socket()) is not None and sock.pending():
                key.data.loop_read()
        if time.monotonic() - last_misc > 0.5:
            last_misc = time.monotonic()
            for client in clients.values():
                client.loop_misc()
        if not announced and ready["n"] == len(clients):
            announced = True
            print("ready", flush=True)


class SseReader:
    """Reads a dashboard stream (``/events`` unless ``path``) in a thread; (arrival time, event, data) land
    in a queue."""

    def __init__(self, client: httpx.Client, path: str = "/events", guard_s: float = GUARD_S) -> None:
        self.client = client
        self.path = path
        self.guard_s = guard_s
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
        with self.client.stream("GET", self.path, timeout=None) as response:
            self.status = response.status_code
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
        deadline = time.monotonic() + self.guard_s
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


class SimFleet:
    """Simulated rooms on a :class:`~tests.security.shipped.ShippedBroker`: worker processes of
    :func:`run_worker`, each room logged in as its own user (one bench password for all of them)."""

    PASSWORD = "bench-room-password"

    def __init__(self, broker) -> None:
        self.broker = broker
        self.procs: list[subprocess.Popen] = []
        self.owner: dict[str, subprocess.Popen] = {}
        self.secret = broker.workdir / "bench-room.password"
        self.secret.write_text(self.PASSWORD + "\n")

    @staticmethod
    def users(names: list[str]) -> dict[str, str]:
        """The broker accounts these rooms need (``ShippedBroker(users=...)``)."""
        return dict.fromkeys(names, SimFleet.PASSWORD)

    def spawn(self, names: list[str], keepalive: int = 30) -> subprocess.Popen:
        """One worker process serving ``names``; wait for it with :meth:`wait_ready`."""
        proc = subprocess.Popen([sys.executable, "-m", "tests.bench.fleet_sim", "--worker", str(self.broker.port),
                                 ",".join(names), str(keepalive), str(self.broker.certs.ca), str(self.secret)],
                                cwd=REPO, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
        self.procs.append(proc)
        self.owner.update(dict.fromkeys(names, proc))
        return proc

    def wait_ready(self) -> None:
        """Block until every worker has connected, published and subscribed all its rooms."""
        for proc in self.procs:
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"room worker failed: {line!r}")

    def set_state(self, room: str, lifecycle: str, *, flush: bool = True) -> None:
        """Make ``room`` publish its retained state (``idle`` or ``in_meeting``), from its own connection."""
        stdin = self.owner[room].stdin
        stdin.write(f"{room} {lifecycle}\n")
        if flush:
            stdin.flush()

    def flush(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.stdin.flush()

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
            proc.wait()


#: The dashboard's broker account: a controller (``ctl_*``) of the shipped ACL.
DASHBOARD_USER = "ctl_fleet"


TILE = '<article id="tile-'


def complete_rooms(html: str) -> set[str]:
    """The rooms whose tiles in ``html`` (a page or a tile event) show availability and state."""
    return {m.group(1) for m in re.finditer(r'<article id="tile-([a-z0-9-]+)".*?</article>', html, re.S)
            if '<p class="activity">' in m.group(0)}


def known_with_state(html: str) -> int:
    """Tiles on an overview page whose room is known with availability and state."""
    return html.count('<p class="activity">')


def main() -> int:
    """``python -m tests.bench.fleet_sim --worker PORT NAMES KEEPALIVE CA PASSWORD_FILE``: one worker."""
    if len(sys.argv) != 7 or sys.argv[1] != "--worker":
        print(__doc__)
        return 2
    port, names, keepalive, ca, password_file = sys.argv[2:]
    return run_worker(int(port), names.split(","), int(keepalive), ca, password_file)


if __name__ == "__main__":
    raise SystemExit(main())

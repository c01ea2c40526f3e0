"""Round-trip latency of the MQTT control path. Prints figures, asserts nothing about time.

Run: ``.venv/bin/python tests/bench/bench_mqtt.py [--n 1000]`` (or ``-m tests.bench.bench_mqtt``).
A private mosquitto on a free port; the measuring client sends one request at a time (QoS 1) and times
publish -> answer received, ``--n`` times after a warm-up:

* broker: an echo client in its own process republishes each message (QoS 1) on another topic, i.e.
  two broker hops and two paho clients: the floor for any request/response over MQTT;
* edge: ``get_state`` commands as MQTT 5 requests (ResponseTopic, CorrelationData) to a real
  :class:`~roomagent.control.mqtt.MqttControl` in its own QCoreApplication process
  (``tests/control/agent_child.py``), which validates each command, hands it to the Qt main thread and
  replies at once.

The ratio edge/broker is the cost of the edge itself (validation, the hop to Qt's thread and back).
"""

from __future__ import annotations

import argparse
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if not __package__:  # run as a file: make ``tests`` and ``roomagent`` importable as under ``-m``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from roomagent.control.paho_client import no_delay

ROOT = Path(__file__).resolve().parents[2]
#: Round trips before measuring: connections, caches and the allocator settle first.
WARMUP = 100
#: A child or an answer that does not come within this is a failure of the bench, not a figure.
CHILD_TIMEOUT_S = 30.0
ROOM = "bench"


def client(port: int, on_message=None) -> mqtt.Client:
    """A connected MQTT 5 paho client (TCP_NODELAY, like the edge) running its own network thread."""
    connected = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    c.on_socket_open = no_delay
    c.on_connect = lambda *_: connected.set()
    if on_message is not None:
        c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.loop_start()
    if not connected.wait(CHILD_TIMEOUT_S):
        raise RuntimeError("bench client could not connect")
    return c


def subscribe(c: mqtt.Client, topic: str) -> None:
    acked = threading.Event()
    c.on_subscribe = lambda *_: acked.set()
    c.subscribe(topic, qos=1)
    if not acked.wait(CHILD_TIMEOUT_S):
        raise RuntimeError(f"no SUBACK for {topic}")


def echo_child(port: int) -> int:
    """Child side (``--echo-child PORT``): republish every message on bench/ping to bench/pong."""
    c = client(port, on_message=lambda cl, _u, msg: cl.publish("bench/pong", msg.payload, qos=1,
                                                                 properties=msg.properties))
    subscribe(c, "bench/ping")
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    c.disconnect()
    c.loop_stop()
    return 0


def wait_line(proc: subprocess.Popen, expected: str) -> None:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline().strip()), daemon=True).start()
    line = lines.get(timeout=CHILD_TIMEOUT_S)
    if line != expected:
        raise RuntimeError(f"child said {line!r}, expected {expected!r}")


def measure(port: int, topic: str, answer_topic: str, payload: bytes, n: int) -> list[float]:
    """Sequential round trips: publish on ``topic`` (QoS 1, with ResponseTopic and CorrelationData),
    wait for the message on ``answer_topic``. Returns the latencies in milliseconds."""
    answers: queue.Queue = queue.Queue()
    c = client(port, on_message=lambda _c, _u, msg: answers.put(time.perf_counter()))
    subscribe(c, answer_topic)
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = answer_topic
    props.CorrelationData = b"bench"
    latencies = []
    try:
        for i in range(WARMUP + n):
            sent = time.perf_counter()
            c.publish(topic, payload, qos=1, properties=props)
            received = answers.get(timeout=CHILD_TIMEOUT_S)
            if i >= WARMUP:
                latencies.append((received - sent) * 1000)
    finally:
        c.disconnect()
        c.loop_stop()
    return latencies


def percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100)
    return cuts[49], cuts[98]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="measured round trips per path (default 1000)")
    parser.add_argument("--echo-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_child:
        return echo_child(args.echo_child)

    from tests.control.broker import Mosquitto

    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp)).start()
        children: list[subprocess.Popen] = []
        try:
            echo = subprocess.Popen([sys.executable, __file__, "--echo-child", str(broker.port)], cwd=ROOT,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            children.append(echo)
            wait_line(echo, "ready")
            raw = measure(broker.port, "bench/ping", "bench/pong", b'{"id": "b", "action": "get_state"}', args.n)

            agent = subprocess.Popen([sys.executable, "-m", "tests.control.agent_child", broker.url, ROOM],
                                     cwd=ROOT, stdout=subprocess.PIPE, text=True)
            children.append(agent)
            wait_line(agent, "connected")
            edge = measure(broker.port, f"roomagent/{ROOM}/command", "bench/reply",
                           b'{"id": "b", "action": "get_state"}', args.n)
        finally:
            for child in children:
                child.terminate()
                child.wait(CHILD_TIMEOUT_S)
            broker.stop()

    raw_p50, raw_p99 = percentiles(raw)
    edge_p50, edge_p99 = percentiles(edge)
    print(f"MQTT round trips, {args.n} each after {WARMUP} warm-up, QoS 1, loopback, private mosquitto")
    rows = [("broker (echo client, own process)", f"{raw_p50:6.3f} ms", f"{raw_p99:6.3f} ms"),
            ("edge (MqttControl get_state, own process)", f"{edge_p50:6.3f} ms", f"{edge_p99:6.3f} ms"),
            ("edge / broker", f"x{edge_p50 / raw_p50:5.2f}   ", f"x{edge_p99 / raw_p99:5.2f}   ")]
    for label, p50, p99 in rows:
        print(f"  {label + ':':43} p50 {p50}   p99 {p99}".rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

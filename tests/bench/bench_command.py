"""Remote command latency through the whole agent. Prints figures, asserts nothing about time.

Run: ``.venv/bin/python -m tests.bench.bench_command [--n 1000]``. In one process: a private mosquitto,
the reference directory, the demo meeting server and a real :class:`~roomagent.app.RoomAgent` (offscreen,
one screen, MQTT on) that joins a meeting by its code. A measuring thread then sends ``reload`` commands
as MQTT 5 requests, one at a time, and times publish → reply received and publish → the meeting page
loaded again (the meeting server records each load: the effect applied in a real QtWebEngine page).
Beside it, the raw broker round trip (publish → a subscriber in the same client) in the same run.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

if not __package__:  # run as a file: make ``tests`` and ``roomagent`` importable as under ``-m``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

#: Commands before measuring: connections, caches and the renderer settle first.
WARMUP = 50
#: An answer that does not come within this is a failure of the bench, not a figure.
ANSWER_TIMEOUT_S = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()

    import logging

    from PySide6 import QtWebEngineWidgets  # noqa: F401 - before QApplication
    from PySide6.QtCore import QMetaObject, Qt
    from PySide6.QtWidgets import QApplication

    from roomagent import __version__
    from roomagent.app import RoomAgent
    from roomagent.control.mqtt import MqttControl
    from roomagent.core.state import Lifecycle
    from roomagent.demo import meeting_server
    from roomagent.demo.runner import create_code, start_directory
    from roomagent.directory.client import DirectoryClient
    from roomagent.profile import RoomProfile
    from roomagent.remote import RemoteControl
    from roomagent.serving import run_in_thread
    from tests.bench.bench_mqtt import client, percentiles, subscribe
    from tests.control.broker import Mosquitto

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = QApplication([])
    loads: queue.Queue = queue.Queue()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp)).start()
        meeting = run_in_thread(meeting_server.create_app(on_load=lambda entry: loads.put(time.perf_counter())))
        directory, token = start_directory("127.0.0.1")
        profile = RoomProfile(room={"id": "bench", "name": "Bench room"}, directory={"url": directory.url},
                              meeting={"allowed_hosts": ["127.0.0.1"]}, mqtt={"url": broker.url},
                              screens=[{"id": "main", "media": True}])
        agent = RoomAgent.from_profile(profile, lambda: DirectoryClient(directory.url), windowed=True)
        agent.start()
        remote = RemoteControl(agent, MqttControl(profile.mqtt, "bench", version=__version__))
        remote.start()
        code = create_code(directory.url, token, f"{meeting.url}/meeting/bench")

        def measure() -> None:
            try:
                results.update(_measure(broker.port, loads, args.n, client, subscribe))
            finally:
                # From this thread a QTimer would never fire: queue the call into the Qt thread instead.
                QMetaObject.invokeMethod(app, "quit", Qt.ConnectionType.QueuedConnection)

        def on_state(state) -> None:
            if state.lifecycle is Lifecycle.IN_MEETING and not hasattr(on_state, "started"):
                on_state.started = True
                while not loads.empty():  # the join's own load
                    loads.get()
                threading.Thread(target=measure, daemon=True).start()

        agent.state_changed.connect(on_state)
        agent.engine_ready.connect(lambda: [agent.panel.type_symbol(c) for c in code.replace("-", "")])
        app.exec()
        remote.stop()
        agent.stop()
        directory.stop()
        meeting.stop()
        broker.stop()

    if not results:
        print("bench_command: no figures (the measuring thread failed)")
        return 1
    print(f"remote command latency, {args.n} commands after {WARMUP} warm-up, QoS 1, loopback")
    for label, key in (("broker round trip (publish -> own subscription)", "broker"),
                       ("reload: publish -> reply received", "reply"),
                       ("reload: publish -> page loaded again (effect)", "effect"),
                       ("reload: publish -> reply and effect, both", "both")):
        p50, p99 = percentiles(results[key])
        print(f"  {label + ':':52} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    return 0


def _measure(port: int, loads: queue.Queue, n: int, client, subscribe) -> dict[str, list[float]]:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    replies: queue.Queue = queue.Queue()
    echoes: queue.Queue = queue.Queue()

    def on_message(_c, _u, msg) -> None:
        (echoes if msg.topic == "bench/echo" else replies).put(time.perf_counter())

    c = client(port, on_message=on_message)
    subscribe(c, "bench/reply")
    subscribe(c, "bench/echo")
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = "bench/reply"
    props.CorrelationData = b"bench"
    out: dict[str, list[float]] = {"broker": [], "reply": [], "effect": [], "both": []}
    try:
        for i in range(WARMUP + n):
            sent = time.perf_counter()
            c.publish("bench/echo", b"x", qos=1)
            echoed = echoes.get(timeout=ANSWER_TIMEOUT_S)
            sent2 = time.perf_counter()
            # A fresh id each time: a repeated id and content within 600 s is answered once (de-duplication).
            c.publish("roomagent/bench/command", f'{{"id": "r{i}", "action": "reload", "screen": "main"}}'.encode(),
                      qos=1, properties=props)
            replied = replies.get(timeout=ANSWER_TIMEOUT_S)
            loaded = loads.get(timeout=ANSWER_TIMEOUT_S)
            if i >= WARMUP:
                out["broker"].append((echoed - sent) * 1000)
                out["reply"].append((replied - sent2) * 1000)
                out["effect"].append((loaded - sent2) * 1000)
                out["both"].append((max(replied, loaded) - sent2) * 1000)
    finally:
        c.disconnect()
        c.loop_stop()
    return out


if __name__ == "__main__":
    raise SystemExit(main())

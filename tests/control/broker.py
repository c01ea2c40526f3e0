"""Test helpers for the MQTT edge: a private mosquitto, a paho probe client, a TCP proxy.

Every wait here is a failure guard (``GUARD_S``), never a timing assertion: the helpers block on
events, queues and conditions that the real thing sets.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from roomagent.control.paho_client import no_delay
from roomagent.serving import free_port

#: Upper bound of every wait in these tests; reached only when something is broken.
GUARD_S = 15.0
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Mosquitto:
    """A private mosquitto on 127.0.0.1:``port``; ``persistence`` keeps sessions across restarts."""

    def __init__(self, workdir: Path, port: int | None = None, *, persistence: bool = False,
                 extra: str = "", anonymous: bool = True) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.persistence = persistence
        self.extra = extra
        self.anonymous = anonymous
        self.proc: subprocess.Popen | None = None
        self.log: list[str] = []

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def config(self) -> str:
        lines = [f"listener {self.port} 127.0.0.1", f"allow_anonymous {'true' if self.anonymous else 'false'}",
                 "log_dest stderr", "log_type error", "log_type warning", "log_type notice",
                 "log_type information",
                 "set_tcp_nodelay true"]  # as in kiosk/mosquitto/mosquitto.conf: no Nagle stalls
        if os.geteuid() == 0:  # mosquitto started as root drops to user "mosquitto", who cannot use tmp dirs
            lines.append("user root")
        if self.persistence:
            store = self.workdir / "mosquitto-db"
            store.mkdir(exist_ok=True)
            lines += ["persistence true", f"persistence_location {store}/", "autosave_interval 0"]
        else:
            lines.append("persistence false")
        return "\n".join(lines) + "\n" + self.extra + "\n"

    def start(self) -> Mosquitto:
        if not Path(MOSQUITTO).exists():
            import pytest

            pytest.skip("mosquitto is not installed")
        conf = self.workdir / f"mosquitto-{self.port}.conf"
        conf.write_text(self.config())
        return self.start_with(conf)

    def start_with(self, conf: Path) -> Mosquitto:
        """Start with a ready-made config file (which must listen on ``self.port`` and log to stderr)."""
        lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)

        def pump(stream=self.proc.stdout) -> None:
            for line in stream:
                self.log.append(line.rstrip())
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True, name="mosquitto-log").start()
        while True:  # "... running" is logged once every listener is open
            try:
                line = lines.get(timeout=GUARD_S)
            except queue.Empty:
                raise RuntimeError("mosquitto did not start:\n" + "\n".join(self.log)) from None
            if line is None:
                raise RuntimeError("mosquitto exited:\n" + "\n".join(self.log))
            if " running" in line:
                return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the broker (SIGTERM writes the persistence file) and wait for it to exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(GUARD_S)
        self.proc = None


@dataclass
class Received:
    """One message a probe received."""

    topic: str
    payload: bytes
    retain: bool
    properties: Any

    @property
    def correlation(self) -> bytes | None:
        value = getattr(self.properties, "CorrelationData", None) if self.properties is not None else None
        return bytes(value) if value is not None else None


@dataclass
class Probe:
    """A plain paho client for tests: connect, subscribe, publish, and look at what arrived."""

    port: int
    v5: bool = True
    client_id: str = ""
    username: str | None = None
    password: str | None = None
    ca: str | None = None
    #: Called in paho's thread for each message (e.g. a fake responder).
    handler: Callable[[mqtt.Client, mqtt.MQTTMessage], None] | None = None
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        protocol = MQTTProtocolVersion.MQTTv5 if self.v5 else MQTTProtocolVersion.MQTTv311
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=protocol)
        if self.username is not None:
            self.client.username_pw_set(self.username, self.password)
        if self.ca is not None:
            self.client.tls_set(ca_certs=self.ca)
        self.client.on_socket_open = no_delay
        self._cond = threading.Condition()
        self._connack: queue.Queue = queue.Queue()
        self._subacks: dict[int, queue.Queue] = {}
        self.publish_reasons: dict[int, Any] = {}
        self.client.on_connect = lambda c, u, f, reason, p: self._connack.put(reason)
        self.client.on_connect_fail = lambda c, u: self._connack.put("connect failed")
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish

    def connect(self) -> Any:
        """Connect; return the CONNACK reason (check ``.is_failure``)."""
        self.client.connect_async("127.0.0.1", self.port)
        self.client.loop_start()
        return self._connack.get(timeout=GUARD_S)

    def __enter__(self) -> Self:
        reason = self.connect()
        if getattr(reason, "is_failure", True):
            raise RuntimeError(f"probe could not connect: {reason}")
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(self, _client, _userdata, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.received.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain), msg.properties))
            self._cond.notify_all()
        if self.handler is not None:
            self.handler(self.client, msg)

    def _on_subscribe(self, _client, _userdata, mid, reasons, _props) -> None:
        self._subacks.setdefault(mid, queue.Queue()).put(reasons)

    def _on_publish(self, _client, _userdata, mid, reason, _props) -> None:
        with self._cond:
            self.publish_reasons[mid] = reason
            self._cond.notify_all()

    def subscribe(self, *filters: str, qos: int = 1) -> list:
        """Subscribe and wait for the SUBACK; returns its reason codes."""
        _, mid = self.client.subscribe([(f, qos) for f in filters])
        return self._subacks.setdefault(mid, queue.Queue()).get(timeout=GUARD_S)

    def publish(self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False,
                response_topic: str | None = None, correlation: bytes | None = None) -> Any:
        """Publish and wait for the PUBACK (QoS 1); returns the PUBACK reason code."""
        props = None
        if self.v5 and (response_topic or correlation is not None):
            props = Properties(PacketTypes.PUBLISH)
            if response_topic:
                props.ResponseTopic = response_topic
            if correlation is not None:
                props.CorrelationData = correlation
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if qos == 0:
            return None
        info.wait_for_publish(GUARD_S)
        with self._cond:
            self._cond.wait_for(lambda: info.mid in self.publish_reasons, GUARD_S)
            return self.publish_reasons.get(info.mid)

    def find(self, predicate: Callable[[Received], bool]) -> list[Received]:
        with self._cond:
            return [m for m in self.received if predicate(m)]

    def on(self, topic: str) -> list[Received]:
        return self.find(lambda m: m.topic == topic)

    def wait_for(self, predicate: Callable[[Received], bool], count: int = 1) -> list[Received]:
        """Block (no Qt loop) until ``count`` matching messages arrived."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len([m for m in self.received if predicate(m)]) >= count, GUARD_S)
            found = [m for m in self.received if predicate(m)]
        if not ok:
            raise AssertionError(f"only {len(found)} of {count} expected messages arrived; got "
                                 f"{[(m.topic, m.payload[:60]) for m in self.received][-10:]}")
        return found


class TcpProxy:
    """A TCP forwarder in front of a broker, for cutting and holding an agent's connection.

    ``hold = True`` closes new connections at once (the agent keeps failing and retrying); ``cut()``
    closes the open ones. ``v3_only`` answers an MQTT 5 CONNECT the way a 3.1.1-only broker does
    (CONNACK return code 1, "unacceptable protocol version") and forwards everything else.
    """

    def __init__(self, upstream_port: int, *, v3_only: bool = False) -> None:
        self.upstream_port = upstream_port
        self.v3_only = v3_only
        self.hold = False
        self.refused_v5 = 0
        self.forwarded = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            if self.hold:
                conn.close()
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_exact(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _serve(self, conn: socket.socket) -> None:
        head = b""
        try:
            if self.v3_only:
                head = self._read_exact(conn, 2)  # packet type + first length byte
                while head[-1] & 0x80:
                    head += self._read_exact(conn, 1)
                name_len = self._read_exact(conn, 2)
                name = self._read_exact(conn, int.from_bytes(name_len, "big"))
                level = self._read_exact(conn, 1)
                head += name_len + name + level
                if level[0] == 5:
                    self.refused_v5 += 1
                    conn.sendall(b"\x20\x02\x00\x01")
                    conn.close()
                    return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            conn.close()
            return
        self.forwarded += 1
        upstream.sendall(head)
        with self._lock:
            self._open += [conn, upstream]
        for src, dst in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        """Close every open connection (both sides)."""
        with self._lock:
            socks, self._open = self._open, []
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def take_over(self) -> None:
        """Do what an MQTT 5 broker does to a client whose id another connection took (mosquitto 2.0.15
        and later, EMQX, HiveMQ; Debian 12's mosquitto 2.0.11 only closes the socket): send DISCONNECT
        with reason 0x8E "Session taken over", then close."""
        with self._lock:
            clients = self._open[0::2]  # [client, upstream] pairs
        for sock in clients:
            try:
                sock.sendall(b"\xe0\x02\x8e\x00")  # DISCONNECT, length 2, reason 0x8E, no properties
            except OSError:
                pass
        self.cut()

    def close(self) -> None:
        self._server.close()
        self.cut()


REPO = Path(__file__).resolve().parents[2]


def start_child_agent(url: str, room: str) -> tuple[subprocess.Popen, queue.Queue]:
    """Run tests/control/agent_child.py (a real MqttControl in its own process); its stdout lines arrive
    in the queue (``connected``, ``disconnected``, ``stopped``)."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.control.agent_child", url, room], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.strip()) for line in proc.stdout], daemon=True).start()
    return proc, lines


def kill_process(proc: subprocess.Popen) -> None:
    """SIGKILL a child we started (and wait for it)."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(GUARD_S)

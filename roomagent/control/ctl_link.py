"""The short-lived MQTT 5 connection of ``roomagent ctl``: connect, subscribe, one request, then close.

Every wait is bounded by the caller's timeout; paho's thread does the network work, so even a hanging
DNS lookup ends in a message, not a stuck command line.
"""

from __future__ import annotations

import argparse
import queue
import secrets
import sys
import threading
import time
from typing import Self

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from roomagent.control.paho_client import FOLLOWER_RECEIVE_MAXIMUM, Credentials, new_client
from roomagent.control.policy import BrokerAddress, classify_connect_error

#: Closing waits at most this long for paho's thread (it may sit in a back-off sleep of up to 1 s).
CLOSE_TIMEOUT_S = 2.0


class Link:
    """One MQTT 5 client for one ctl invocation. Messages arrive in :attr:`messages` as (topic, payload);
    retained ones are also kept in :attr:`retained`."""

    def __init__(self, args: argparse.Namespace, address: BrokerAddress) -> None:
        self.address = address
        self.args = args
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.retained: dict[str, bytes] = {}
        self._connected = threading.Event()
        self._problem: str | None = None
        self._acks: dict[int, queue.Queue] = {}
        self._replies: queue.Queue[tuple[str, bytes | None, bytes]] = queue.Queue()
        self.client: mqtt.Client | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self, timeout: float) -> str | None:
        """Connect; None when connected, else what went wrong, in words."""
        args = self.args
        try:
            credentials = Credentials(username=args.username or "", password_file=args.password_file or "",
                                      ca_file=args.ca_file or "", cert_file=args.cert or "", key_file=args.key or "")
            client = new_client(f"roomagent-ctl-{secrets.token_hex(4)}", credentials, tls=self.address.tls)
        except (OSError, ValueError) as exc:
            return f"cannot set up the connection: {exc}"
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        client.on_subscribe = self._on_ack
        client.on_publish = lambda _c, _u, mid, reason, _p: self._ack(mid).put([reason])
        # `ctl status --all` follows every room: without its own window the shipped per-client limits drop
        # all but ~120 retained messages (see FOLLOWER_RECEIVE_MAXIMUM).
        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = FOLLOWER_RECEIVE_MAXIMUM
        client.connect_async(self.address.host, self.address.port, keepalive=30, properties=props)
        self.client = client
        client.loop_start()
        broker = f"{self.address.host}:{self.address.port}"
        if not self._connected.wait(timeout):
            return f"{broker}: no answer from the broker within {timeout:g} s"
        if self._problem:
            return f"{broker}: {self._problem}"
        return None

    def subscribe(self, filters: list[str], timeout: float) -> str | None:
        """Subscribe (QoS 1) and wait for the SUBACK; None on success."""
        _, mid = self.client.subscribe([(f, 1) for f in filters])
        return self._wait_ack(mid, timeout, "subscription")

    def request(self, topic: str, payload: bytes, reply_topic: str, correlation: bytes, *, expiry_s: int,
                timeout: float) -> str | None:
        """Publish a QoS 1 request and wait for the PUBACK; None on success."""
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = reply_topic
        props.CorrelationData = correlation
        props.MessageExpiryInterval = expiry_s
        info = self.client.publish(topic, payload, qos=1, properties=props)
        return self._wait_ack(info.mid, timeout, "command")

    def wait_reply(self, reply_topic: str, correlation: bytes, timeout: float) -> bytes | None:
        """The payload of the reply carrying ``correlation``, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                topic, seen, payload = self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if topic == reply_topic and seen == correlation:
                return payload

    def close(self) -> None:
        """Disconnect and end paho's thread (bounded)."""
        if self.client is None:
            return
        self.client.disconnect()
        stopper = threading.Thread(target=self.client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(CLOSE_TIMEOUT_S)
        self.client = None

    # ----- paho callbacks (network thread) ----------------------------------------------------------------
    def _on_connect(self, _client, _userdata, _flags, reason, _props) -> None:
        if reason.is_failure:
            self._problem = f"the broker refused the connection ({reason})"
        self._connected.set()

    def _on_connect_fail(self, _client, _userdata) -> None:
        # Called inside paho's ``except OSError``: the exception is the one being handled.
        self._problem = classify_connect_error(sys.exc_info()[1])[1]
        self._connected.set()

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        payload = bytes(message.payload)
        if message.retain:
            self.retained[message.topic] = payload
        correlation = getattr(message.properties, "CorrelationData", None) if message.properties else None
        self._replies.put((message.topic, bytes(correlation) if correlation is not None else None, payload))
        self.messages.put((message.topic, payload))

    def _ack(self, mid: int) -> queue.Queue:
        return self._acks.setdefault(mid, queue.Queue())

    def _on_ack(self, _client, _userdata, mid, reasons, _props) -> None:
        self._ack(mid).put(reasons)

    def _wait_ack(self, mid: int, timeout: float, what: str) -> str | None:
        try:
            reasons = self._ack(mid).get(timeout=timeout)
        except queue.Empty:
            return f"the broker did not acknowledge the {what} within {timeout:g} s"
        refused = [str(r) for r in reasons if getattr(r, "is_failure", False)]
        return f"the broker refused the {what} ({', '.join(refused)})" if refused else None

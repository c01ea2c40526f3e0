"""The dashboard's one MQTT connection: every room's ``availability``, ``state`` and ``event`` in, commands
out as MQTT 5 requests (ResponseTopic + CorrelationData, as ``roomagent ctl`` sends them).

The paho client comes from the one builder (:func:`roomagent.control.paho_client.new_client`:
credentials, TLS with verification, TCP_NODELAY), without the room's last will — the dashboard is not a
room. paho's own thread does the network work and reconnects; on every (re)connect the subscriptions are
made again with a clean session, so the broker re-sends every retained message and the view is rebuilt
from the truth. Messages reach the web app through the callbacks given to the constructor, called in
paho's thread: the app hands them to its event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from roomagent.control.client import credentials_of, dumps, retire
from roomagent.control.paho_client import FOLLOWER_RECEIVE_MAXIMUM, new_client
from roomagent.control.policy import BrokerAddress, Topics, classify_connack, classify_connect_error
from roomagent.core.commands import ErrorCode
from roomagent.profile import MqttSection

log = logging.getLogger("roomagent.fleet.mqtt")


#: paho's reconnect back-off: first retry after 1 s (a broker restart), at most every 30 s after that.
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30

MessageCallback = Callable[[str, str, bytes, bool], None]  # room, leaf, payload, retained
ConnectionCallback = Callable[[bool, str], None]  # connected, why not


class FleetLink:
    """Subscribe to the whole fleet and send commands. ``start()`` returns at once; ``stop()`` disconnects."""

    def __init__(self, settings: MqttSection, on_message: MessageCallback, on_connection: ConnectionCallback) -> None:
        self.settings = settings
        self.root = settings.topic_root
        self.on_message = on_message
        self.on_connection = on_connection
        self.reply_topic = f"{self.root}/_ctl/fleet-{secrets.token_hex(8)}/reply"
        self._client: mqtt.Client | None = None
        self._pending: dict[bytes, tuple[asyncio.AbstractEventLoop, asyncio.Future]] = {}
        self._lock = threading.Lock()
        self._subscription: int | None = None
        #: The broker refused the reply subscription (a read-only account): commands are not sent.
        self.read_only = False
        # Commands by PUBLISH packet id, and the ones the broker refused. Plain dict operations (atomic in
        # CPython): paho calls on_publish holding its own lock, so taking ours there could deadlock.
        self._by_mid: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future]] = {}
        self._refused: dict[int, Refused] = {}

    @property
    def filters(self) -> list[str]:
        """What the dashboard subscribes to."""
        return [f"{self.root}/+/availability", f"{self.root}/+/state", f"{self.root}/+/event", self.reply_topic]

    def start(self) -> None:
        """Build the client and let paho's thread connect (and reconnect) in the background."""
        address = BrokerAddress.parse(self.settings.url)
        client = new_client(f"roomagent-fleet-{secrets.token_hex(4)}", credentials_of(self.settings),
                            tls=address.tls)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = FOLLOWER_RECEIVE_MAXIMUM
        client.connect_async(address.host, address.port, self.settings.keepalive_s, clean_start=True,
                             properties=props)
        self._client = client
        client.loop_start()

    def stop(self) -> None:
        """Disconnect and end paho's thread; requests still waiting get no reply."""
        if self._client is not None:
            retire(self._client).join(3)
            self._client = None
        with self._lock:
            pending, self._pending = self._pending, {}
        for loop, future in pending.values():
            loop.call_soon_threadsafe(_settle, future, None)

    async def request(self, room: str, command: dict, timeout: float) -> tuple[dict | None, str]:
        """Send ``command`` to ``room`` and wait for its reply: (reply, "") or (None, why there is none)."""
        client = self._client
        if client is None or not client.is_connected():
            return None, "the dashboard is not connected to the broker"
        if self.read_only:
            return None, "the dashboard's broker account may not read replies (a read-only account): actions are off"
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        correlation = secrets.token_bytes(16)
        with self._lock:
            self._pending[correlation] = (loop, future)
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = self.reply_topic
        props.CorrelationData = correlation
        # A command nobody waits for any more must not run later, when the room comes back.
        props.MessageExpiryInterval = max(1, int(timeout + 0.999))
        mid = None
        try:
            info = client.publish(Topics(self.root, room).command, dumps(command), qos=1, properties=props)
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return None, f"the command was not sent: {mqtt.error_string(info.rc)}"
            # The broker may refuse the PUBLISH itself (MQTT 5 PUBACK >= 0x80, e.g. an account without
            # write access): either side may come second, so both look (see _on_publish).
            mid = info.mid
            self._by_mid[mid] = (loop, future)
            if mid in self._refused:
                _settle(future, self._refused[mid])
            result = await asyncio.wait_for(future, timeout)
            if isinstance(result, Refused):
                return None, result.why
            return result, ""
        except TimeoutError:
            return None, f"no reply within {timeout:g} s"
        finally:
            with self._lock:
                self._pending.pop(correlation, None)
            if mid is not None:
                self._by_mid.pop(mid, None)
                self._refused.pop(mid, None)

    # ----- paho's thread ----------------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _userdata, _flags, reason, _props) -> None:
        if reason.is_failure:
            _, why = classify_connack(reason.value, mqtt5=True)
            log.error("MQTT: %s", why)
            self.on_connection(False, why)
            return
        _, self._subscription = client.subscribe([(f, 1) for f in self.filters])

    def _on_connect_fail(self, _client, _userdata) -> None:
        # Called inside paho's ``except OSError``: the exception is the one being handled.
        _, why = classify_connect_error(sys.exc_info()[1])
        log.warning("MQTT: %s", why)
        self.on_connection(False, why)

    def _on_subscribe(self, _client, _userdata, mid, reasons, _props) -> None:
        if mid != self._subscription:
            return
        refused = [f for f, r in zip(self.filters, reasons, strict=False) if r.is_failure]
        if set(refused) - {self.reply_topic}:
            why = f"the broker refused the subscription to {', '.join(refused)} (check the ACL)"
            log.error("MQTT: %s", why)
            self.on_connection(False, why)
            return
        # A monitoring account (mon_* in kiosk/mosquitto/roomagent.acl) reads the fleet but may not read
        # replies: the view works, actions are refused here with a reason instead of timing out.
        self.read_only = bool(refused)
        if self.read_only:
            log.warning("MQTT: this account may not read replies (%s): actions are off", self.reply_topic)
        log.info("MQTT: connected, following %s/+", self.root)
        self.on_connection(True, "")

    def _on_disconnect(self, _client, _userdata, _flags, reason, _props) -> None:
        self.on_connection(False, f"connection to the broker lost ({reason})")

    def _on_publish(self, _client, _userdata, mid, reason, _props) -> None:
        if not getattr(reason, "is_failure", False):
            return
        self._refused[mid] = refusal = Refused(f"the broker refused the command ({reason}): check the ACL of the "
                                               "dashboard's broker account")
        waiting = self._by_mid.get(mid)
        if waiting is not None:
            loop, future = waiting
            loop.call_soon_threadsafe(_settle, future, refusal)

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        topic = message.topic
        if topic == self.reply_topic:
            correlation = getattr(message.properties, "CorrelationData", None) if message.properties else None
            with self._lock:
                waiting = self._pending.get(bytes(correlation)) if correlation is not None else None
            if waiting is not None:
                loop, future = waiting
                loop.call_soon_threadsafe(_settle, future, _reply(message.payload))
            return
        room, _, leaf = topic[len(self.root) + 1:].partition("/")
        self.on_message(room, leaf, bytes(message.payload), bool(message.retain))


@dataclass(frozen=True)
class Refused:
    """The broker refused to take a command; ``why`` in words."""

    why: str


def _reply(payload: bytes) -> dict:
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return {"status": "error", "error": {"code": ErrorCode.INVALID.value, "message": "the room's reply is not JSON"}}
    if not isinstance(body, dict):
        return {"status": "error", "error": {"code": "invalid", "message": "the room's reply is not a JSON object"}}
    return body


def _settle(future: asyncio.Future, value) -> None:
    if not future.done():
        future.set_result(value)

"""The MQTT side of the meeting-scoped relay: publish a room command, wait for the room's reply.

One paho client per directory process, started in the app's lifespan: ``connect_async`` and paho's own
network thread (``loop_start``), so a broker that is down never delays start-up. paho reconnects by
itself, after the delay this module chooses before each attempt: the room agent's policy
(:class:`~roomagent.control.policy.Backoff`, 1 s doubling to a 60 s cap, each delay drawn from its upper
half), not paho's own jitter-free doubling, so a flapping broker sees the relay back as soon as a room.

Replies are bound to their room. Each process has a random *instance id*; a command for room R asks for
its reply on ``<topic_root>/_relay/R/<instance-id>/reply`` (``_relay`` can never be a room id), and the
process subscribes to ``<topic_root>/_relay/+/<instance-id>/reply``. The shipped broker ACL lets only the
user R write under ``_relay/R/`` (``pattern write roomagent/_relay/%u/+/reply``), and this module accepts
a reply only on the topic of the room the command went to, carrying the correlation data generated for
that command (16 random bytes per command, never reused): another room that learnt the correlation data
can neither write R's reply topic nor have a reply on its own topic taken for R's. When several directory
instances share a broker, each reply reaches the instance that asked.

A request is an MQTT 5 PUBLISH (QoS 1, not retained) to ``<topic_root>/<room-id>/command`` carrying
ResponseTopic, the CorrelationData and a MessageExpiryInterval of the relay timeout (a room that
is offline must not execute, hours later, a command whose caller was told 504). The room answers to
the response topic with the same correlation data (DESIGN.md §3.2). Futures waiting for replies live in
the asyncio loop; paho's thread resolves them with ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import threading
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from roomagent.control.paho_client import Credentials, new_client
from roomagent.control.policy import Backoff
from roomagent.directory.server.settings import MqttSettings

log = logging.getLogger("roomagent.directory.relay")

#: TCP/TLS connect timeout of one attempt; only paho's thread ever waits on it.
CONNECT_TIMEOUT_S = 5.0
#: Unacknowledged QoS 1 commands in flight at once before paho queues further ones.
MAX_INFLIGHT = 100


class RelayUnavailable(Exception):
    """Not connected to the broker (or not yet subscribed to the reply topic): nothing was sent."""


class RelayLost(Exception):
    """The connection dropped after the command was sent: whether the room acted is unknown."""


class MqttRelay:
    """Request/response over MQTT 5 for the directory; see the module docstring."""

    def __init__(self, settings: MqttSettings, *, instance_id: str | None = None) -> None:
        if settings.url is None:
            raise ValueError("MqttRelay needs [mqtt] url")
        self.settings = settings
        self.instance_id = instance_id or secrets.token_hex(6)
        #: What this process subscribes to: the reply topics of every room, for this instance only.
        self.reply_filter = f"{settings.topic_root}/_relay/+/{self.instance_id}/reply"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        #: correlation data -> (the reply topic of the command's room, the future waiting for the reply)
        self._pending: dict[bytes, tuple[str, asyncio.Future[bytes]]] = {}
        #: Replies refused because they came on another room's topic (tests and logs read it).
        self.forged_replies = 0
        self._subscribe_mid: int | None = None
        #: Set while connected and subscribed to the reply topic (tests wait on it).
        self.ready_event = threading.Event()
        #: Delays between connection attempts; used only in paho's thread (tests shorten it).
        self.backoff = Backoff()
        self._client: mqtt.Client | None = None

    @property
    def ready(self) -> bool:
        """Connected and subscribed to the reply topic: a request can be made."""
        return self.ready_event.is_set()

    def command_topic(self, room_id: str) -> str:
        """Where a room listens for commands."""
        return f"{self.settings.topic_root}/{room_id}/command"

    def reply_topic(self, room_id: str) -> str:
        """Where ``room_id`` answers this process's commands; only that room's MQTT user may write it."""
        return f"{self.settings.topic_root}/_relay/{room_id}/{self.instance_id}/reply"

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Configure the client and start paho's thread; returns at once (the connection follows)."""
        self._loop = loop
        parts = urlsplit(self.settings.url or "")
        tls = parts.scheme == "mqtts"
        # Certificates are always verified (against ca_file or the system's CAs), host name included.
        credentials = Credentials(username=self.settings.username, password_file=self.settings.password_file,
                                  ca_file=self.settings.ca_file)
        client = new_client(f"roomagent-directory-{self.instance_id}", credentials, tls=tls)
        client.enable_logger(logging.getLogger("roomagent.directory.relay.paho"))
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        port = parts.port or (8883 if tls else 1883)
        client.connect_async(parts.hostname or "", port, keepalive=self.settings.keepalive_s, clean_start=True)
        client.loop_start()
        self._client = client
        log.info("relay connecting to %s://%s:%d as instance %s", parts.scheme, parts.hostname, port, self.instance_id)

    async def stop(self) -> None:
        """Disconnect, stop paho's thread and fail whatever still waits."""
        client, self._client = self._client, None
        self.ready_event.clear()
        if client is not None:
            client.disconnect()
            # loop_stop joins paho's thread, which may sit in a back-off sleep for up to a second.
            await asyncio.to_thread(client.loop_stop)
        self._fail_pending(RelayLost("the directory is shutting down"))

    async def request(self, room_id: str, payload: bytes, timeout_s: float) -> bytes:
        """Publish ``payload`` as a command for ``room_id`` and return the raw reply.

        Raises :class:`RelayUnavailable` (nothing sent), :class:`RelayLost` (connection dropped while
        waiting) or :class:`TimeoutError` (no reply within ``timeout_s``).
        """
        client = self._client
        if client is None or self._loop is None or not self.ready:
            raise RelayUnavailable("not connected to the MQTT broker")
        # Unguessable and used once; it is bound to the room by the reply topic it is stored with.
        correlation = secrets.token_bytes(16)
        reply_topic = self.reply_topic(room_id)
        future: asyncio.Future[bytes] = self._loop.create_future()
        with self._lock:
            self._pending[correlation] = (reply_topic, future)
        try:
            properties = Properties(PacketTypes.PUBLISH)
            properties.ResponseTopic = reply_topic
            properties.CorrelationData = correlation
            properties.MessageExpiryInterval = max(1, math.ceil(timeout_s))
            info = client.publish(self.command_topic(room_id), payload, qos=1, retain=False, properties=properties)
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise RelayUnavailable(f"publish failed: {mqtt.error_string(info.rc)}")
            return await asyncio.wait_for(future, timeout_s)
        finally:
            with self._lock:
                self._pending.pop(correlation, None)

    # --- paho's thread -------------------------------------------------------------------------------

    def _next_delay(self, client: mqtt.Client) -> None:
        # paho waits min_delay before its next attempt, doubling only if min < max: equal bounds make it
        # wait exactly the delay our policy chose (the agent does the same, control/mqtt.py).
        delay = self.backoff.next_delay()
        client.reconnect_delay_set(delay, delay)  # type: ignore[arg-type]  # paho accepts float seconds

    def _on_connect(self, client: mqtt.Client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            # Bad credentials or not authorised: reported; paho's on_disconnect follows and picks the delay.
            log.error("relay: broker refused the connection: %s", reason_code)
            return
        self.backoff.reset()
        result, mid = client.subscribe(self.reply_filter, qos=1)
        if result == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._subscribe_mid = mid

    def _on_connect_fail(self, client: mqtt.Client, _userdata) -> None:
        self._next_delay(client)
        log.warning("relay: cannot reach the MQTT broker; retrying")

    def _on_subscribe(self, _client: mqtt.Client, _userdata, mid, reason_codes, _properties) -> None:
        if mid != self._subscribe_mid:
            return
        if reason_codes and not reason_codes[0].is_failure:
            self.ready_event.set()
            log.info("relay connected; replies on %s", self.reply_filter)
        else:
            log.error("relay: broker refused the subscription to %s: %s", self.reply_filter, reason_codes)

    def _on_disconnect(self, client: mqtt.Client, _userdata, _flags, reason_code, _properties) -> None:
        self._next_delay(client)
        was_ready = self.ready
        self.ready_event.clear()
        if was_ready:
            log.warning("relay: disconnected from the MQTT broker (%s); reconnecting", reason_code)
        # Replies published while we are away are lost (clean session): do not keep callers waiting.
        self._fail_pending(RelayLost("the connection to the MQTT broker was lost"))

    def _on_message(self, _client: mqtt.Client, _userdata, message: mqtt.MQTTMessage) -> None:
        correlation = getattr(message.properties, "CorrelationData", None) if message.properties else None
        if not isinstance(correlation, bytes):
            log.debug("relay: reply without correlation data ignored")
            return
        with self._lock:
            expected = self._pending.get(bytes(correlation))
            if expected is not None and expected[0] == message.topic:
                del self._pending[bytes(correlation)]
            elif expected is not None:
                self.forged_replies += 1
        if expected is None:
            log.debug("relay: late or unknown reply ignored")
            return
        topic, future = expected
        if topic != message.topic:
            # The correlation data of a command for one room, on another room's reply topic: whoever sent it
            # is not the room the command went to. Dropped; the real room's reply is still awaited.
            log.warning("relay: dropped a reply on %s carrying the correlation data of a command sent to %s",
                        message.topic[:200], topic)
            return
        self._call_in_loop(_resolve, future, bytes(message.payload))

    def _fail_pending(self, error: Exception) -> None:
        with self._lock:
            futures = [future for _topic, future in self._pending.values()]
            self._pending.clear()
        for future in futures:
            self._call_in_loop(_reject, future, error)

    def _call_in_loop(self, function, *args) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(function, *args)
        except RuntimeError:
            pass  # the loop is closed: nobody waits any more


def _resolve(future: asyncio.Future[bytes], payload: bytes) -> None:
    if not future.done():
        future.set_result(payload)


def _reject(future: asyncio.Future[bytes], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)

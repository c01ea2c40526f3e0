"""Building, connecting and retiring the paho client of the MQTT edge, and the wire format of replies.

Kept apart from :mod:`roomagent.control.mqtt` (the Qt side) so that the paho details — MQTT 5 vs 3.1.1
construction, TLS, will, persistent session — are in one place.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from roomagent.control.policy import BrokerAddress, Topics
from roomagent.core.commands import CommandReply
from roomagent.profile import MqttSection

log = logging.getLogger("roomagent.control")

ONLINE = b"online"
OFFLINE = b"offline"


@dataclass(frozen=True, slots=True)
class ReplyRoute:
    """Where the reply to one command goes: the request's ResponseTopic (MQTT 5) or the room's
    ``response`` topic, with the request's CorrelationData when it carried one."""

    topic: str
    correlation_data: bytes | None = None


def dumps(value: Any) -> bytes:
    """Compact JSON in ASCII: nothing a payload carried (lone surrogates included) breaks the encoding."""
    return json.dumps(value, separators=(",", ":"), default=str).encode("ascii")


def is_v5(client: mqtt.Client) -> bool:
    """Whether the client speaks MQTT 5."""
    return client.protocol == MQTTProtocolVersion.MQTTv5


def read_password(settings: MqttSection) -> str | None:
    """The password from ``password_file`` without its trailing newline; None without a file."""
    if not settings.password_file:
        return None
    return Path(settings.password_file).read_text(encoding="utf-8").rstrip("\r\n")


def no_delay(_client: mqtt.Client, _userdata, sock) -> None:
    """``on_socket_open``: send small packets at once. paho leaves Nagle's algorithm on, so a reply
    written right after the PUBACK of its command waits for the broker's ACK of that PUBACK."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):  # not a TCP socket
        pass


def build_client(settings: MqttSection, address: BrokerAddress, client_id: str, topics: Topics, *,
                 mqtt5: bool) -> mqtt.Client:
    """A paho client with credentials, TLS (verification on) and the ``offline`` will; no callbacks."""
    if mqtt5:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
    else:  # persistent session in 3.1.1 terms
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                             protocol=MQTTProtocolVersion.MQTTv311)
    # An exception in a callback must not end paho's thread (the edge's callbacks are guarded too).
    client.suppress_exceptions = True
    if settings.username:
        client.username_pw_set(settings.username, read_password(settings))
    if address.tls:  # CERT_REQUIRED and host name check, never relaxed
        client.tls_set(ca_certs=settings.ca_file or None, certfile=settings.client_cert or None,
                       keyfile=settings.client_key or None)
    client.will_set(topics.availability, OFFLINE, qos=1, retain=True)
    client.on_socket_open = no_delay
    return client


def connect_async(client: mqtt.Client, settings: MqttSection, address: BrokerAddress, version: str) -> None:
    """Prepare the persistent-session connect (paho's thread performs it): MQTT 5 ``clean_start`` False
    with ``SessionExpiryInterval``; MQTT 3.1.1 ``clean_session`` False (set at construction)."""
    if is_v5(client):
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = settings.session_expiry_s
        props.UserProperty = ("roomagent-version", version)
        client.connect_async(address.host, address.port, settings.keepalive_s, clean_start=False,
                             properties=props)
    else:
        client.connect_async(address.host, address.port, settings.keepalive_s)


def retire(client: mqtt.Client) -> threading.Thread:
    """Disconnect, and end the client's thread from a helper thread (``loop_stop`` joins without a limit)."""
    try:
        client.disconnect()
    except Exception:
        log.debug("MQTT: disconnect failed", exc_info=True)
    thread = threading.Thread(target=client.loop_stop, name="mqtt-retire", daemon=True)
    thread.start()
    return thread


def send_reply(client: mqtt.Client, route: ReplyRoute, reply: CommandReply) -> None:
    """Publish ``reply`` on ``route`` (QoS 1, not retained); never raises."""
    try:
        props = None
        if route.correlation_data is not None and is_v5(client):
            props = Properties(PacketTypes.PUBLISH)
            props.CorrelationData = route.correlation_data
        info = client.publish(route.topic, dumps(reply.payload()), qos=1, retain=False, properties=props)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            log.warning("MQTT: reply to %r not queued: %s", reply.id, mqtt.error_string(info.rc))
    except Exception:
        log.exception("MQTT: reply to %r could not be sent", reply.id)

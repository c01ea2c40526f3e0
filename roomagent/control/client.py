"""Building, connecting and retiring the paho client of the MQTT edge, and the wire format of replies.

Kept apart from :mod:`roomagent.control.mqtt` (the Qt side) so that the paho details — MQTT 5 vs 3.1.1
construction, TLS, will, persistent session — are in one place.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from roomagent.control.paho_client import Credentials, new_client, read_password
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


def credentials_of(settings: MqttSection) -> Credentials:
    """The profile's ``[mqtt]`` credentials and TLS files, for :func:`new_client`."""
    return Credentials(username=settings.username, password_file=settings.password_file, ca_file=settings.ca_file,
                       cert_file=settings.client_cert, key_file=settings.client_key)


def room_password(settings: MqttSection) -> str | None:
    """The password from the profile's ``password_file`` without its trailing newline; None without a file."""
    return read_password(settings.password_file)


def build_client(settings: MqttSection, address: BrokerAddress, client_id: str, topics: Topics, *,
                 mqtt5: bool) -> mqtt.Client:
    """The room's paho client: :func:`new_client` with a persistent session and the ``offline`` will."""
    client = new_client(client_id, credentials_of(settings), tls=address.tls, mqtt5=mqtt5, persistent=True)
    # An exception in a callback must not end paho's thread (the edge's callbacks are guarded too).
    client.suppress_exceptions = True
    client.will_set(topics.availability, OFFLINE, qos=1, retain=True)
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

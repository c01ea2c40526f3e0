"""The one place a paho client is built: MQTT 5 (or 3.1.1), callback API 2, credentials, verified TLS, and
small packets sent at once. The room's edge, ``roomagent ctl``, ``roomagent doctor``, the directory's relay
and the fleet dashboard all start from :func:`new_client` and only add their callbacks and connect.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

#: MQTT 5 Receive Maximum a program that follows every room announces (the fleet dashboard,
#: ``ctl status --all``): how many QoS 1 messages the broker may have in flight to it at once. A subscription to ``+/availability`` and ``+/state`` brings two retained messages per room
#: at once; with the broker's default window (``max_inflight_messages``, 20 in the shipped config) the rest
#: must fit ``max_queued_messages`` (100) and everything beyond is dropped — the dashboard knew 123 of 303
#: rooms. mosquitto 2.x takes a v5 client's own Receive Maximum instead of ``max_inflight_messages``
#: (src/property_broker.c), so such a program asks for the protocol's largest window: 2 x MAX_ROOMS
#: retained messages fit, whatever the broker's per-client queue. paho acknowledges each message as soon as
#: ``on_message`` returned (it only hands the message to the event loop), so the window stays short.
FOLLOWER_RECEIVE_MAXIMUM = 65535

@dataclass(frozen=True, slots=True)
class Credentials:
    """Who the client is at the broker: a user name and a password file, and the TLS files (empty: none;
    an empty ``ca_file`` means the system's certificate authorities)."""

    username: str = ""
    password_file: str = ""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


def read_password(password_file: str) -> str | None:
    """The password in ``password_file`` without its trailing newline; None without a file."""
    if not password_file:
        return None
    return Path(password_file).read_text(encoding="utf-8").rstrip("\r\n")


def no_delay(_client: mqtt.Client, _userdata, sock) -> None:
    """``on_socket_open``: send small packets at once. paho leaves Nagle's algorithm on, so a reply
    written right after the PUBACK of its command waits for the broker's ACK of that PUBACK."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):  # not a TCP socket
        pass


def new_client(client_id: str, credentials: Credentials = Credentials(), *, tls: bool = False, mqtt5: bool = True,
               persistent: bool = False) -> mqtt.Client:
    """A paho client with no callbacks and no will, not connected.

    ``persistent`` only matters for MQTT 3.1.1 (``clean_session`` False); MQTT 5 chooses ``clean_start`` at
    connect time. TLS always verifies the certificate and the host name. Raises OSError when the password
    file cannot be read and ValueError (or ssl.SSLError, an OSError) when the TLS files are unusable.
    """
    if mqtt5:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
    else:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent,
                             protocol=MQTTProtocolVersion.MQTTv311)
    password = read_password(credentials.password_file)
    if credentials.username or password is not None:
        client.username_pw_set(credentials.username or None, password)
    if tls:
        client.tls_set(ca_certs=credentials.ca_file or None, certfile=credentials.cert_file or None,
                       keyfile=credentials.key_file or None)
    client.on_socket_open = no_delay
    return client

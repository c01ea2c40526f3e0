"""A fake room on a real broker: a paho client that receives commands and answers like a room agent.

It subscribes to ``<topic_root>/<room-id>/command`` and answers on the MQTT 5 ResponseTopic with the
CorrelationData (DESIGN.md §3.2). What it answers is chosen per room: ``ok`` echoes the command
(``{"id", "status": "ok", "data": {"echo": <command>}}``), ``error`` refuses it the way an agent in
another meeting does, ``garbage`` answers something that is not a reply, ``silent`` never answers.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

#: Connecting and subscribing to the private broker; a failure guard, not a timing check.
READY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Received:
    """One command as the room saw it."""

    topic: str
    command: dict
    qos: int
    retain: bool
    response_topic: str | None
    correlation: bytes | None
    expiry_s: int | None


def new_room_id() -> str:
    """A room id of its own per test, so tests sharing the session's broker never see each other."""
    return "room-" + secrets.token_hex(4)


class FakeRoom:
    """Use as a context manager; ``received`` is a queue of :class:`Received`."""

    def __init__(
        self,
        broker_url: str,
        room_id: str,
        *,
        answer: str = "ok",
        topic_root: str = "roomagent",
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.room_id = room_id
        self.answer = answer
        self.topic = f"{topic_root}/{room_id}/command"
        self.received: queue.Queue[Received] = queue.Queue()
        self._subscribed = threading.Event()
        parts = urlsplit(broker_url)
        self._address = (parts.hostname, parts.port)
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fake-{room_id}", protocol=MQTTProtocolVersion.MQTTv5
        )
        if credentials is not None:
            self._client.username_pw_set(*credentials)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_args: self._subscribed.set()
        self._client.on_message = self._on_message

    def __enter__(self) -> FakeRoom:
        self._client.connect(*self._address)
        self._client.loop_start()
        if not self._subscribed.wait(READY_TIMEOUT_S):
            raise RuntimeError("fake room did not subscribe")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def next_command(self, timeout_s: float = READY_TIMEOUT_S) -> Received:
        """The next command received (waits, as a failure guard)."""
        return self.received.get(timeout=timeout_s)

    def _on_connect(self, client: mqtt.Client, _userdata, _flags, _reason, _properties) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_message(self, client: mqtt.Client, _userdata, message: mqtt.MQTTMessage) -> None:
        props = message.properties
        response_topic = getattr(props, "ResponseTopic", None)
        correlation = getattr(props, "CorrelationData", None)
        command = json.loads(message.payload)
        self.received.put(
            Received(
                topic=message.topic,
                command=command,
                qos=message.qos,
                retain=message.retain,
                response_topic=response_topic,
                correlation=correlation,
                expiry_s=getattr(props, "MessageExpiryInterval", None),
            )
        )
        if self.answer == "silent" or response_topic is None:
            return
        if self.answer == "ok":
            reply: object = {"id": command.get("id", ""), "status": "ok", "data": {"echo": command}}
        elif self.answer == "error":
            error = {"code": "wrong_meeting", "message": "the room is in another meeting"}
            reply = {"id": command.get("id", ""), "status": "error", "error": error}
        else:
            reply = ["not", "a", "reply"]
        answer = Properties(PacketTypes.PUBLISH)
        if correlation is not None:
            answer.CorrelationData = correlation
        client.publish(response_topic, json.dumps(reply), qos=1, properties=answer)

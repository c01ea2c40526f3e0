"""A stand-in for the room agent in the invite tests (the end-to-end test runs the real one): it redeems
a code at the directory with its ``Room-Id`` and answers commands on a real broker from a small state,
refusing, as the agent does, commands for a meeting it is not in."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.directory.fakeroom import FakeRoom, new_room_id


class InvitedRoom(FakeRoom):
    """Use as a context manager; :meth:`redeem` joins "the meeting" of a code."""

    def __init__(self, broker_url: str, *, answer: str = "ok") -> None:
        """``answer="silent"``: the room gets its commands and never replies (an agent that hangs)."""
        super().__init__(broker_url, new_room_id(), answer=answer)
        self.state: dict[str, Any] = {"state": "idle", "meeting": None, "layout": "lecture",
                                      "layouts": ["lecture", "discussion"], "muted": None}
        self.join_url = ""

    def redeem(self, directory_url: str, code: str) -> str:
        """Redeem ``code`` as the agent does; the room is then "in" the join URL's meeting."""
        answer = httpx.get(f"{directory_url}/meeting", headers={"Code": code, "Room-Id": self.room_id,
                                                                "Room-Name": "Lecture%20Hall%201"})
        answer.raise_for_status()
        self.join_url = answer.json()["data"]["join_url"]
        meeting = parse_qs(urlsplit(self.join_url).query)["meetingID"][0]
        self.state.update(state="in_meeting", meeting={"id": meeting, "platform": "bbb", "host": "127.0.0.1"},
                          muted=False)
        return self.join_url

    def _reply(self, command: dict[str, Any]) -> dict[str, Any]:
        ident = command.get("id", "")
        current = (self.state["meeting"] or {}).get("id")
        scope = command.get("meeting")
        if scope and current != scope:
            code = "not_in_meeting" if current is None else "wrong_meeting"
            return {"id": ident, "status": "error", "error": {"code": code, "message": "not in that meeting"}}
        action = command.get("action")
        if action == "set_layout":
            self.state["layout"] = command["layout"]
        elif action in ("mute", "unmute"):
            self.state["muted"] = action == "mute"
        elif action == "leave":
            self.state.update(state="idle", meeting=None, muted=None)
        elif action != "get_state":
            return {"id": ident, "status": "error", "error": {"code": "unsupported", "message": "not here"}}
        return {"id": ident, "status": "ok", "data": json.loads(json.dumps(self.state))}

    def _on_message(self, client: mqtt.Client, _userdata, message: mqtt.MQTTMessage) -> None:
        command = json.loads(message.payload)
        self.received.put(command)  # type: ignore[arg-type]
        if self.answer == "silent":
            return
        props = message.properties
        answer = Properties(PacketTypes.PUBLISH)
        answer.CorrelationData = getattr(props, "CorrelationData", b"")
        client.publish(getattr(props, "ResponseTopic", ""), json.dumps(self._reply(command)), qos=1,
                       properties=answer)

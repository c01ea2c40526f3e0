"""Remote control glue: the MQTT edge on one side, the room agent on the other.

Commands from moderators and operators enter the same path as the panel's buttons
(:meth:`RoomAgent.dispatch_command`); every reply the core produces for them goes back to the sender's
reply route; every state change is published (the edge debounces), and lifecycle happenings become
``event`` messages.
"""

from __future__ import annotations

import itertools
import logging

from PySide6.QtCore import QObject

from roomagent.control.dedup import DEDUP_WINDOW_S, Arrival, CommandKey, RecentCommands
from roomagent.core import effects as fx
from roomagent.core.commands import CommandReply, ErrorCode, ReplyError
from roomagent.core.state import Lifecycle, RoomState

log = logging.getLogger(__name__)

_ORIGIN_PREFIX = "mqtt:"


def reply_model(effect: fx.Reply) -> CommandReply:
    """The wire reply for a core Reply effect."""
    if effect.ok:
        return CommandReply(id=effect.command_id, status="ok", data=effect.data)
    return CommandReply(id=effect.command_id, status="error", error=ReplyError(code=effect.code, message=effect.message))


def happenings(before: RoomState | None, after: RoomState) -> list[tuple[str, dict]]:
    """The ``event`` messages a state change is worth: joined, left, error."""
    out: list[tuple[str, dict]] = []
    was = before.lifecycle if before else Lifecycle.IDLE
    if after.lifecycle is Lifecycle.IN_MEETING and was is not Lifecycle.IN_MEETING and after.meeting:
        out.append(("joined", {"meeting": after.snapshot()["meeting"]}))
    if after.lifecycle is Lifecycle.IDLE and was is Lifecycle.LEAVING:
        out.append(("left", {"meeting": before.snapshot()["meeting"] if before else None}))
    if after.error is not None and (before is None or before.error != after.error):
        out.append(("error", {"error": after.snapshot()["error"]}))
    out += _source_happenings(before.sources if before else (), after.sources)
    if before is not None and before.sharing != after.sharing:
        out.append(("sharing", {"source": after.sharing}))
    return out


def _source_happenings(before, after) -> list[tuple[str, dict]]:
    """``source_plugged`` / ``source_unplugged`` / ``source_signal`` for inputs that changed."""
    out: list[tuple[str, dict]] = []
    old = {s.id: s for s in before}
    for source in after:
        was = old.get(source.id)
        data = {"source": source.model_dump(mode="json")}
        if source.present and (was is None or not was.present):
            out.append(("source_plugged", data))
        elif not source.present and was is not None and was.present:
            out.append(("source_unplugged", data))
        elif source.present and was is not None and was.signal != source.signal:
            out.append(("source_signal", data))
    gone = {s.id for s in after}
    out += [("source_unplugged", {"source": s.model_dump(mode="json")}) for s in before
            if s.id not in gone and s.present]
    return out


class RemoteControl(QObject):
    """Connects a :class:`~roomagent.control.mqtt.MqttControl` to a :class:`~roomagent.app.RoomAgent`."""

    def __init__(self, agent, control) -> None:
        super().__init__()
        self._agent = agent
        self._control = control
        self._routes: dict[str, object] = {}
        #: origin -> the de-duplication key of the command it answers
        self._keys: dict[str, CommandKey] = {}
        self._recent = RecentCommands()
        self._tokens = itertools.count(1)
        self._last: RoomState | None = None

    def start(self) -> None:
        """Follow the agent and start the edge (which never blocks, even with the broker down)."""
        self._control.command_received.connect(self._on_command_received)
        self._agent.remote_reply.connect(self._on_remote_reply)
        self._agent.state_changed.connect(self._on_state_changed)
        if hasattr(self._control, "warning_changed"):
            self._control.warning_changed.connect(lambda _text: self._on_state_changed(self._agent.state))
        self._control.start()
        self._on_state_changed(self._agent.state)

    def stop(self) -> None:
        """Publish ``offline`` and disconnect."""
        self._control.stop()

    def _on_command_received(self, command, route) -> None:
        key = RecentCommands.key(command)
        if key is not None:
            arrival, reply = self._recent.arrived(key, route)
            if arrival is Arrival.DUPLICATE_ID:
                log.warning("remote command %s (%s) refused: its id was used by another command", command.action,
                            command.id)
                self._control.reply(route, CommandReply(id=command.id, status="error", error=ReplyError(
                    code=ErrorCode.DUPLICATE_ID,
                    message=f"the id {command.id!r} was used by another command within the last "
                            f"{DEDUP_WINDOW_S / 60:.0f} minutes; send each command with a new id")))
                return
            if arrival is Arrival.REPEAT:
                log.warning("remote command %s (%s) arrived again: not run twice", command.action, command.id)
                if reply is not None:
                    self._control.reply(route, reply)
                return
        origin = f"{_ORIGIN_PREFIX}{next(self._tokens)}"
        self._routes[origin] = route
        if key is not None:
            self._keys[origin] = key
        log.info("remote command %s (%s)", command.action, command.id or "no id")
        self._agent.dispatch_command(command, origin=origin)

    def _on_remote_reply(self, effect: fx.Reply) -> None:
        route = self._routes.pop(effect.origin, None)
        key = self._keys.pop(effect.origin, None)
        if route is None:
            log.warning("no reply route for %s", effect.origin)
            return
        # Read-your-writes: the core has already decided the new state when it answers; publish it
        # (undebounced) before the reply, so whoever reads ``state`` after an ``ok`` sees the effect.
        self._on_state_changed(self._agent.state)
        self._control.flush_state()
        reply = reply_model(effect)
        self._control.reply(route, reply)
        for repeat in self._recent.answered(key, reply) if key is not None else []:
            self._control.reply(repeat, reply)

    def _on_state_changed(self, state: RoomState) -> None:
        snapshot = state.snapshot()
        link_warning = getattr(self._control, "warning", "")
        if link_warning:  # the operator learns from the state that the room's MQTT link is contested
            snapshot["warnings"] = [*snapshot["warnings"], link_warning]
        self._control.publish_state(snapshot)
        for name, data in happenings(self._last, state):
            self._control.publish_event(name, data)
        self._last = state

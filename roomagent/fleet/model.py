"""What the dashboard knows about each room, built from MQTT messages only. Pure: no I/O, no clock of its
own (times are passed in), so the tests drive it message by message.

Rooms publish three things (DESIGN.md §3.2): retained ``availability``, retained ``state`` and
non-retained ``event``. This module reads them *tolerantly*: a payload that is not what the contract
says (an older agent, a broken one, anyone with write access) becomes a visible problem on the room's
tile, never an exception. Only a fixed set of fields is kept; anything else a room sends — above all
anything from inside a meeting — is never stored, so it can never be shown.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from roomagent.core.ids import ROOM_ID
from roomagent.fleet.config import RoomEntry

#: Room ids are ``[a-z0-9-]`` (DESIGN.md §3.2); other names under the root are not rooms (``_ctl``...).
#: Longest text kept from a room (an error message, a warning): enough to read, no more. Pages show less
#: and mark the cut (render.clip); the whole kept text is in the cut's title.
MAX_TEXT = 1000
#: The lifecycle values of the contract (roomagent/control/schemas/state.schema.json).
LIFECYCLES = frozenset({"idle", "redeeming", "joining", "in_meeting", "leaving"})
#: Rooms followed at most: a broker account that may write under the root could otherwise make the
#: dashboard remember any number of made-up rooms. Far above a university's fleet.
MAX_ROOMS = 20_000
#: At most this many list entries (screens, inputs, warnings) are kept from one state message.
MAX_ITEMS = 16


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Screen:
    """One configured screen: its id, role and what it shows. ``found`` is False when the room reports
    the screen's display missing (``present: false``) or its page failed."""

    id: str
    role: str
    status: str
    found: bool


@dataclass(frozen=True)
class Source:
    """One video input and its signal (True/False/None: unknown)."""

    id: str
    name: str
    present: bool
    signal: bool | None


@dataclass(frozen=True)
class Meeting:
    """The public part of a meeting: platform, host and since when. Never its id or URL."""

    platform: str
    host: str
    since: float | None


@dataclass(frozen=True)
class Snapshot:
    """The fields of a room's retained ``state`` that the dashboard shows."""

    lifecycle: str
    meeting: Meeting | None = None
    layout: str = ""
    muted: bool | None = None
    sharing: str = ""
    reconnecting: bool = False
    screens: tuple[Screen, ...] = ()
    sources: tuple[Source, ...] = ()
    warnings: tuple[str, ...] = ()
    error: tuple[str, str, float | None] | None = None  # code, message, at
    version: str = ""
    engine: str = ""
    rendering: str = ""
    unreadable: str = ""  # why the payload could not be read, if it could not

    @property
    def screens_found(self) -> int:
        """How many configured screens show what they should."""
        return sum(1 for s in self.screens if s.found)


def parse_state(payload: bytes) -> Snapshot:
    """The snapshot in a ``state`` payload; an unreadable one says why in ``unreadable``."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return Snapshot(lifecycle="?", unreadable="the state message is not JSON")
    if not isinstance(data, dict):
        return Snapshot(lifecycle="?", unreadable="the state message is not a JSON object")
    meeting = data.get("meeting")
    error = data.get("error")
    rendering = data.get("rendering") if isinstance(data.get("rendering"), dict) else {}
    wrong = [key for key, ok in (("state", data.get("state") in LIFECYCLES),
                                 ("meeting", meeting is None or isinstance(meeting, dict)),
                                 ("error", error is None or isinstance(error, dict)),
                                 ("screens", isinstance(data.get("screens"), list)),
                                 ("sources", isinstance(data.get("sources", []), list))) if not ok]
    return Snapshot(
        unreadable=f"the state message does not follow the contract ({', '.join(wrong)})" if wrong else "",
        lifecycle=_text(data.get("state"), 32) or "?",
        meeting=Meeting(_text(meeting.get("platform"), 32), _text(meeting.get("host"), 255),
                        _number(meeting.get("since")))
        if isinstance(meeting, dict) else None,
        layout=_text(data.get("layout"), 64),
        muted=data.get("muted") if isinstance(data.get("muted"), bool) else None,
        sharing=_text(data.get("sharing"), 64),
        reconnecting=data.get("reconnecting") is True,
        screens=tuple(_screen(s) for s in _items(data.get("screens"))),
        sources=tuple(_source(s) for s in _items(data.get("sources"))),
        warnings=tuple(_text(w) for w in _items(data.get("warnings"), dict_ok=False)),
        error=(_text(error.get("code"), 32), _text(error.get("message")), _number(error.get("at")))
        if isinstance(error, dict) else None,
        version=_text(data.get("version"), 40),
        engine=_text(data.get("engine"), 32),
        rendering=_text(rendering.get("mode"), 32),
    )


def _items(value: Any, *, dict_ok: bool = True) -> list:
    if not isinstance(value, list):
        return []
    return [v for v in value[:MAX_ITEMS] if isinstance(v, dict) == dict_ok]


def _screen(data: dict) -> Screen:
    status = _text(data.get("status"), 16) or "idle"
    return Screen(id=_text(data.get("id"), 64), role=_text(data.get("role"), 32), status=status,
                  found=status != "failed" and data.get("present") is not False)


def _source(data: dict) -> Source:
    signal = data.get("signal")
    return Source(id=_text(data.get("id"), 64), name=_text(data.get("label") or data.get("name") or data.get("id"), 64),
                  present=data.get("present") is True, signal=signal if isinstance(signal, bool) else None)


def describe_event(payload: bytes) -> str | None:
    """One line for an ``event`` message, from a fixed set of fields; None when it is unreadable."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return None
    name = _text(data["event"], 40)
    body = data.get("data") if isinstance(data.get("data"), dict) else {}
    meeting = body.get("meeting") if isinstance(body.get("meeting"), dict) else {}
    source = _source(body["source"]).name if isinstance(body.get("source"), dict) else _text(body.get("source"), 64)
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    match name:
        case "joined":
            return f"joined a meeting ({_text(meeting.get('platform'), 32)} on {_text(meeting.get('host'), 120)})"
        case "left":
            return "left the meeting"
        case "error":
            return f"error {_text(error.get('code'), 32)}: {_text(error.get('message'))}"
        case "source_plugged":
            return f"input {source} plugged in"
        case "source_unplugged":
            return f"input {source} unplugged"
        case "source_signal":
            signal = body["source"].get("signal") if isinstance(body.get("source"), dict) else None
            return f"input {source}: {'signal' if signal else 'no signal'}"
        case "sharing":
            return f"sharing input {source}" if source else "stopped sharing"
    return f"event {name}"


def describe_changes(before: Snapshot | None, after: Snapshot) -> list[str]:
    """What changed between two snapshots, one line per change, for the room's history."""
    if before is None:
        return [f"state: {after.lifecycle}"]
    lines = []
    if before.lifecycle != after.lifecycle:
        lines.append(f"state: {before.lifecycle} → {after.lifecycle}")
    if before.meeting != after.meeting and after.meeting is not None:
        lines.append(f"meeting: {after.meeting.platform} on {after.meeting.host}")
    for name, old, new in (("layout", before.layout, after.layout), ("sharing", before.sharing, after.sharing),
                           ("muted", before.muted, after.muted), ("version", before.version, after.version),
                           ("engine", before.engine, after.engine)):
        if old != new and not (name in ("layout", "sharing") and after.lifecycle != "in_meeting"):
            lines.append(f"{name}: {_show(old)} → {_show(new)}")
    old_screens = {s.id: s for s in before.screens}
    for screen in after.screens:
        was = old_screens.get(screen.id)
        if was is not None and (was.status, was.found) != (screen.status, screen.found):
            found = "" if screen.found else " (not found)"
            lines.append(f"screen {screen.id}: {was.status} → {screen.status}{found}")
    if len(after.screens) != len(before.screens):
        lines.append(f"screens configured: {len(before.screens)} → {len(after.screens)}")
    old_sources = {s.id: s for s in before.sources}
    for source in after.sources:
        was = old_sources.get(source.id)
        if was is not None and was.signal != source.signal:
            lines.append(f"input {source.name}: signal {_show(was.signal)} → {_show(source.signal)}")
    if before.error != after.error and after.error is not None:
        lines.append(f"error {after.error[0]}: {after.error[1]}")
    if set(after.warnings) - set(before.warnings):
        lines += [f"warning: {w}" for w in after.warnings if w not in before.warnings]
    if after.unreadable and after.unreadable != before.unreadable:
        lines.append(after.unreadable)
    return lines


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None or value == "" else str(value)


@dataclass(frozen=True)
class LogLine:
    """One line of a room's history on its page."""

    at: float
    kind: str  # "availability" | "state" | "event" | "action"
    text: str


#: Problem levels of a room (:attr:`Room.level`), most urgent first; the CSS classes of its tile.
OFFLINE, FAILING, WARNING, HEALTHY = 0, 1, 2, 3
LEVEL_NAMES = {OFFLINE: "offline", FAILING: "failing", WARNING: "warning", HEALTHY: "healthy"}


@dataclass
class Room:
    """One room as the dashboard knows it."""

    id: str
    name: str = ""
    building: str = ""
    listed: bool = False  # in the inventory of fleet.toml
    availability: str | None = None  # "online" | "offline" | None: never seen
    #: When availability last changed as the dashboard saw it; None when it only knows a retained value.
    since: float | None = None
    snapshot: Snapshot | None = None
    history: deque = field(default_factory=lambda: deque(maxlen=100))
    #: Bumped on every change of what the tile or the page shows.
    revision: int = 0
    #: The fleet's version (:attr:`Fleet.version`) when the room last changed, and when it was first seen:
    #: a page rendered at version v is missing exactly the changes with ``seq > v`` (see hub.py).
    seq: int = 0
    born: int = 0

    @property
    def online(self) -> bool:
        return self.availability == "online"

    @property
    def in_meeting(self) -> bool:
        return self.online and self.snapshot is not None and self.snapshot.lifecycle == "in_meeting"

    @property
    def problems(self) -> list[str]:
        """Why this room needs a look, most serious first; empty when all is well."""
        out = []
        if self.availability is None:
            out.append("never connected" if self.listed else "no availability message")
        elif not self.online:
            out.append("offline")
        snap = self.snapshot
        if snap is None:
            if self.online:
                out.append("online without state")
            return out
        if snap.unreadable:
            out.append(snap.unreadable)
        if snap.error is not None:
            out.append(f"error: {snap.error[0]}")
        out += [f"screen {s.id} {'failed' if s.status == 'failed' else 'not found'}" for s in snap.screens if not s.found]
        if snap.reconnecting:
            out.append("meeting host not answering")
        return out

    @property
    def level(self) -> int:
        """How urgent a look is, for the order of the overview: :data:`OFFLINE` (offline, never connected),
        :data:`FAILING` (errors, a screen failed...), :data:`WARNING` (only warnings, e.g.
        ``client_id_taken_over``) or :data:`HEALTHY`."""
        if not self.online:
            return OFFLINE
        if self.problems:
            return FAILING
        if self.snapshot is not None and self.snapshot.warnings:
            return WARNING
        return HEALTHY

    @property
    def sort_key(self) -> tuple:
        """The overview's order: by level, then building and id (fleet.js keeps live updates in it)."""
        return self.level, self.building, self.id

    @property
    def search_text(self) -> str:
        """What the filter box matches: id, name and building."""
        return f"{self.id} {self.name} {self.building}".lower()


class Fleet:
    """Every room the dashboard knows, fed message by message; tells which rooms changed."""

    def __init__(self, inventory: list[RoomEntry], history_per_room: int = 100, max_rooms: int = MAX_ROOMS) -> None:
        self.history_per_room = history_per_room
        self.max_rooms = max_rooms
        self.rooms: dict[str, Room] = {}
        #: Bumped on every change of any room: pages carry the version they show, and their live stream
        #: first replays every room changed after it (nothing lost between a page and its stream).
        self.version = 0
        for entry in inventory:
            self._add(entry.id, name=entry.name, building=entry.building, listed=True)

    def _add(self, room_id: str, **fields) -> Room:
        self.version += 1
        room = Room(id=room_id, history=deque(maxlen=self.history_per_room), seq=self.version, born=self.version,
                    **fields)
        self.rooms[room_id] = room
        return room

    def _changed(self, room: Room) -> Room:
        room.revision += 1
        self.version += 1
        room.seq = self.version
        return room

    def changed_since(self, version: int) -> list[str]:
        """The rooms that changed (or appeared) after ``version``."""
        return [room.id for room in self.rooms.values() if room.seq > version]

    def apply(self, room_id: str, leaf: str, payload: bytes, *, retained: bool, now: float) -> Room | None:
        """Take one message on ``<root>/<room_id>/<leaf>``; the room if what it shows changed, else None."""
        if not ROOM_ID.match(room_id) or leaf not in ("availability", "state", "event"):
            return None
        room = self.rooms.get(room_id)
        if room is None:
            if len(self.rooms) >= self.max_rooms:
                return None
            room = self._add(room_id)
        if leaf == "availability":
            changed = self._availability(room, payload, retained, now)
        elif leaf == "state":
            changed = self._state(room, payload, now)
        else:
            text = describe_event(payload)
            changed = text is not None
            if changed:
                room.history.append(LogLine(now, "event", text))
        if changed:
            return self._changed(room)
        return None

    def _availability(self, room: Room, payload: bytes, retained: bool, now: float) -> bool:
        value = {b"online": "online", b"offline": "offline"}.get(bytes(payload).strip())
        if not payload:  # an empty retained message deletes the topic
            value = None
        elif value is None:
            value = "offline"  # anything else is not "online"
            room.history.append(LogLine(now, "availability", "unreadable availability message"))
        if value == room.availability:
            return False
        if room.availability is not None or not retained:
            room.history.append(LogLine(now, "availability", f"{room.availability or 'unknown'} → {value or 'unknown'}"))
        room.availability = value
        room.since = None if retained else now
        return True

    def _state(self, room: Room, payload: bytes, now: float) -> bool:
        snapshot = parse_state(payload) if payload else None
        if snapshot == room.snapshot:
            return False
        if snapshot is not None:
            room.history += [LogLine(now, "state", line) for line in describe_changes(room.snapshot, snapshot)]
        room.snapshot = snapshot
        return True

    def note(self, room_id: str, text: str, now: float) -> Room | None:
        """Add an operator action and its reply to a room's history."""
        room = self.rooms.get(room_id)
        if room is None:
            return None
        room.history.append(LogLine(now, "action", _text(text)))
        return self._changed(room)

    def ordered(self) -> list[Room]:
        """Offline rooms first, then failing ones, then ones with warnings, each by building and id."""
        return sorted(self.rooms.values(), key=lambda r: r.sort_key)

    def counts(self) -> dict[str, int]:
        """The numbers at the top of the overview."""
        rooms = self.rooms.values()
        return {
            "rooms": len(self.rooms),
            "online": sum(1 for r in rooms if r.online),
            "offline": sum(1 for r in rooms if not r.online),
            "in_meeting": sum(1 for r in rooms if r.in_meeting),
            "problems": sum(1 for r in rooms if r.problems),
            "warnings": sum(1 for r in rooms if r.level == WARNING),
        }

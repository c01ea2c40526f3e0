"""Commands delivered twice run once; an id used again for another command is refused.

MQTT's QoS 1 is "at least once": a broker that did not see the room's PUBACK (the link dropped right
after the command arrived, or another client took the room's session over) delivers the command again.
A command with an ``id`` that arrives again with the same content within ``DEDUP_WINDOW_S`` is not run
again; its sender gets the first run's reply once more. A command that reuses a remembered ``id`` with
other content is not a redelivery: it is refused (``duplicate_id``), so that whoever waits for the
reply to that id can never take the answer to one command for the answer to another. Qt-free so it can
be tested alone.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

#: How long a command id is remembered. Redeliveries come when the room reconnects, which the back-off
#: bounds to about a minute; ten minutes also covers a broker restart with persistence.
DEDUP_WINDOW_S = 600.0
#: At most this many commands are remembered (oldest forgotten first): a flood of distinct ids costs a
#: bounded amount of memory (a key is an id of at most 128 characters and a 32-byte digest, a reply a
#: few hundred bytes).
DEDUP_MAX = 512
#: Read-only commands run again (they answer the current state, and their replies are the largest).
NOT_DEDUPLICATED = frozenset({"get_state"})


class Arrival(Enum):
    """What :meth:`RecentCommands.arrived` found."""

    NEW = "new"  #: run it
    REPEAT = "repeat"  #: the same command again: answer with the first run's reply
    DUPLICATE_ID = "duplicate_id"  #: another command under a remembered id: refuse it


@dataclass(frozen=True, slots=True)
class CommandKey:
    """A command's id and a digest of its whole content."""

    id: str
    digest: bytes


@dataclass
class _Entry:
    at: float
    digest: bytes
    reply: object | None = None  # the first run's reply, once it came
    waiting: list[object] = field(default_factory=list)  # routes of repeats that arrived before it


class RecentCommands:
    """Remembers commands by id and content; see the module docstring."""

    def __init__(self, window_s: float = DEDUP_WINDOW_S, max_entries: int = DEDUP_MAX,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(command) -> CommandKey | None:
        """The identity of ``command``, or None when it is not de-duplicated (no id, or read-only)."""
        if not command.id or command.action in NOT_DEDUPLICATED:
            return None
        return CommandKey(command.id, hashlib.sha256(command.model_dump_json().encode("utf-8")).digest())

    def arrived(self, key: CommandKey, route: object) -> tuple[Arrival, object | None]:
        """Note that the command ``key`` arrived on ``route``.

        ``(NEW, None)``: run it. ``(REPEAT, reply)``: send ``reply`` to ``route`` (None: the first run has
        not answered yet, the route gets the reply when :meth:`answered` is called). ``(DUPLICATE_ID,
        None)``: another command used this id within the window; refuse this one (nothing is remembered).
        """
        now = self._clock()
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if now - oldest.at <= self._window_s and len(self._entries) < self._max:
                break
            self._entries.popitem(last=False)
        entry = self._entries.get(key.id)
        if entry is None:
            self._entries[key.id] = _Entry(at=now, digest=key.digest)
            return Arrival.NEW, None
        if entry.digest != key.digest:
            return Arrival.DUPLICATE_ID, None
        if entry.reply is None:
            entry.waiting.append(route)
        return Arrival.REPEAT, entry.reply

    def answered(self, key: CommandKey, reply: object) -> list[object]:
        """The first run of ``key`` answered ``reply``; the routes of repeats still waiting for it."""
        entry = self._entries.get(key.id)
        if entry is None or entry.digest != key.digest:
            return []
        entry.reply = reply
        waiting, entry.waiting = entry.waiting, []
        return waiting

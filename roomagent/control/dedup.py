"""Commands delivered twice run once.

MQTT's QoS 1 is "at least once": a broker that did not see the room's PUBACK (the link dropped right
after the command arrived, or another client took the room's session over) delivers the command again.
A command with an ``id`` that arrives again with the same content within ``DEDUP_WINDOW_S`` is not run
again; its sender gets the first run's reply once more. Qt-free so it can be tested alone.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

#: How long a command id is remembered. Redeliveries come when the room reconnects, which the back-off
#: bounds to about a minute; ten minutes also covers a broker restart with persistence.
DEDUP_WINDOW_S = 600.0
#: At most this many commands are remembered (oldest forgotten first): a flood of distinct ids costs a
#: bounded amount of memory (a key is a 32-byte digest, a reply a few hundred bytes).
DEDUP_MAX = 512
#: Read-only commands run again (they answer the current state, and their replies are the largest).
NOT_DEDUPLICATED = frozenset({"get_state"})


@dataclass
class _Entry:
    at: float
    reply: object | None = None  # the first run's reply, once it came
    waiting: list[object] = field(default_factory=list)  # routes of repeats that arrived before it


class RecentCommands:
    """Remembers commands by id and content; see the module docstring."""

    def __init__(self, window_s: float = DEDUP_WINDOW_S, max_entries: int = DEDUP_MAX,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(command) -> bytes | None:
        """The identity of ``command``, or None when it is not de-duplicated (no id, or read-only)."""
        if not command.id or command.action in NOT_DEDUPLICATED:
            return None
        return hashlib.sha256(command.model_dump_json().encode("utf-8")).digest()

    def arrived(self, key: bytes, route: object) -> tuple[bool, object | None]:
        """Note that the command ``key`` arrived on ``route``. ``(True, None)``: new, run it. ``(False,
        reply)``: a repeat; send ``reply`` to ``route`` (None: the first run has not answered yet, the
        route gets the reply when :meth:`answered` is called)."""
        now = self._clock()
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if now - oldest.at <= self._window_s and len(self._entries) < self._max:
                break
            self._entries.popitem(last=False)
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Entry(at=now)
            return True, None
        if entry.reply is None:
            entry.waiting.append(route)
        return False, entry.reply

    def answered(self, key: bytes, reply: object) -> list[object]:
        """The first run of ``key`` answered ``reply``; the routes of repeats still waiting for it."""
        entry = self._entries.get(key)
        if entry is None:
            return []
        entry.reply = reply
        waiting, entry.waiting = entry.waiting, []
        return waiting

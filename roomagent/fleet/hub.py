"""Live updates for open pages: each Server-Sent Events stream is a :class:`Subscriber` that collects the
keys (room ids, ``COUNTS``, ``BROKER``) that changed since it last sent, and renders them when it runs.

Coalescing by key keeps every stream bounded by the number of rooms, however fast rooms publish and
however slow a browser reads: a room that changed ten times while a browser was busy is sent once, as it
is now. Everything here runs on the web app's event loop.
"""

from __future__ import annotations

import asyncio

COUNTS = "_counts"
BROKER = "_broker"


class Subscriber:
    """One open stream: the overview (``room`` None) or one room's page."""

    def __init__(self, room: str | None = None) -> None:
        self.room = room
        self.pending: dict[str, None] = {}  # an ordered set
        self.wake = asyncio.Event()

    def wants(self, key: str) -> bool:
        """Whether this stream shows ``key``."""
        return self.room is None or key in (self.room, BROKER)

    async def next_keys(self) -> list[str]:
        """Wait until something changed; the keys, oldest first."""
        await self.wake.wait()
        self.wake.clear()
        keys = list(self.pending)
        self.pending.clear()
        return keys


class Hub:
    """The open streams, told about every change."""

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()

    def add(self, subscriber: Subscriber) -> Subscriber:
        """Register a stream."""
        self.subscribers.add(subscriber)
        return subscriber

    def remove(self, subscriber: Subscriber) -> None:
        """Forget a closed stream."""
        self.subscribers.discard(subscriber)

    def changed(self, *keys: str) -> None:
        """Tell every stream that shows one of ``keys``."""
        for subscriber in self.subscribers:
            for key in keys:
                if subscriber.wants(key):
                    subscriber.pending[key] = None
                    subscriber.wake.set()

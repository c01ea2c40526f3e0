"""Live updates for open pages: each Server-Sent Events stream is a :class:`Subscriber` that collects the
keys (room ids, ``COUNTS``, ``BROKER``) that changed since it last sent, and renders them when it runs.

Nothing is lost between a page and its stream: the page shows the fleet at one version
(:attr:`~roomagent.fleet.model.Fleet.version`) and names it in its stream's URL; :meth:`Hub.open`
registers the stream and queues every room that changed after that version in one step on the event
loop, so a change that arrived between rendering the page and connecting the stream is sent first.

Coalescing by key keeps every stream bounded by the number of rooms, however fast rooms publish and
however slow a browser reads: a room that changed ten times while a browser was busy is sent once, as it
is now. Everything here runs on the web app's event loop.
"""

from __future__ import annotations

import asyncio
import secrets

from roomagent.fleet.model import Fleet

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
        #: This run of the dashboard: a page's version means nothing to another run (versions restart).
        self.run = secrets.token_hex(4)

    def open(self, fleet: Fleet, room: str | None, since: int | None, run: str) -> tuple[Subscriber, set[str]]:
        """Register a stream for a page that showed ``fleet`` at version ``since`` (None: now) in run
        ``run``; returns it and the rooms that page already has tiles for. Every room changed after
        ``since`` is already queued on it. A page of another run (the dashboard restarted) has all its
        rooms sent again, as new tiles (fleet.js replaces a tile of the same id)."""
        subscriber = self.add(Subscriber(room))
        if since is None:
            since = fleet.version
        elif run != self.run or since > fleet.version:
            since = 0
        known = {rid for rid, r in fleet.rooms.items() if r.born <= since} if since else set()
        changed = fleet.changed_since(since)
        if room is not None:
            changed = [rid for rid in changed if rid == room]
        for key in changed:
            subscriber.pending[key] = None
        if room is None and since < fleet.version:  # the numbers at the top may have moved too
            subscriber.pending[COUNTS] = None
        subscriber.pending[BROKER] = None  # not versioned: small, always sent once
        subscriber.wake.set()
        return subscriber, known

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

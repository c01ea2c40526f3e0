"""Each room's availability, meetings and incidents, kept in the history database (history_db.py).

:meth:`History.observe` runs on the event loop after every change of a room: it compares the room's facts
(conditions.py) with what it last recorded and queues what changed. One writer thread writes the queue
in batches (a whole fleet reconnecting is one transaction, not a thousand) and deletes what is older than
the retention once an hour. Pages read through ``asyncio.to_thread``.

A restart loses nothing: on start the open meetings and incidents and each room's last availability are
read back, so a meeting or an incident that is still going on continues instead of being counted twice.
On a clean stop every room's availability becomes ``unknown`` until the dashboard sees it again, so the
time the dashboard was not running counts neither as up nor as down.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from roomagent.fleet.conditions import OFFLINE, facts_of
from roomagent.fleet.history_db import HistoryError, HistoryStore, Op, OpenRoom, RoomRecord
from roomagent.fleet.model import Room

log = logging.getLogger("roomagent.fleet.history")

DAY = 86_400.0
WEEK = 7 * DAY
#: Old rows are deleted this often.
PURGE_EVERY_S = 3600.0
#: After a failed write the batch is kept and tried again this much later (a database restart).
RETRY_S = 5.0
#: Changes kept in memory while the database cannot be written; beyond that the oldest are dropped (and
#: the log says so) rather than the dashboard running out of memory.
MAX_BACKLOG = 200_000
#: A meeting start the room reports is believed only this far back (a room's clock may be wrong).
MAX_MEETING_AGE_S = DAY


@dataclass
class _Seen:
    """What the history last recorded for one room."""

    availability: str | None = None
    meeting: tuple[str, str] | None = None
    meeting_ended: float = 0.0
    incidents: dict[str, str] = field(default_factory=dict)  # kind -> words
    #: Since when its meeting and problems are unknown (offline, or the dashboard was not running).
    unknown_since: float | None = None


class History:
    """Records rooms' changes and answers the pages' questions."""

    def __init__(self, database: str, retention_days: float, clock: Callable[[], float] = time.time) -> None:
        self.store = HistoryStore(database)
        self.retention_s = retention_days * DAY
        self.now = clock
        self._seen: dict[str, _Seen] = {}
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    @property
    def where(self) -> str:
        """The database, without its password."""
        return self.store.where

    def start(self) -> dict[str, OpenRoom]:
        """Open the database, read back what was going on, start the writer (blocking: call it in a thread).
        Returns the open state read back (the alerts take the incidents they already sent from it)."""
        self.store.open()
        opened = self.store.open_rooms()
        for room, entry in opened.items():
            # Its meeting and problems are unknown since it went offline, or else since the dashboard stopped.
            unknown_since = entry.incidents[OFFLINE][1] if OFFLINE in entry.incidents else \
                entry.availability_at if entry.availability != "online" else None
            self._seen[room] = _Seen(
                availability=entry.availability, meeting=entry.meeting,
                incidents={kind: text for kind, (text, _, _) in entry.incidents.items()},
                unknown_since=unknown_since)
        self._thread = threading.Thread(target=self._write_loop, name="fleet-history", daemon=True)
        self._thread.start()
        log.info("history in %s: %d rooms known, retention %g days", self.where, len(opened),
                 self.retention_s / DAY)
        return opened

    def stop(self) -> None:
        """:meth:`finish` then :meth:`join` (blocking)."""
        self.finish()
        self.join()

    def finish(self) -> None:
        """Mark every room's availability unknown from now on and tell the writer to end (on the event loop,
        where :meth:`observe` runs: nothing changes the rooms meanwhile)."""
        if self._thread is None:
            return
        now = self.now()
        self._queue.put([Op("availability", room, now, "unknown") for room, seen in self._seen.items()
                         if seen.availability in ("online", "offline")])
        self._queue.put(None)

    def join(self) -> None:
        """Wait until the writer has written what was queued, then close the database (blocking)."""
        if self._thread is None:
            return
        self._thread.join()
        self._thread = None
        self.store.close()

    # ----- recording (event loop) -------------------------------------------------------------------------
    def observe(self, room: Room, now: float) -> None:
        """Queue whatever changed for ``room`` since it was last recorded."""
        facts = facts_of(room)
        seen = self._seen.setdefault(room.id, _Seen())
        ops: list[Op] = []
        rid = room.id
        if facts.availability is not None and facts.availability != seen.availability:
            ops.append(Op("availability", rid, now, facts.availability))
            seen.availability = facts.availability
            if facts.availability == "offline" and OFFLINE not in seen.incidents:
                seen.incidents[OFFLINE] = "offline"
                ops.append(Op("incident_start", rid, now, OFFLINE, "offline"))
                seen.unknown_since = seen.unknown_since or now
            elif facts.availability == "online" and seen.incidents.pop(OFFLINE, None) is not None:
                ops.append(Op("incident_end", rid, now, OFFLINE))
        if facts.known:
            if facts.meeting != seen.meeting:
                if seen.meeting is not None:
                    # It was last known to be in the meeting when the room stopped reporting.
                    seen.meeting_ended = seen.unknown_since or now
                    ops.append(Op("meeting_end", rid, seen.meeting_ended))
                if facts.meeting is not None:
                    since = facts.meeting_since
                    start = since if since is not None and max(seen.meeting_ended, now - MAX_MEETING_AGE_S) \
                        <= since <= now else now
                    ops.append(Op("meeting_start", rid, start, text=facts.meeting[0], host=facts.meeting[1]))
                seen.meeting = facts.meeting
            problems = facts.problem_map
            for kind in [k for k in seen.incidents if k != OFFLINE and k not in problems]:
                del seen.incidents[kind]
                ops.append(Op("incident_end", rid, now, kind))
            for kind, text in problems.items():
                if kind not in seen.incidents:
                    seen.incidents[kind] = text
                    ops.append(Op("incident_start", rid, now, kind, text))
            seen.unknown_since = None
        if ops:
            self._queue.put(ops)

    def alerted(self, room: str, kind: str, now: float) -> None:
        """Remember that an alert went out for the open incident ``kind`` of ``room``."""
        self._queue.put([Op("incident_alerted", room, now, kind)])

    def flush(self) -> None:
        """Wait until everything queued so far is written (blocking; for tests and shutdown)."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(30)

    # ----- the writer thread --------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        backlog: list[Op] = []
        next_purge = 0.0
        stopping = False
        while not stopping:
            waiters: list[threading.Event] = []
            try:  # with a backlog, try it again after RETRY_S even when nothing new comes
                items = [self._queue.get(timeout=RETRY_S) if backlog else self._queue.get()]
            except queue.Empty:
                items = []
            while True:  # everything that is waiting goes into one transaction
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for entry in items:
                if entry is None:
                    stopping = True
                elif isinstance(entry, threading.Event):
                    waiters.append(entry)
                else:
                    backlog += entry
            if len(backlog) > MAX_BACKLOG:
                log.error("history: the database has not been writable for a while; %d changes dropped",
                          len(backlog) - MAX_BACKLOG)
                del backlog[:len(backlog) - MAX_BACKLOG]
            backlog = self._write(backlog)
            now = self.now()
            if now >= next_purge and not backlog:
                next_purge = now + PURGE_EVERY_S
                self._purge(now)
            for waiter in waiters:
                waiter.set()
        if backlog:
            log.error("history: %d changes were not written (the database is not reachable)", len(backlog))

    def _write(self, ops: list[Op]) -> list[Op]:
        if not ops:
            return ops
        try:
            self.store.write(ops)
            return []
        except (SQLAlchemyError, HistoryError) as exc:
            log.warning("history: writing %d changes failed (%s); trying again in %g s", len(ops),
                        str(exc).splitlines()[0], RETRY_S)
            return ops

    def _purge(self, now: float) -> None:
        try:
            deleted = self.store.purge(now - self.retention_s)
        except (SQLAlchemyError, HistoryError) as exc:
            log.warning("history: deleting old rows failed: %s", str(exc).splitlines()[0])
            return
        if deleted:
            log.info("history: %d rows older than %g days deleted", deleted, self.retention_s / DAY)

    # ----- reading (pages) ----------------------------------------------------------------------------------
    async def room_record(self, room: str, since: float) -> RoomRecord:
        """``room``'s history since ``since``, read in a thread."""
        return await asyncio.to_thread(self.store.room_record, room, since)

    async def fleet_record(self, since: float) -> tuple[list, dict]:
        """Every incident and availability change since ``since``, read in a thread."""
        def read() -> tuple[list, dict]:
            return self.store.incidents_since(since), self.store.availability_since(since)
        return await asyncio.to_thread(read)


def uptime(changes: list[tuple[float, str]], start: float, end: float) -> float | None:
    """Percent of the time in [start, end] the room was online, of the time its availability was known;
    None when it was never known then."""
    online = known = 0.0
    for i, (at, value) in enumerate(changes):
        until = changes[i + 1][0] if i + 1 < len(changes) else end
        lo, hi = max(at, start), min(until, end)
        if hi <= lo or value not in ("online", "offline"):
            continue
        known += hi - lo
        if value == "online":
            online += hi - lo
    return 100.0 * online / known if known > 0 else None

"""Alerts: rules on the rooms' incidents (conditions.py), sent by e-mail and webhook (alert_senders.py).

The rules: a room **offline** longer than ``offline_after_s``, a **screen failed** (or its display
missing) longer than ``screen_failed_after_s``, the **meeting host unreachable** longer than
``host_unreachable_after_s``; and the **recovery** of each incident that was alerted.

- *One alert per incident, one recovery*: an incident is one kind of problem of one room from the moment it
  appears until it goes away; it is alerted at most once, and its recovery is sent only if it was alerted
  (a room that was offline for 10 s of a 120 s rule sends nothing). With the history on, the incidents
  already alerted are read back at start, so a restart alerts nothing twice.
- *Rate limit*: each channel sends at most ``max_per_hour`` messages; what comes while the budget is
  spent waits and goes out as one digest (a broker restart that takes 300 rooms offline is one message,
  not 300), so nothing is lost and nobody is flooded.
- *Quiet hours*: nothing is sent between the two times of ``quiet_hours`` (local time). Incidents still
  open at their end are alerted then; those that began and ended inside them are not; recoveries of
  incidents alerted before wait for the end.

:meth:`Alerts.observe` runs on the event loop after each change of a room; :meth:`Alerts.tick` (every
second, from the dashboard) turns incidents that lasted long enough into alerts and sends what is due.
The clock is injected, so "offline longer than N s" is tested without waiting N s.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from roomagent.fleet.conditions import HOST, OFFLINE, SCREEN, facts_of
from roomagent.fleet.config import AlertsSection
from roomagent.fleet.history_db import OpenRoom
from roomagent.fleet.model import Room

log = logging.getLogger("roomagent.fleet.alerts")

HOUR = 3600.0
#: A channel whose send failed tries again this much later (the mail server restarting).
RETRY_S = 30.0
#: Notices waiting per channel at most (the oldest go first, with a log line).
MAX_OUTBOX = 2000


@dataclass
class Incident:
    """An open incident that a rule watches."""

    room: str
    kind: str
    text: str
    started: float
    alerted: bool = False


@dataclass(frozen=True)
class Notice:
    """One alert or recovery, as the senders format it."""

    what: str  # "alert" | "recovery"
    room: str
    name: str
    building: str
    kind: str
    text: str
    started: float
    at: float

    def line(self) -> str:
        """One line of words for a message."""
        where = f"{self.room} ({self.name})" if self.name else self.room
        since = time.strftime("%d %b %H:%M:%S", time.localtime(self.started))
        if self.what == "alert":
            return f"ALERT {where}: {self.text} since {since}"
        return f"RECOVERED {where}: {self.text} is over (it began {since}, lasted {_duration(self.at - self.started)})"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def rule_of(kind: str) -> str:
    """The rule that watches an incident kind ("" for none)."""
    if kind == OFFLINE:
        return "offline"
    if kind.startswith(SCREEN):
        return "screen_failed"
    return "host_unreachable" if kind == HOST else ""


class SendError(Exception):
    """A message could not be sent; the message says why."""


class Sender:
    """Something that delivers a batch of notices (e-mail, webhook)."""

    name = "sender"

    async def send(self, notices: list[Notice]) -> None:  # pragma: no cover - an interface
        """Deliver ``notices`` as one message or raise SendError."""
        raise NotImplementedError


class Channel:
    """One sender with its outbox and its hourly budget."""

    def __init__(self, sender: Sender, max_per_hour: int) -> None:
        self.sender = sender
        self.max_per_hour = max_per_hour
        self.outbox: list[Notice] = []
        self.sent_at: deque[float] = deque()
        self.retry_at = 0.0
        self.sent = 0  # messages delivered, for the tests and the log

    def put(self, notice: Notice) -> None:
        """Queue ``notice``; a full outbox drops its oldest."""
        self.outbox.append(notice)
        if len(self.outbox) > MAX_OUTBOX:
            log.error("alerts via %s: more than %d notices waiting, the oldest is dropped", self.sender.name,
                      MAX_OUTBOX)
            del self.outbox[0]

    async def flush(self, now: float) -> None:
        """Send what waits as one message, if the budget and the last failure allow."""
        while self.sent_at and self.sent_at[0] <= now - HOUR:
            self.sent_at.popleft()
        if not self.outbox or now < self.retry_at or len(self.sent_at) >= self.max_per_hour:
            return
        batch = list(self.outbox)
        try:
            await self.sender.send(batch)
        except SendError as exc:
            self.retry_at = now + RETRY_S
            log.warning("alerts via %s: %s; trying again in %g s", self.sender.name, exc, RETRY_S)
            return
        del self.outbox[:len(batch)]
        self.sent_at.append(now)
        self.sent += 1
        log.info("alerts via %s: sent %d notice(s)", self.sender.name, len(batch))


class Alerts:
    """The rules, the open incidents, and the channels."""

    def __init__(self, settings: AlertsSection, senders: list[Sender], *,
                 on_alerted: Callable[[str, str, float], None] | None = None) -> None:
        self.settings = settings
        self.channels = [Channel(s, settings.max_per_hour) for s in senders]
        self.incidents: dict[tuple[str, str], Incident] = {}
        self.on_alerted = on_alerted
        self._after = {"offline": settings.offline_after_s, "screen_failed": settings.screen_failed_after_s,
                       "host_unreachable": settings.host_unreachable_after_s}
        self._rooms: dict[str, tuple[str, str]] = {}  # id -> name, building (for the messages)
        self.checks = 0  # ticks so far (a test waits for one to pass)

    def seed(self, opened: dict[str, OpenRoom]) -> None:
        """Take the open incidents the history read back (with whether they were alerted)."""
        for room, entry in opened.items():
            for kind, (text, started, alerted) in entry.incidents.items():
                if rule_of(kind) in self.settings.rules:
                    self.incidents[(room, kind)] = Incident(room, kind, text, started, alerted)

    def observe(self, room: Room, now: float) -> None:
        """Open and close incidents from ``room``'s facts; queue recoveries."""
        self._rooms[room.id] = (room.name, room.building)
        facts = facts_of(room)
        if facts.availability is None:
            return
        watched: dict[str, str] = {}
        if facts.availability == "offline":
            watched[OFFLINE] = "offline"
        if facts.known:
            watched.update((k, t) for k, t in facts.problems if rule_of(k))
        for key in [k for k in self.incidents if k[0] == room.id]:
            # While a room is offline its screens and meeting host are unknown: those incidents stay open.
            if key[1] not in watched and (facts.known or key[1] == OFFLINE):
                self._close(self.incidents.pop(key), now)
        for kind, text in watched.items():
            if rule_of(kind) in self.settings.rules and (room.id, kind) not in self.incidents:
                self.incidents[(room.id, kind)] = Incident(room.id, kind, text, now)

    def _close(self, incident: Incident, now: float) -> None:
        if incident.alerted and self.settings.recovery:
            self._queue(self._notice("recovery", incident, now))

    def _notice(self, what: str, incident: Incident, now: float) -> Notice:
        name, building = self._rooms.get(incident.room, ("", ""))
        return Notice(what, incident.room, name, building, incident.kind, incident.text, incident.started, now)

    def _queue(self, notice: Notice) -> None:
        for channel in self.channels:
            channel.put(notice)

    def quiet(self, now: float) -> bool:
        """Whether ``now`` is inside the quiet hours."""
        window = self.settings.quiet_window()
        if window is None:
            return False
        start, end = window
        t = time.localtime(now)
        minute = t.tm_hour * 60 + t.tm_min
        return start <= minute < end if start < end else (minute >= start or minute < end)

    async def tick(self, now: float) -> None:
        """Alert the incidents that lasted long enough, then send what is due."""
        quiet = self.quiet(now)
        self.checks += 1
        if not quiet:
            for incident in self.incidents.values():
                if not incident.alerted and now - incident.started >= self._after[rule_of(incident.kind)]:
                    incident.alerted = True
                    self._queue(self._notice("alert", incident, now))
                    if self.on_alerted is not None:
                        self.on_alerted(incident.room, incident.kind, now)
            for channel in self.channels:
                await channel.flush(now)

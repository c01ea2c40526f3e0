"""What the history pages show, computed from the database's records and the live model: a room's uptime,
meetings per day, last incidents and plots; the fleet summary (rooms by agent version and engine, problems
per day, the rooms with the lowest uptime). Pure: the records and ``now`` are passed in."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from roomagent.fleet.history import DAY, WEEK, uptime
from roomagent.fleet.history_db import RoomRecord
from roomagent.fleet.model import Fleet
from roomagent.fleet.plots import Chart, columns, day_starts, timeline

#: Days shown in the fleet summary's problem chart.
SUMMARY_DAYS = 14
#: Rooms listed with the lowest uptime.
WORST = 10


@dataclass(frozen=True)
class RoomView:
    """A room's history section."""

    uptime_day: float | None
    uptime_week: float | None
    meetings_per_day: list[tuple[str, int]]
    incidents: list[tuple[str, str, float, float | None]]
    day: Chart
    week: Chart
    meetings: Chart


@dataclass(frozen=True)
class FleetSummary:
    """The summary page."""

    by_version: list[tuple[str, int]]
    by_engine: list[tuple[str, int]]
    problems: Chart
    problems_per_day: list[tuple[str, dict[str, int]]]
    worst: list[tuple[str, str, float]]  # room, name, uptime % this week
    rooms: int


def _day_label(ts: float) -> str:
    return time.strftime("%a %d", time.localtime(ts))


def room_view(record: RoomRecord, now: float) -> RoomView:
    """The history section of one room from its record of the last week."""
    days = day_starts(now, 7)
    per_day = []
    for i, start in enumerate(days):
        end = days[i + 1] if i + 1 < len(days) else now + 1
        per_day.append((_day_label(start), sum(1 for _, _, started, _ in record.meetings if start <= started < end)))
    return RoomView(
        uptime_day=uptime(record.availability, now - DAY, now),
        uptime_week=uptime(record.availability, now - WEEK, now),
        meetings_per_day=per_day,
        incidents=record.incidents,
        day=timeline(record.availability, record.meetings, record.incidents, now - DAY, now, "the last 24 hours"),
        week=timeline(record.availability, record.meetings, record.incidents, now - WEEK, now, "the last 7 days"),
        meetings=columns([(label, {"meeting": n}) for label, n in per_day], "meetings per day", height=90),
    )


def category(kind: str) -> str:
    """The group an incident kind is counted in on the summary."""
    head = kind.split(":", 1)[0]
    return head if head in ("offline", "screen", "host", "error") else "other"


def fleet_summary(fleet: Fleet, incidents: list[tuple[str, str, float, float | None]],
                  availability: dict[str, list[tuple[float, str]]], now: float) -> FleetSummary:
    """The summary from the live model (versions, engines) and the history (problems, uptime)."""
    rooms = list(fleet.rooms.values())
    versions = Counter((r.snapshot.version or "unknown") if r.snapshot else "unknown" for r in rooms)
    engines = Counter((r.snapshot.engine or "unknown") if r.snapshot else "unknown" for r in rooms)
    days = day_starts(now, SUMMARY_DAYS)
    per_day: list[tuple[str, dict[str, int]]] = []
    for i, start in enumerate(days):
        end = days[i + 1] if i + 1 < len(days) else now + 1
        counts = Counter(category(kind) for _, kind, started, _ in incidents if start <= started < end)
        per_day.append((_day_label(start), dict(counts)))
    ups = []
    for room_id, changes in availability.items():
        pct = uptime(changes, now - WEEK, now)
        if pct is not None:
            room = fleet.rooms.get(room_id)
            ups.append((room_id, room.name if room else "", pct))
    ups.sort(key=lambda item: (item[2], item[0]))
    return FleetSummary(
        by_version=sorted(versions.items(), key=lambda kv: (-kv[1], kv[0])),
        by_engine=sorted(engines.items(), key=lambda kv: (-kv[1], kv[0])),
        problems=columns(per_day, f"incidents per day, last {SUMMARY_DAYS} days"),
        problems_per_day=per_day,
        worst=ups[:WORST],
        rooms=len(rooms),
    )

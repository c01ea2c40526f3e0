"""The fleet history with 1,000 rooms and a week of their life, on SQLite and on a temporary PostgreSQL
database. Prints figures, asserts nothing about time.

Run: ``.venv/bin/python tests/bench/bench_history.py [--rooms 1000] [--days 7]``.

* **Reconnect burst**: every room's retained ``availability`` and ``state`` through the real model and
  :meth:`History.observe` (what the dashboard does when it starts), then until the writer thread has
  written it all.
* **A week**: per room and day 6 availability changes, 4 meetings and 1 incident, written in batches.
* **Room page**: reading one room's week and computing its uptime, meetings per day and plots (median).
* **Summary**: reading the whole fleet's 14 days and computing the summary page.
* **Retention**: deleting everything older than half the week.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from roomagent.fleet.history import DAY, WEEK, History  # noqa: E402
from roomagent.fleet.history_db import Op  # noqa: E402
from roomagent.fleet.model import Fleet  # noqa: E402
from roomagent.fleet.summary import fleet_summary, room_view  # noqa: E402
from tests.fleet.conftest import state  # noqa: E402
from tests.fleet.receivers import temporary_postgres  # noqa: E402


def week_of(rooms: list[str], days: int, now: float) -> list[Op]:
    """A plausible week: each day a room goes offline and back 3 times, holds 4 meetings, has 1 incident."""
    ops = []
    for day in range(days, 0, -1):
        base = now - day * DAY
        for i, room in enumerate(rooms):
            t = base + (i % 600)
            for k in range(3):
                ops += [Op("availability", room, t + k * 20_000, "offline"),
                        Op("availability", room, t + k * 20_000 + 300, "online")]
            for k in range(4):
                start = t + 1000 + k * 15_000
                ops += [Op("meeting_start", room, start, text="bbb", host="bbb.example.org"),
                        Op("meeting_end", room, start + 5400)]
            ops += [Op("incident_start", room, t + 2000, "screen:left", "screen left failed"),
                    Op("incident_end", room, t + 2600, "screen:left")]
    return ops


def run(database: str, rooms: int, days: int) -> None:
    now = time.time()
    names = [f"r{i:04d}" for i in range(rooms)]
    history = History(database, 30, clock=lambda: now)
    history.start()
    fleet = Fleet([])
    snapshot = json.dumps(state("idle")).encode()
    t0 = time.perf_counter()
    for name in names:
        for leaf, payload in (("availability", b"online"), ("state", snapshot)):
            room = fleet.apply(name, leaf, payload, retained=True, now=now)
            if room is not None:
                history.observe(room, now)
    queued = time.perf_counter() - t0
    history.flush()
    print(f"  reconnect burst, {rooms} rooms: observed in {1000 * queued:.0f} ms, "
          f"written {1000 * (time.perf_counter() - t0):.0f} ms after the first message")

    ops = week_of(names, days, now)
    t0 = time.perf_counter()
    for i in range(0, len(ops), 5000):
        history.store.write(ops[i:i + 5000])
    print(f"  {days} days of {rooms} rooms: {len(ops)} rows written in {time.perf_counter() - t0:.1f} s")

    pages = []
    for name in names[:: max(1, rooms // 20)]:
        t0 = time.perf_counter()
        room_view(history.store.room_record(name, now - WEEK), now)
        pages.append(time.perf_counter() - t0)
    print(f"  room page (read a week + uptime + plots): median {1000 * statistics.median(pages):.1f} ms, "
          f"max {1000 * max(pages):.1f} ms ({len(pages)} rooms)")
    t0 = time.perf_counter()
    incidents, availability = history.store.incidents_since(now - 14 * DAY), history.store.availability_since(now - WEEK)
    summary = fleet_summary(fleet, incidents, availability, now)
    print(f"  summary page ({len(incidents)} incidents, {sum(map(len, availability.values()))} availability rows): "
          f"{1000 * (time.perf_counter() - t0):.0f} ms; lowest uptime {summary.worst[0][2]:.1f} %")
    t0 = time.perf_counter()
    deleted = history.store.purge(now - days * DAY / 2)
    print(f"  retention: {deleted} rows deleted in {1000 * (time.perf_counter() - t0):.0f} ms")
    history.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite:")
        run(str(Path(folder) / "history.sqlite"), args.rooms, args.days)
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(temporary_postgres())
        except pytest.skip.Exception as exc:  # no PostgreSQL here
            print(f"PostgreSQL: skipped ({exc})")
            return
        print("PostgreSQL:")
        run(url, args.rooms, args.days)


if __name__ == "__main__":
    main()

"""The history against real databases — an SQLite file and a temporary PostgreSQL database — fed by the
real fleet model message by message, with an injected clock: what is stored, what a restart reads back,
retention, uptime, meetings per day, and the plots' geometry."""

from __future__ import annotations

import json
import sqlite3

import pytest

from roomagent.fleet.config import FleetSettings, HistorySection, RoomEntry
from roomagent.fleet.history import DAY, WEEK, History, uptime
from roomagent.fleet.history_db import HistoryError, HistoryStore, Op
from roomagent.fleet.model import Fleet
from roomagent.fleet.summary import fleet_summary, room_view
from tests.fleet.conftest import state

pytest.importorskip("sqlalchemy")
MEETING = {"id": "m-1", "platform": "bbb", "host": "bbb.example.org", "since": None}
T0 = 1_800_000_000.0


class Rig:
    """The model and the history on it; ``now`` moves as the test says."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.now = T0
        self.fleet = Fleet([RoomEntry(id="h0104", name="Lecture hall 1.04")])
        self.history = History(database, 30, clock=lambda: self.now)
        self.opened = self.history.start()

    def message(self, room: str, leaf: str, payload, *, retained: bool = False, advance: float = 0) -> None:
        self.now += advance
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        changed = self.fleet.apply(room, leaf, body, retained=retained, now=self.now)
        if changed is not None:
            self.history.observe(changed, self.now)

    def record(self, room: str = "h0104"):
        self.history.flush()
        return self.history.store.room_record(room, self.now - WEEK)

    def restart(self) -> Rig:
        self.history.stop()
        again = Rig.__new__(Rig)
        again.database, again.now = self.database, self.now
        again.fleet = Fleet([RoomEntry(id="h0104", name="Lecture hall 1.04")])
        again.history = History(self.database, 30, clock=lambda: again.now)
        again.opened = again.history.start()
        return again


def test_availability_meetings_and_incidents_are_stored_and_a_restart_continues_them(database):
    rig = Rig(database)
    rig.message("h0104", "availability", b"online", retained=True)
    rig.message("h0104", "state", state("idle"), retained=True)
    rig.message("h0104", "state", state("in_meeting", meeting=MEETING), advance=600)
    rig.message("h0104", "state", state("in_meeting", meeting=MEETING, screens=[("left", "loaded"), ("right", "failed")]),
                advance=60)
    rig.message("h0104", "availability", b"offline", advance=60)
    # While offline, the meeting and the screen are unknown: nothing about them is written.
    rig.message("h0104", "state", state("idle"), advance=1)
    record = rig.record()
    assert record.availability == [(T0, "online"), (T0 + 720, "offline")]
    assert record.meetings == [("bbb", "bbb.example.org", T0 + 600, None)]
    assert sorted((k, t, e) for k, t, _, e in record.incidents) == [("offline", "offline", None),
                                                                   ("screen:right", "screen right failed", None)]

    rig.now += 300
    rig = rig.restart()  # a clean stop: availability unknown from then on; the meeting and incidents stay open
    assert rig.opened["h0104"].availability == "unknown"
    assert rig.opened["h0104"].meeting == ("bbb", "bbb.example.org")
    assert set(rig.opened["h0104"].incidents) == {"offline", "screen:right"}
    stopped = rig.now
    rig.now += 100
    # The broker hands the new dashboard the retained truth: the room is back, idle, screens fine.
    rig.message("h0104", "availability", b"online", retained=True)
    rig.message("h0104", "state", state("idle"), retained=True)
    record = rig.record()
    assert record.availability == [(T0, "online"), (T0 + 720, "offline"), (stopped, "unknown"), (rig.now, "online")]
    # The meeting ends when the room was last known in it (it went offline), not at the restart.
    assert record.meetings == [("bbb", "bbb.example.org", T0 + 600, T0 + 720)]
    ends = {kind: ended for kind, _, _, ended in record.incidents}
    assert ends == {"offline": rig.now, "screen:right": rig.now}
    assert len(record.incidents) == 2  # continued, not opened twice

    # Uptime counts only the known time: 720 s online and 301 s offline; not the 100 s unknown.
    assert uptime(record.availability, T0, rig.now) == pytest.approx(100 * 720 / (720 + 301))
    rig.history.stop()


def test_a_meeting_that_continues_across_a_restart_is_one_meeting(database):
    rig = Rig(database)
    rig.message("h0104", "availability", b"online", retained=True)
    rig.message("h0104", "state", state("in_meeting", meeting=MEETING), retained=True)
    rig = rig.restart()
    rig.message("h0104", "availability", b"online", retained=True, advance=50)
    rig.message("h0104", "state", state("in_meeting", meeting=MEETING), retained=True)
    rig.message("h0104", "state", state("idle"), advance=1000)
    record = rig.record()
    assert record.meetings == [("bbb", "bbb.example.org", T0, T0 + 1050)]
    view = room_view(record, rig.now)
    assert view.meetings_per_day[-1][1] + view.meetings_per_day[-2][1] == 1
    rig.history.stop()


def test_a_meeting_start_the_room_reports_is_used_when_plausible(database):
    rig = Rig(database)
    rig.message("h0104", "availability", b"online", retained=True)
    rig.message("h0104", "state", state("in_meeting", meeting={**MEETING, "since": T0 - 1800}), retained=True)
    rig.message("h0104", "state", state("in_meeting", meeting={**MEETING, "host": "b", "since": T0 + 10 * DAY}),
                advance=60)  # a room clock in the future is not believed
    assert [m[2] for m in rig.record().meetings] == [T0 - 1800, T0 + 60]
    rig.history.stop()


def test_retention_deletes_old_rows_but_keeps_what_the_window_starts_with(database):
    store = HistoryStore(database)
    store.open()
    old, new = T0 - 40 * DAY, T0 - DAY
    store.write([Op("availability", "a", old, "online"), Op("availability", "a", old + 10, "offline"),
                 Op("availability", "a", new, "online"), Op("meeting_start", "a", old, text="bbb", host="h"),
                 Op("meeting_end", "a", old + 60), Op("incident_start", "a", old, "offline", "offline"),
                 Op("incident_end", "a", old + 10, "offline"), Op("incident_start", "a", old + 20, "host", "host"),
                 Op("meeting_start", "a", new, text="bbb", host="h")])
    deleted = store.purge(T0 - 30 * DAY)
    assert deleted == 3  # the first availability row, the old meeting, the old finished incident
    record = store.room_record("a", T0 - 35 * DAY)
    assert record.availability == [(old + 10, "offline"), (new, "online")]
    assert [m[2] for m in record.meetings] == [new]
    assert [(k, e) for k, _, _, e in record.incidents] == [("host", None)]  # still open: kept
    store.close()


def test_a_database_of_a_newer_schema_or_of_another_kind_is_refused_in_words(database, tmp_path):
    store = HistoryStore(database)
    store.open()
    with store.engine.begin() as db:
        db.execute(store.schema.meta.update().values(value="99"))
    store.close()
    with pytest.raises(HistoryError, match="has schema 99; this dashboard reads schema 1"):
        HistoryStore(database).open()
    with pytest.raises(HistoryError, match="'mysql' is not supported"):
        HistoryStore("mysql://root@127.0.0.1/fleet")
    with pytest.raises(HistoryError, match="does not exist"):
        HistoryStore(str(tmp_path / "missing" / "h.sqlite")).open()


def test_an_unreachable_postgresql_is_a_clear_error():
    with pytest.raises(HistoryError, match="cannot open the history database postgresql"):
        HistoryStore("postgresql://postgres@127.0.0.1:1/nowhere").open()


def test_history_settings_are_checked_with_their_key_path(tmp_path):
    with pytest.raises(ValueError, match=r"history.retention_days\n  Input should be greater than or equal to 8"):
        FleetSettings.model_validate({"mqtt": {"url": "mqtt://127.0.0.1:1"}, "web": {}, "auth": {},
                                      "history": {"database": str(tmp_path / "h.sqlite"), "retention_days": 2}})
    with pytest.raises(ValueError, match="folder .* does not exist"):
        HistorySection(database=str(tmp_path / "no" / "h.sqlite"))
    with pytest.raises(ValueError, match="not supported"):
        HistorySection(database="redis://127.0.0.1/0")


def test_plots_and_summary_from_a_record(database):
    rig = Rig(database)
    rig.message("h0104", "availability", b"online", retained=True)
    rig.message("h0104", "state", state("idle", screens=[("left", "failed")]), retained=True)
    rig.message("h0104", "state", state("in_meeting", meeting=MEETING), advance=3600)
    rig.message("h0104", "availability", b"offline", advance=3600)
    rig.message("h0104", "availability", b"online", advance=1800)
    rig.now += 1800  # the plot is drawn half an hour after the room came back
    view = room_view(rig.record(), rig.now)
    parts = [r.part for r in view.day.rects]
    assert parts.count("offline") == 1 and parts.count("meeting") == 1 and parts.count("problem") == 1
    offline = next(r for r in view.day.rects if r.part == "offline")
    online = [r for r in view.day.rects if r.part == "online"]
    assert online[0].x < offline.x < online[1].x and offline.w == pytest.approx(online[1].w)  # 30 min each
    assert view.uptime_day == pytest.approx(100 * 9000 / 10800)
    assert "online 83.3% of the known time, 1 meeting" in view.day.label
    rig.fleet.apply("h0104", "state", json.dumps(state("idle")).encode(), retained=False, now=rig.now)
    incidents, availability = rig.history.store.incidents_since(rig.now - 14 * DAY), \
        rig.history.store.availability_since(rig.now - WEEK)
    summary = fleet_summary(rig.fleet, incidents, availability, rig.now)
    assert summary.by_version == [("1.2.3", 1)] and summary.by_engine == [("qtwebengine", 1)]
    assert sum(p.get("offline", 0) for _, p in summary.problems_per_day) == 1
    assert sum(p.get("screen", 0) for _, p in summary.problems_per_day) == 1
    assert summary.worst == [("h0104", "Lecture hall 1.04", pytest.approx(100 * 9000 / 10800))]
    rig.history.stop()


def test_the_running_history_applies_its_retention(tmp_path):
    store = HistoryStore(str(tmp_path / "h.sqlite"))
    store.open()
    store.write([Op("availability", "old", T0 - 20 * DAY, "online"), Op("availability", "old", T0 - 19 * DAY, "offline"),
                 Op("incident_start", "old", T0 - 19 * DAY, "offline", "offline"),
                 Op("incident_end", "old", T0 - 18 * DAY, "offline")])
    store.close()
    history = History(str(tmp_path / "h.sqlite"), 8, clock=lambda: T0)
    history.start()
    fleet = Fleet([])
    history.observe(fleet.apply("h0104", "availability", b"online", retained=True, now=T0), T0)
    history.flush()  # the writer deletes what is older than 8 days once an hour, the first time now
    record = history.store.room_record("old", T0 - 30 * DAY)
    assert record.availability == [(T0 - 19 * DAY, "offline")] and record.incidents == []
    history.stop()


def test_changes_wait_while_the_database_cannot_be_written_and_nothing_is_lost(tmp_path):
    path = tmp_path / "h.sqlite"
    history = History(str(path), 30, clock=lambda: T0)
    history.start()
    fleet = Fleet([])
    blocker = sqlite3.connect(path, timeout=0, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database (as a PostgreSQL restart would)
    try:
        history.observe(fleet.apply("h0104", "availability", b"online", retained=True, now=T0), T0)
        history.flush()  # the writer tried (SQLite's busy timeout) and failed: the change waits in memory
        assert blocker.execute("SELECT count(*) FROM fleet_availability").fetchone() == (0,)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    history.observe(fleet.apply("h0104", "availability", b"offline", retained=False, now=T0 + 1), T0 + 1)
    history.flush()
    assert history.store.room_record("h0104", T0 - DAY).availability == [(T0, "online"), (T0 + 1, "offline")]
    history.stop()

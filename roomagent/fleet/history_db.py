"""The history database (SQLAlchemy Core): SQLite by default, PostgreSQL by a URL. Blocking calls, made
from the history's writer thread or through ``asyncio.to_thread``, never on the event loop.

Three tables, all times in seconds since the epoch (UTC), room ids as the rooms publish them:

- ``fleet_availability``: one row per change the dashboard saw (``online``, ``offline``, or ``unknown``
  from the moment the dashboard stopped until it saw the room again);
- ``fleet_meetings``: platform, host, start and end of each meeting (never its id or URL);
- ``fleet_incidents``: one row per incident (conditions.py names the kinds), its words, start, end, and
  whether an alert went out for it (so a restart does not alert twice).

``fleet_meta`` holds the schema version: a database written by a newer dashboard is refused with a clear
message instead of being misread.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

SCHEMA_VERSION = 1
#: Incidents listed per room.
LAST_INCIDENTS = 20



def _id_column() -> sa.Column:
    """A table's row id: BIGINT on PostgreSQL, INTEGER on SQLite (whose INTEGER PRIMARY KEY is its rowid)."""
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)

class HistoryError(Exception):
    """The history database cannot be used; the message says why in the operator's words."""


def database_url(value: str) -> sa.URL:
    """``value`` as an SQLAlchemy URL: a path is an SQLite file; ``postgresql://`` uses psycopg 3."""
    if "://" not in value:
        return sa.URL.create("sqlite+pysqlite", database=str(Path(value)))
    try:
        url = make_url(value)
    except ArgumentError:
        raise HistoryError(f"{value!r} is not a database URL (a file path, or postgresql://user@host/db)") from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg")
    if url.drivername in ("sqlite", "sqlite+pysqlite"):
        return url.set(drivername="sqlite+pysqlite")
    raise HistoryError(f"database {url.drivername!r} is not supported: use a file path (SQLite) or postgresql://")


class Schema:
    """The tables (built per store: no module-level mutable metadata)."""

    def __init__(self) -> None:
        self.metadata = md = sa.MetaData()
        self.meta = sa.Table("fleet_meta", md, sa.Column("key", sa.String(32), primary_key=True),
                             sa.Column("value", sa.String(64), nullable=False))
        self.availability = sa.Table(
            "fleet_availability", md,
            _id_column(),
            sa.Column("room", sa.String(64), nullable=False),
            sa.Column("at", sa.Double, nullable=False),
            sa.Column("value", sa.String(16), nullable=False),
            sa.Index("ix_fleet_availability_room_at", "room", "at"))
        self.meetings = sa.Table(
            "fleet_meetings", md,
            _id_column(),
            sa.Column("room", sa.String(64), nullable=False),
            sa.Column("platform", sa.String(32), nullable=False),
            sa.Column("host", sa.String(120), nullable=False),
            sa.Column("started", sa.Double, nullable=False),
            sa.Column("ended", sa.Double, nullable=True),
            sa.Index("ix_fleet_meetings_room_started", "room", "started"))
        self.incidents = sa.Table(
            "fleet_incidents", md,
            _id_column(),
            sa.Column("room", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(80), nullable=False),
            sa.Column("text", sa.String(300), nullable=False),
            sa.Column("started", sa.Double, nullable=False),
            sa.Column("ended", sa.Double, nullable=True),
            sa.Column("alerted", sa.Boolean, nullable=False, default=False),
            sa.Index("ix_fleet_incidents_room_started", "room", "started"),
            sa.Index("ix_fleet_incidents_started", "started"))


@dataclass(frozen=True)
class Op:
    """One change to write: ``what`` is availability | meeting_start | meeting_end | incident_start |
    incident_end | incident_alerted."""

    what: str
    room: str
    at: float
    value: str = ""  # availability value, or the incident kind
    text: str = ""  # incident words, or the meeting platform
    host: str = ""


@dataclass
class OpenRoom:
    """What was still going on for one room when the dashboard last wrote: read back at start."""

    availability: str | None = None
    availability_at: float | None = None
    meeting: tuple[str, str] | None = None
    meeting_started: float | None = None
    incidents: dict[str, tuple[str, float, bool]] = field(default_factory=dict)  # kind -> text, started, alerted


@dataclass(frozen=True)
class RoomRecord:
    """One room's history in a window: availability changes (the last one before the window first),
    meetings overlapping it, and its last incidents (newest first)."""

    availability: list[tuple[float, str]]
    meetings: list[tuple[str, str, float, float | None]]
    incidents: list[tuple[str, str, float, float | None]]


class HistoryStore:
    """The database behind the history: open (creating the tables), write batches, read, purge."""

    def __init__(self, url: str) -> None:
        self.url = database_url(url)
        self.schema = Schema()
        self.engine: Engine | None = None

    @property
    def where(self) -> str:
        """The database without its password, for log lines and pages."""
        return self.url.render_as_string(hide_password=True)

    def open(self) -> None:
        """Connect, create missing tables, check the schema version; HistoryError on any problem."""
        sqlite = self.url.get_backend_name() == "sqlite"
        if sqlite and self.url.database and not Path(self.url.database).parent.is_dir():
            raise HistoryError(f"folder {Path(self.url.database).parent} does not exist")
        try:
            engine = sa.create_engine(self.url, pool_pre_ping=not sqlite)
        except ImportError:  # psycopg is an extra: a server on SQLite does not need it
            raise HistoryError("PostgreSQL needs psycopg 3: pip install 'roomagent[postgres]'") from None
        if sqlite:
            # WAL: pages read while the writer thread writes; NORMAL sync is safe with WAL.
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        try:
            self.schema.metadata.create_all(engine)
            with engine.begin() as db:
                row = db.execute(sa.select(self.schema.meta.c.value)
                                 .where(self.schema.meta.c.key == "schema")).scalar_one_or_none()
                if row is None:
                    db.execute(self.schema.meta.insert().values(key="schema", value=str(SCHEMA_VERSION)))
                elif row != str(SCHEMA_VERSION):
                    raise HistoryError(f"the history database {self.where} has schema {row}; this dashboard "
                                       f"reads schema {SCHEMA_VERSION} (a newer dashboard wrote it?)")
        except SQLAlchemyError as exc:
            engine.dispose()
            raise HistoryError(f"cannot open the history database {self.where}: {_why(exc)}") from None
        except HistoryError:
            engine.dispose()
            raise
        self.engine = engine

    def close(self) -> None:
        """Close every connection."""
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def write(self, ops: Iterable[Op]) -> None:
        """Write a batch of changes in one transaction. Runs of inserts go as one executemany each (a fleet
        reconnecting is thousands of rows); an update first writes the inserts before it, so order holds."""
        s = self.schema
        inserts: dict[sa.Table, list[dict]] = {}

        def insert_now() -> None:
            for table, rows in inserts.items():
                db.execute(table.insert(), rows)
            inserts.clear()

        with self._engine().begin() as db:
            for op in ops:
                if op.what == "availability":
                    inserts.setdefault(s.availability, []).append({"room": op.room, "at": op.at, "value": op.value})
                elif op.what == "meeting_start":
                    inserts.setdefault(s.meetings, []).append({"room": op.room, "platform": op.text[:32],
                                                               "host": op.host[:120], "started": op.at,
                                                               "ended": None})
                elif op.what == "incident_start":
                    inserts.setdefault(s.incidents, []).append({"room": op.room, "kind": op.value,
                                                                "text": op.text[:300], "started": op.at,
                                                                "ended": None, "alerted": False})
                elif op.what == "meeting_end":
                    insert_now()
                    db.execute(s.meetings.update().where(s.meetings.c.room == op.room, s.meetings.c.ended.is_(None))
                               .values(ended=op.at))
                elif op.what in ("incident_end", "incident_alerted"):
                    insert_now()
                    values = {"ended": op.at} if op.what == "incident_end" else {"alerted": True}
                    db.execute(s.incidents.update().where(s.incidents.c.room == op.room, s.incidents.c.kind == op.value,
                                                          s.incidents.c.ended.is_(None)).values(**values))
            insert_now()

    def open_rooms(self) -> dict[str, OpenRoom]:
        """Per room: its last availability, its open meeting and open incidents."""
        s = self.schema
        rooms: dict[str, OpenRoom] = {}
        with self._engine().connect() as db:
            last = sa.select(s.availability.c.room, sa.func.max(s.availability.c.id).label("id")) \
                .group_by(s.availability.c.room).subquery()
            for room, value, at in db.execute(sa.select(s.availability.c.room, s.availability.c.value,
                                                        s.availability.c.at)
                                              .join(last, last.c.id == s.availability.c.id)):
                rooms.setdefault(room, OpenRoom()).availability, rooms[room].availability_at = value, at
            for room, platform, host, started in db.execute(
                    sa.select(s.meetings.c.room, s.meetings.c.platform, s.meetings.c.host, s.meetings.c.started)
                    .where(s.meetings.c.ended.is_(None)).order_by(s.meetings.c.started)):
                entry = rooms.setdefault(room, OpenRoom())
                entry.meeting, entry.meeting_started = (platform, host), started
            for room, kind, text, started, alerted in db.execute(
                    sa.select(s.incidents.c.room, s.incidents.c.kind, s.incidents.c.text, s.incidents.c.started,
                              s.incidents.c.alerted).where(s.incidents.c.ended.is_(None))):
                rooms.setdefault(room, OpenRoom()).incidents[kind] = (text, started, bool(alerted))
        return rooms

    def room_record(self, room: str, since: float) -> RoomRecord:
        """``room``'s history from ``since`` on."""
        s = self.schema
        a = s.availability
        with self._engine().connect() as db:
            before = db.execute(sa.select(a.c.at, a.c.value).where(a.c.room == room, a.c.at < since)
                                .order_by(a.c.at.desc(), a.c.id.desc()).limit(1)).all()
            during = db.execute(sa.select(a.c.at, a.c.value).where(a.c.room == room, a.c.at >= since)
                                .order_by(a.c.at, a.c.id)).all()
            meetings = db.execute(sa.select(s.meetings.c.platform, s.meetings.c.host, s.meetings.c.started,
                                            s.meetings.c.ended)
                                  .where(s.meetings.c.room == room,
                                         sa.or_(s.meetings.c.ended.is_(None), s.meetings.c.ended >= since))
                                  .order_by(s.meetings.c.started)).all()
            incidents = db.execute(sa.select(s.incidents.c.kind, s.incidents.c.text, s.incidents.c.started,
                                             s.incidents.c.ended)
                                   .where(s.incidents.c.room == room)
                                   .order_by(s.incidents.c.started.desc(), s.incidents.c.id.desc())
                                   .limit(LAST_INCIDENTS)).all()
        return RoomRecord([tuple(r) for r in before + during], [tuple(r) for r in meetings],
                          [tuple(r) for r in incidents])

    def incidents_since(self, since: float) -> list[tuple[str, str, float, float | None]]:
        """Every incident that began at or after ``since``: room, kind, started, ended."""
        i = self.schema.incidents
        with self._engine().connect() as db:
            return [tuple(r) for r in db.execute(sa.select(i.c.room, i.c.kind, i.c.started, i.c.ended)
                                                 .where(i.c.started >= since).order_by(i.c.started))]

    def availability_since(self, since: float) -> dict[str, list[tuple[float, str]]]:
        """Every room's availability changes from ``since`` on, each with the last one before it."""
        a = self.schema.availability
        out: dict[str, list[tuple[float, str]]] = {}
        with self._engine().connect() as db:
            last = sa.select(a.c.room, sa.func.max(a.c.at).label("at")).where(a.c.at < since) \
                .group_by(a.c.room).subquery()
            rows = db.execute(sa.select(a.c.room, a.c.at, a.c.value)
                              .join(last, sa.and_(last.c.room == a.c.room, last.c.at == a.c.at))).all()
            rows += db.execute(sa.select(a.c.room, a.c.at, a.c.value).where(a.c.at >= since)
                               .order_by(a.c.at, a.c.id)).all()
        for room, at, value in rows:
            out.setdefault(room, []).append((at, value))
        return out

    def purge(self, before: float) -> int:
        """Delete what ended before ``before``; each room keeps its last availability change before it (it
        says what the room was at the start of what is kept). The number of rows deleted."""
        s = self.schema
        a = s.availability
        with self._engine().begin() as db:
            keep = sa.select(sa.func.max(a.c.id)).where(a.c.at < before).group_by(a.c.room).scalar_subquery()
            count = db.execute(a.delete().where(a.c.at < before, a.c.id.not_in(keep))).rowcount
            for table in (s.meetings, s.incidents):
                count += db.execute(table.delete().where(table.c.ended.is_not(None), table.c.ended < before)).rowcount
        return count

    def _engine(self) -> Engine:
        if self.engine is None:
            raise HistoryError("the history database is not open")
        return self.engine


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _why(exc: SQLAlchemyError) -> str:
    """The driver's own words, first line only (no SQL, no parameters)."""
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__

"""The ``readings`` table: the meters' cumulative totals, at the resolution the detector uses.

The detector reads counters as deltas over a day (and the night's floor of a water meter), so
it needs a total every ``reading_interval_s`` (default 15 minutes, what it is tuned and
benchmarked on), not every poll: of each meter's samples in one slot of that length only the
first is kept (``INSERT OR IGNORE`` on the slot). ``0`` keeps every sample.

The table is ordered by time (``WITHOUT ROWID``, key ``(slot, unit_id, kind)``), so each poll's
rows go to the end of the file in a few pages instead of one page per meter: on an SD card the
writes per day are the rows' size, not thousands of scattered index pages per poll. A day is read
in one pass over its slots (:meth:`ReadingsTable.day_window`) and each meter's last total before
the day comes from ``reading_carry``, which each day's close leaves for the next
(:meth:`ReadingsTable.keep_carry`, in the close's transaction), so a meter silent for days still
has its last total, exactly as ``gateway backtest`` keeps it.

Raw readings are telemetry: pruned by age after ``raw_retention_days`` and, when the store
reaches its disk budget, evicted oldest first (``gateway.store.disk_budget``).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, tzinfo

from gateway.core.counters import Reading
from gateway.observations import MeterSample
from gateway.store.database import StoreDatabase

DEFAULT_INTERVAL_S = 900.0
FIRST_CARRY_LOOKBACK = timedelta(hours=36)  # before the first close: look back this far
Windows = dict[str, dict[str, list[Reading]]]  # unit id -> meter kind -> readings


class ReadingsTable:
    def __init__(self, db: StoreDatabase, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._db = db
        self.interval_s = interval_s
        with db.transaction() as conn:
            old = {row[1] for row in conn.execute("PRAGMA table_info(readings)")}
            if old and "slot" not in old:
                conn.execute("ALTER TABLE readings RENAME TO readings_v1")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS readings(slot REAL NOT NULL, unit_id TEXT NOT NULL,"
                " kind TEXT NOT NULL, ts REAL NOT NULL, total REAL NOT NULL,"
                " PRIMARY KEY(slot, unit_id, kind)) WITHOUT ROWID"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS reading_carry(unit_id TEXT NOT NULL,"
                " kind TEXT NOT NULL, at REAL NOT NULL, ts REAL NOT NULL, total REAL NOT NULL,"
                " PRIMARY KEY(unit_id, kind))"
            )
            if old and "slot" not in old:  # a store from before slots: keep its history
                conn.execute(
                    "INSERT OR IGNORE INTO readings(slot, unit_id, kind, ts, total)"
                    f" SELECT {self._slot_sql('ts')}, unit_id, kind, ts, total FROM readings_v1"
                    " WHERE total IS NOT NULL ORDER BY ts"
                )
                conn.execute("DROP TABLE readings_v1")

    def _slot(self, ts: float) -> float:
        return ts if self.interval_s <= 0 else (ts // self.interval_s) * self.interval_s

    def _slot_sql(self, column: str) -> str:
        if self.interval_s <= 0:
            return column
        return f"CAST({column} / {self.interval_s!r} AS INTEGER) * {self.interval_s!r}"

    def add(self, samples: Iterable[MeterSample]) -> int:
        """Keep each sample that is its meter's first in its slot; returns how many were new."""
        rows = [
            (self._slot(s.ts.timestamp()), s.unit_id, s.kind, s.ts.timestamp(), s.total)
            for s in samples
        ]
        with self._db.transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO readings(slot, unit_id, kind, ts, total)"
                " VALUES(?, ?, ?, ?, ?)",
                rows,
            )
            return conn.total_changes - before

    def day_window(self, start: datetime, end: datetime, until: datetime, tz: tzinfo) -> Windows:
        """Every meter's readings from the last at/before ``start`` to the first at/after
        ``end`` (no later than ``until``, the close's own moment: a day closed late after an
        outage sees what a close on time would have seen), in one pass over the day's slots."""
        lo, hi = start.timestamp(), end.timestamp()
        with self._db.reading() as conn:
            carried = _carried(conn, lo)
            since = lo if carried is not None else lo - FIRST_CARRY_LOOKBACK.total_seconds()
            rows = conn.execute(
                "SELECT unit_id, kind, ts, total FROM readings WHERE slot >= ? AND slot <= ?"
                " AND ts <= ? ORDER BY slot",
                (self._slot(since), self._slot(until.timestamp()), until.timestamp()),
            ).fetchall()
        series: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for (unit_id, kind), reading in (carried or {}).items():
            series[unit_id][kind].append(reading)
        for unit_id, kind, ts, total in rows:
            series[unit_id][kind].append((ts, total))
        windows: Windows = {}
        for unit_id, kinds in series.items():
            for kind, readings in kinds.items():
                around = _around(sorted(readings), lo, hi)
                if around:
                    windows.setdefault(unit_id, {})[kind] = [
                        Reading(datetime.fromtimestamp(ts, tz), total) for ts, total in around
                    ]
        return windows

    def keep_carry(self, end: datetime, windows: Mapping[str, Mapping[str, list[Reading]]]) -> None:
        """Remember each meter's last reading at/before ``end`` for the next day's close (call in
        the day close's transaction)."""
        at = end.timestamp()
        rows = []
        for unit_id, kinds in windows.items():
            for kind, readings in kinds.items():
                last = [r for r in readings if r.ts.timestamp() <= at]
                if last:
                    rows.append((unit_id, kind, at, last[-1].ts.timestamp(), last[-1].total))
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO reading_carry(unit_id, kind, at, ts, total)"
                " VALUES(?, ?, ?, ?, ?)",
                rows,
            )

    def between(
        self, unit_id: str, start: datetime, end: datetime, tz: tzinfo
    ) -> dict[str, list[Reading]]:
        """One unit's readings, from the last at/before ``start`` to the first at/after ``end``
        (for tools and tests; the day close reads every unit at once)."""
        lo, hi = start.timestamp(), end.timestamp()
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT kind, ts, total FROM readings WHERE unit_id = ? ORDER BY slot", (unit_id,)
            ).fetchall()
        kinds: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for kind, ts, total in rows:
            kinds[kind].append((ts, total))
        return {
            kind: [
                Reading(datetime.fromtimestamp(ts, tz), total) for ts, total in _around(r, lo, hi)
            ]
            for kind, r in kinds.items()
        }

    def prune(self, older_than: datetime) -> int:
        with self._db.transaction() as conn:
            return conn.execute(
                "DELETE FROM readings WHERE slot < ?", (self._slot(older_than.timestamp()),)
            ).rowcount

    def evict_oldest_slot(self) -> int:
        """Drop the oldest slot's readings (the disk budget's slice); 0 when none are left."""
        with self._db.transaction() as conn:
            return conn.execute(
                "DELETE FROM readings WHERE slot = (SELECT MIN(slot) FROM readings)"
            ).rowcount

    def oldest_time(self) -> float | None:
        with self._db.reading() as conn:
            value = conn.execute("SELECT MIN(slot) FROM readings").fetchone()[0]
        return None if value is None else float(value)


def _carried(
    conn: sqlite3.Connection, at: float
) -> dict[tuple[str, str], tuple[float, float]] | None:
    rows = conn.execute(
        "SELECT unit_id, kind, ts, total FROM reading_carry WHERE at = ?", (at,)
    ).fetchall()
    return {(u, k): (ts, total) for u, k, ts, total in rows} if rows else None


def _around(readings: list[tuple[float, float]], lo: float, hi: float) -> list[tuple[float, float]]:
    """From the last reading at/before ``lo`` to the first at/after ``hi`` (sorted input)."""
    first = 0
    for i, (ts, _) in enumerate(readings):
        if ts <= lo:
            first = i
        else:
            break
    out = []
    for ts, total in readings[first:]:
        out.append((ts, total))
        if ts >= hi:
            break
    return out

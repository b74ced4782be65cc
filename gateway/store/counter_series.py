"""Cumulative counters in time order: the shape both the meters' totals and the lifts' floor
stops are kept in.

The detector reads counters as deltas over a day, so it needs one value every
``interval_s`` (default 15 minutes, what it is tuned and benchmarked on), not every poll: of
each series' samples in one slot only the first is kept (``INSERT OR IGNORE`` on the slot);
``0`` keeps every sample. The table is ordered by time (``WITHOUT ROWID``, key ``(slot, key1,
key2)``), so a poll's rows land at the end of the file in a few pages, instead of one index
page per series per poll: on an SD card, what is written per day is about the rows' size.

A day is read in one pass over its slots (:meth:`CounterSeriesTable.window`). Each series' last
value before the day comes from the ``<table>_carry`` table, which each day's close leaves for
the next (:meth:`CounterSeriesTable.keep_carry`, inside the close's transaction), so a counter
silent for days still has its last value, as ``gateway backtest`` keeps it. Before the first
close (no carry yet) the window looks back ``FIRST_LOOKBACK``.

A table made before slots (a rowid table with a series index) is converted when opened.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from gateway.core.counters import Reading
from gateway.store.database import StoreDatabase

DEFAULT_INTERVAL_S = 900.0
FIRST_LOOKBACK = timedelta(hours=36)

Key = tuple[str | int, str | int]
Row = tuple[str | int, str | int, float, float]  # key1, key2, ts, value
Series = dict[Key, list[Reading]]


@dataclass(frozen=True, slots=True)
class SeriesShape:
    """Which table, which two key columns (name, SQL type) and which value column."""

    table: str
    keys: tuple[tuple[str, str], tuple[str, str]]
    value: str


class CounterSeriesTable:
    def __init__(self, db: StoreDatabase, shape: SeriesShape, interval_s: float) -> None:
        self._db = db
        self._shape = shape
        self.interval_s = interval_s
        (k1, t1), (k2, t2) = shape.keys
        self._k1, self._k2, self._v, self._t = k1, k2, shape.value, shape.table
        with db.transaction() as conn:
            old = {row[1] for row in conn.execute(f"PRAGMA table_info({self._t})")}
            legacy = bool(old) and "slot" not in old
            if legacy:
                conn.execute(f"ALTER TABLE {self._t} RENAME TO {self._t}_v1")
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                    " AND sql IS NOT NULL",
                    (f"{self._t}_v1",),
                ).fetchall():
                    conn.execute(f"DROP INDEX {name}")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._t}(slot REAL NOT NULL, {k1} {t1} NOT NULL,"
                f" {k2} {t2} NOT NULL, ts REAL NOT NULL, {self._v} REAL NOT NULL,"
                f" PRIMARY KEY(slot, {k1}, {k2})) WITHOUT ROWID"
            )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._t}_carry({k1} {t1} NOT NULL,"
                f" {k2} {t2} NOT NULL, at REAL NOT NULL, ts REAL NOT NULL,"
                f" {self._v} REAL NOT NULL, PRIMARY KEY({k1}, {k2}))"
            )
            if legacy:  # keep the history, the first sample of each slot
                conn.execute(
                    f"INSERT OR IGNORE INTO {self._t}(slot, {k1}, {k2}, ts, {self._v})"
                    f" SELECT {self._slot_sql()}, {k1}, {k2}, ts, {self._v} FROM {self._t}_v1"
                    f" WHERE {self._v} IS NOT NULL ORDER BY ts"
                )
                conn.execute(f"DROP TABLE {self._t}_v1")

    def _slot(self, ts: float) -> float:
        return ts if self.interval_s <= 0 else (ts // self.interval_s) * self.interval_s

    def _slot_sql(self) -> str:
        if self.interval_s <= 0:
            return "ts"
        return f"CAST(ts / {self.interval_s!r} AS INTEGER) * {self.interval_s!r}"

    def add(self, rows: Iterable[Row]) -> int:
        """Keep each sample that is its series' first in its slot; how many were new."""
        values = [(self._slot(ts), k1, k2, ts, v) for k1, k2, ts, v in rows]
        with self._db.transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                f"INSERT OR IGNORE INTO {self._t}(slot, {self._k1}, {self._k2}, ts, {self._v})"
                " VALUES(?, ?, ?, ?, ?)",
                values,
            )
            return conn.total_changes - before

    def window(self, start: datetime, end: datetime, until: datetime, tz: tzinfo) -> Series:
        """Every series from its last value at/before ``start`` to its first at/after ``end``
        (none later than ``until``: a day closed late sees what a close on time saw)."""
        lo, hi = start.timestamp(), end.timestamp()
        with self._db.reading() as conn:
            carried = self._carried(conn, lo)
            since = lo if carried else lo - FIRST_LOOKBACK.total_seconds()
            rows = conn.execute(
                f"SELECT {self._k1}, {self._k2}, ts, {self._v} FROM {self._t}"
                " WHERE slot >= ? AND slot <= ? AND ts <= ? ORDER BY slot",
                (self._slot(since), self._slot(until.timestamp()), until.timestamp()),
            ).fetchall()
        series: dict[Key, list[tuple[float, float]]] = defaultdict(list)
        for key, reading in carried.items():
            series[key].append(reading)
        for k1, k2, ts, value in rows:
            series[(k1, k2)].append((ts, value))
        return _windows(series, lo, hi, tz)

    def between(self, start: datetime, end: datetime, tz: tzinfo) -> Series:
        """Every series around ``start``..``end`` over the whole table (tools and tests; the
        day close uses :meth:`window`)."""
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT {self._k1}, {self._k2}, ts, {self._v} FROM {self._t} ORDER BY slot"
            ).fetchall()
        series: dict[Key, list[tuple[float, float]]] = defaultdict(list)
        for k1, k2, ts, value in rows:
            series[(k1, k2)].append((ts, value))
        return _windows(series, start.timestamp(), end.timestamp(), tz)

    def keep_carry(self, end: datetime, windows: Mapping[Key, list[Reading]]) -> None:
        """Remember each series' last value at/before ``end`` for the next day's close."""
        at = end.timestamp()
        rows = []
        for (k1, k2), readings in windows.items():
            before = [r for r in readings if r.ts.timestamp() <= at]
            if before:
                rows.append((k1, k2, at, before[-1].ts.timestamp(), before[-1].total))
        with self._db.transaction() as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO {self._t}_carry({self._k1}, {self._k2}, at, ts,"
                f" {self._v}) VALUES(?, ?, ?, ?, ?)",
                rows,
            )

    def prune(self, older_than: datetime) -> int:
        with self._db.transaction() as conn:
            return conn.execute(
                f"DELETE FROM {self._t} WHERE slot < ?", (self._slot(older_than.timestamp()),)
            ).rowcount

    def evict_oldest_slot(self) -> int:
        """Drop the oldest slot (the disk budget's slice); 0 when the table is empty."""
        with self._db.transaction() as conn:
            return conn.execute(
                f"DELETE FROM {self._t} WHERE slot = (SELECT MIN(slot) FROM {self._t})"
            ).rowcount

    def oldest_time(self) -> float | None:
        with self._db.reading() as conn:
            value = conn.execute(f"SELECT MIN(slot) FROM {self._t}").fetchone()[0]
        return None if value is None else float(value)

    def _carried(self, conn: sqlite3.Connection, at: float) -> dict[Key, tuple[float, float]]:
        rows = conn.execute(
            f"SELECT {self._k1}, {self._k2}, ts, {self._v} FROM {self._t}_carry WHERE at = ?",
            (at,),
        ).fetchall()
        return {(k1, k2): (ts, value) for k1, k2, ts, value in rows}


def _windows(
    series: Mapping[Key, list[tuple[float, float]]], lo: float, hi: float, tz: tzinfo
) -> Series:
    out: Series = {}
    for key, readings in series.items():
        around = _around(sorted(readings), lo, hi)
        if around:
            out[key] = [Reading(datetime.fromtimestamp(ts, tz), value) for ts, value in around]
    return out


def _around(readings: list[tuple[float, float]], lo: float, hi: float) -> list[tuple[float, float]]:
    """From the last reading at/before ``lo`` to the first at/after ``hi`` (sorted input)."""
    first = 0
    for i, (ts, _) in enumerate(readings):
        if ts > lo:
            break
        first = i
    out = []
    for reading in readings[first:]:
        out.append(reading)
        if reading[0] >= hi:
            break
    return out

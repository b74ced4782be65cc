"""The lifts' floor-stop counters in the gateway's store: one table beside the meter readings.

``elevator_stops`` keeps every counter as polled (lift, floor, time, cumulative stops), exactly
like ``readings`` keeps the meters' totals, and is pruned with them. The day closer reads back,
per floor and lift, the counters around one day and turns them into the day's stops with the
same core function ``gateway backtest`` uses.

Lift counters are telemetry: when the store reaches its disk budget they are evicted oldest
first (``gateway.store.disk_budget``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo

from gateway.core.counters import Reading
from gateway.observations import ElevatorSample
from gateway.store.database import StoreDatabase

FloorCounters = dict[int, dict[str, list[Reading]]]  # floor -> elevator id -> readings


class LiftCounterTable:
    def __init__(self, db: StoreDatabase) -> None:
        self._db = db
        with db.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS elevator_stops(elevator_id TEXT NOT NULL,"
                " floor INTEGER NOT NULL, ts FLOAT NOT NULL, stops_total FLOAT NOT NULL)"
            )
            conn.execute(
                "CREATE INDEX IF NOT EXISTS idx_elevator_stops_series"
                " ON elevator_stops(elevator_id, floor, ts)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS idx_elevator_stops_ts ON elevator_stops(ts)")

    def add(self, samples: Iterable[ElevatorSample]) -> int:
        rows = [(s.elevator_id, s.floor, s.ts.timestamp(), s.stops_total) for s in samples]
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO elevator_stops(elevator_id, floor, ts, stops_total)"
                " VALUES(?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def between(self, start: datetime, end: datetime, tz: tzinfo) -> FloorCounters:
        """Every stored counter, by floor and lift, from its last reading at/before ``start``
        to its first at/after ``end`` (what a day's stops are computed from)."""
        lo, hi = start.timestamp(), end.timestamp()
        out: FloorCounters = {}
        with self._db.reading() as conn:
            series = conn.execute(
                "SELECT DISTINCT elevator_id, floor FROM elevator_stops ORDER BY floor, elevator_id"
            ).fetchall()
            for elevator_id, floor in series:
                rows = conn.execute(
                    "SELECT ts, stops_total FROM elevator_stops WHERE elevator_id = ?"
                    " AND floor = ? AND ts >= COALESCE((SELECT MAX(ts) FROM elevator_stops"
                    "  WHERE elevator_id = ? AND floor = ? AND ts <= ?), ?)"
                    " AND ts <= COALESCE((SELECT MIN(ts) FROM elevator_stops"
                    "  WHERE elevator_id = ? AND floor = ? AND ts >= ?), ?) ORDER BY ts",
                    (elevator_id, floor, elevator_id, floor, lo, lo, elevator_id, floor, hi, hi),
                ).fetchall()
                if rows:
                    out.setdefault(floor, {})[elevator_id] = list(_readings(rows, tz))
        return out

    def prune(self, older_than: datetime) -> int:
        with self._db.transaction() as conn:
            return conn.execute(
                "DELETE FROM elevator_stops WHERE ts < ?", (older_than.timestamp(),)
            ).rowcount


def _readings(rows: Iterable[tuple[float, float]], tz: tzinfo) -> Iterator[Reading]:
    for ts, total in rows:
        yield Reading(datetime.fromtimestamp(ts, tz), total)

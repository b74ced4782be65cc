"""The ``readings`` table: raw cumulative meter totals as polled.

One row per sample (unit, meter kind, time, total). The day closer reads back, per unit, the
readings around one day (the last at or before its start to the first at or after its end) and
the pure core turns them into the day's use. Raw readings are telemetry: pruned by age after
``raw_retention_days`` and, when the store reaches its disk budget, evicted oldest first
(``gateway.store.disk_budget``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

from gateway.core.counters import Reading
from gateway.observations import MeterSample
from gateway.store.database import StoreDatabase


class ReadingsTable:
    def __init__(self, db: StoreDatabase) -> None:
        self._db = db
        with db.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS readings(unit_id TEXT, kind TEXT, ts FLOAT,"
                " total FLOAT)"
            )
            conn.execute(
                "CREATE INDEX IF NOT EXISTS idx_readings_unit_id_kind_ts"
                " ON readings(unit_id, kind, ts)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS idx_readings_ts ON readings(ts)")

    def add(self, samples: Iterable[MeterSample]) -> int:
        rows = [(s.unit_id, s.kind, s.ts.timestamp(), s.total) for s in samples]
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO readings(unit_id, kind, ts, total) VALUES(?, ?, ?, ?)", rows
            )
        return len(rows)

    def between(
        self, unit_id: str, start: datetime, end: datetime, tz: tzinfo
    ) -> dict[str, list[Reading]]:
        """One unit's readings, from the last at/before ``start`` to the first at/after ``end``."""
        lo, hi = start.timestamp(), end.timestamp()
        out: dict[str, list[Reading]] = {}
        with self._db.reading() as conn:
            kinds = [
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT kind FROM readings WHERE unit_id = ?", (unit_id,)
                )
            ]
            for kind in kinds:
                rows = conn.execute(
                    "SELECT ts, total FROM readings WHERE unit_id = ? AND kind = ? AND ts >= "
                    " COALESCE((SELECT MAX(ts) FROM readings WHERE unit_id = ? AND kind = ?"
                    "  AND ts <= ?), ?) AND ts <= COALESCE((SELECT MIN(ts) FROM readings"
                    "  WHERE unit_id = ? AND kind = ? AND ts >= ?), ?) ORDER BY ts",
                    (unit_id, kind, unit_id, kind, lo, lo, unit_id, kind, hi, hi),
                ).fetchall()
                out[kind] = [Reading(datetime.fromtimestamp(ts, tz), total) for ts, total in rows]
        return out

    def prune(self, older_than: datetime) -> int:
        with self._db.transaction() as conn:
            return conn.execute(
                "DELETE FROM readings WHERE ts < ?", (older_than.timestamp(),)
            ).rowcount

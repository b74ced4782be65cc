"""The units' door events in the gateway's store: one table beside the meter readings.

``lock_events`` keeps every door event of the smart locks (unit, lock, source, the lock's own
sequence, time, event, method) with pseudonymised credentials only: the raw key id never
reaches this module (``gateway.ble.credentials``). An event already kept (same lock, source,
sequence and time) is skipped, so a re-read event log or a repeated advertisement adds nothing.
For a lock read over its GATT event log, ``meta`` keeps the last sequence kept, where the next
read resumes. Events are kept as long as raw readings, and pruned with them.

Lock events are telemetry: when the store reaches its disk budget they are evicted oldest first
(``gateway.store.disk_budget``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

from gateway.core.lock_activity import LockEvent
from gateway.observations import StoredLockEvent
from gateway.store.database import StoreDatabase


class LockEventTable:
    def __init__(self, db: StoreDatabase) -> None:
        self._db = db
        with db.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS lock_events(unit_id TEXT NOT NULL,"
                " lock_mac TEXT NOT NULL, source TEXT NOT NULL, seq INTEGER NOT NULL,"
                " ts FLOAT NOT NULL, event TEXT NOT NULL, method TEXT, credential TEXT NOT NULL)"
            )
            conn.execute(
                "CREATE UNIQUE INDEX IF NOT EXISTS idx_lock_events_lock_mac_source_seq_ts"
                " ON lock_events(lock_mac, source, seq, ts)"
            )
            conn.execute(
                "CREATE INDEX IF NOT EXISTS idx_lock_events_unit_id_ts ON lock_events(unit_id, ts)"
            )

    def add(self, events: Iterable[StoredLockEvent]) -> int:
        """Keep ``events``; one already kept (same lock, source, sequence and time) is skipped.
        Returns how many were new. Advances each event-log lock's resume point."""
        added = 0
        with self._db.transaction() as conn:
            for e in events:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO lock_events(unit_id, lock_mac, source, seq, ts, event,"
                    " method, credential) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                    (e.unit_id, e.lock_mac, e.source, e.seq, e.ts.timestamp(), e.event, e.method,
                     e.credential),
                )  # fmt: skip
                added += cursor.rowcount
                if e.source == "gatt":
                    key = f"lock_log_seq:{e.lock_mac}"
                    self._db.set_meta(key, str(max(e.seq, int(self._db.meta(key) or "0"))))
        return added

    def log_position(self, lock_mac: str) -> int:
        """The last event-log sequence kept from ``lock_mac`` (0 before the first)."""
        return int(self._db.meta(f"lock_log_seq:{lock_mac}") or "0")

    def between(self, unit_id: str, start: datetime, end: datetime, tz: tzinfo) -> list[LockEvent]:
        """The unit's door events with ``start <= ts < end``, oldest first."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT ts, event, credential FROM lock_events WHERE unit_id = ? AND ts >= ?"
                " AND ts < ? ORDER BY ts",
                (unit_id, start.timestamp(), end.timestamp()),
            ).fetchall()
        return [LockEvent(datetime.fromtimestamp(ts, tz), event, cred) for ts, event, cred in rows]

    def first_time(self, unit_id: str, tz: tzinfo) -> datetime | None:
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT MIN(ts) FROM lock_events WHERE unit_id = ?", (unit_id,)
            ).fetchone()
        return None if row[0] is None else datetime.fromtimestamp(row[0], tz)

    def prune(self, older_than: datetime) -> int:
        with self._db.transaction() as conn:
            return conn.execute(
                "DELETE FROM lock_events WHERE ts < ?", (older_than.timestamp(),)
            ).rowcount

"""The units' door events in the gateway's store: one table beside the meter readings.

``lock_events`` keeps every door event of the smart locks (unit, lock, source, the lock's own
sequence, time, event, method) with pseudonymised credentials only: the raw key id never
reaches this module (``gateway.ble.credentials``). An event already kept (same lock, source,
sequence and time) is skipped, so a re-read event log or a repeated advertisement adds nothing.
For a lock read over its GATT event log, ``meta`` keeps the last sequence kept, where the next
read resumes. Events are kept as long as raw readings, and pruned with them.

:class:`LockEventTable` is a part of :class:`gateway.store.database.GatewayStore` (same SQLite
connection, same lock and transactions), kept in its own module so the store stays readable.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from gateway.core.lock_activity import LockEvent


@dataclass(frozen=True, slots=True)
class StoredLockEvent:
    """A door event as kept: ``credential`` is a pseudonym (``gateway.ble.credentials``)."""

    unit_id: str
    lock_mac: str
    source: str  # mibeacon, bthome or gatt
    seq: int  # the lock's packet counter or event-log sequence
    ts: datetime
    event: str  # unlock, lock or failed
    method: str
    credential: str


class LockEventTable:
    """The ``lock_events`` table; mixed into the store, which provides the five below."""

    _conn: sqlite3.Connection
    _db: sqlite_utils.Database
    _lock: threading.Lock

    _transaction: Callable[[], AbstractContextManager[None]]
    _meta: Callable[[str], str | None]
    _set_meta: Callable[[str, str], None]

    def _create_lock_event_tables(self) -> None:
        db = self._db
        db["lock_events"].create(
            {
                "unit_id": str,
                "lock_mac": str,
                "source": str,
                "seq": int,
                "ts": float,
                "event": str,
                "method": str,
                "credential": str,
            },
            not_null={"unit_id", "lock_mac", "source", "seq", "ts", "event", "credential"},
            if_not_exists=True,
        )
        db["lock_events"].create_index(
            ["lock_mac", "source", "seq", "ts"], unique=True, if_not_exists=True
        )
        db["lock_events"].create_index(["unit_id", "ts"], if_not_exists=True)

    def add_lock_events(self, events: Iterable[StoredLockEvent]) -> int:
        """Keep ``events``; one already kept (same lock, source, sequence and time) is skipped.
        Returns how many were new. Advances each event-log lock's resume point."""
        added = 0
        with self._transaction():
            for e in events:
                cursor = self._conn.execute(
                    "INSERT OR IGNORE INTO lock_events(unit_id, lock_mac, source, seq, ts, event,"
                    " method, credential) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                    (e.unit_id, e.lock_mac, e.source, e.seq, e.ts.timestamp(), e.event, e.method,
                     e.credential),
                )  # fmt: skip
                added += cursor.rowcount
                if e.source == "gatt":
                    key = f"lock_log_seq:{e.lock_mac}"
                    self._set_meta(key, str(max(e.seq, int(self._meta(key) or "0"))))
        return added

    def lock_log_position(self, lock_mac: str) -> int:
        """The last event-log sequence kept from ``lock_mac`` (0 before the first)."""
        with self._lock:
            return int(self._meta(f"lock_log_seq:{lock_mac}") or "0")

    def lock_events_between(
        self, unit_id: str, start: datetime, end: datetime, tz: Any
    ) -> list[LockEvent]:
        """The unit's door events with ``start <= ts < end``, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT ts, event, credential FROM lock_events WHERE unit_id = ? AND ts >= ?"
                " AND ts < ? ORDER BY ts",
                (unit_id, start.timestamp(), end.timestamp()),
            ).fetchall()
        return [LockEvent(datetime.fromtimestamp(ts, tz), event, cred) for ts, event, cred in rows]

    def first_lock_event_time(self, unit_id: str, tz: Any) -> datetime | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT MIN(ts) FROM lock_events WHERE unit_id = ?", (unit_id,)
            ).fetchone()
        return None if row[0] is None else datetime.fromtimestamp(row[0], tz)

    def prune_lock_events(self, older_than: datetime) -> int:
        with self._transaction():
            cursor = self._conn.execute(
                "DELETE FROM lock_events WHERE ts < ?", (older_than.timestamp(),)
            )
            return cursor.rowcount

"""The gateway's local store: one SQLite file in WAL mode, through sqlite-utils.

Tables:
- ``readings``: raw cumulative meter totals as polled (bounded retention, oldest dropped first);
- ``daily_usage``: one row per unit and day, with the occupancy estimate made from it;
- ``case_states``: the alert decision state per unit and kind, so a restart resumes a case;
- ``lock_events``: door events of the units' smart locks, with pseudonymised credentials only
  (the raw key id never reaches the store); kept as long as raw readings
  (``gateway.store.lock_events``);
- ``elevator_stops``: the lifts' floor-stop counters as polled, kept as long as raw readings
  (``gateway.store.lift_counters``);
- ``outbox``: every signed message until the cloud acknowledges it (never evicted;
  ``gateway.store.outbox``);
- ``meta``: boot epoch, message counter, last day closed, each event-log lock's last sequence.

This module holds the connection, the transactions, ``meta``, the readings, the daily results
and the case states; the three tables named with a module are mixed into :class:`GatewayStore`
from there. Methods are synchronous and guarded by one lock; the asyncio shell calls them
through ``asyncio.to_thread`` so the event loop never waits on the disk.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from gateway.core.counters import Reading
from gateway.store.lift_counters import ElevatorCounterTable
from gateway.store.lock_events import LockEventTable
from gateway.store.outbox import OutboxTable
from gateway.wire.signer import Sequence as MessageSequence


@dataclass(frozen=True, slots=True)
class MeterSample:
    unit_id: str
    kind: str
    ts: datetime
    total: float


class GatewayStore(ElevatorCounterTable, LockEventTable, OutboxTable):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db = sqlite_utils.Database(self._conn)
        self._db.enable_wal()
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.Lock()
        self._create_tables()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Hold the lock and run the block as one SQLite transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _create_tables(self) -> None:
        db = self._db
        db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
        db["readings"].create(
            {"unit_id": str, "kind": str, "ts": float, "total": float}, if_not_exists=True
        )
        db["readings"].create_index(["unit_id", "kind", "ts"], if_not_exists=True)
        db["readings"].create_index(["ts"], if_not_exists=True)
        db["daily_usage"].create(
            {
                "unit_id": str,
                "day": str,
                "water_m3": float,
                "electricity_kwh": float,
                "gas_m3": float,
                "estimate_point": float,
                "estimate_low": float,
                "estimate_high": float,
                "legal_cap": int,
                "flags": str,
            },
            pk=("unit_id", "day"),
            if_not_exists=True,
        )
        self._create_lock_event_tables()
        db["case_states"].create(
            {"unit_id": str, "kind": str, "state": str}, pk=("unit_id", "kind"), if_not_exists=True
        )
        self._create_outbox_table()
        self._create_elevator_tables()

    def _upsert(self, table: str, row: Mapping[str, Any]) -> None:
        # Plain SQL inside our own transaction: sqlite-utils' write helpers commit on their own.
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self._conn.execute(
            f"INSERT OR REPLACE INTO {table}({columns}) VALUES({marks})", tuple(row.values())
        )

    # -- meta and sequence -------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def start_boot_epoch(self) -> int:
        """Begin a new boot epoch (called once per daemon start) and reset the counter."""
        with self._transaction():
            epoch = int(self._meta("boot_epoch") or "0") + 1
            self._set_meta("boot_epoch", str(epoch))
            self._set_meta("counter", "0")
            return epoch

    def next_sequence(self) -> MessageSequence:
        with self._transaction():
            epoch = int(self._meta("boot_epoch") or "0")
            counter = int(self._meta("counter") or "0") + 1
            self._set_meta("counter", str(counter))
            return MessageSequence(epoch, counter)

    def last_closed_day(self) -> date | None:
        with self._lock:
            value = self._meta("last_closed_day")
        return None if value is None else date.fromisoformat(value)

    def set_last_closed_day(self, day: date) -> None:
        with self._transaction():
            self._set_meta("last_closed_day", day.isoformat())

    # -- readings ----------------------------------------------------------------------------
    def add_samples(self, samples: Iterable[MeterSample]) -> int:
        rows = [(s.unit_id, s.kind, s.ts.timestamp(), s.total) for s in samples]
        with self._transaction():
            self._conn.executemany(
                "INSERT INTO readings(unit_id, kind, ts, total) VALUES(?, ?, ?, ?)", rows
            )
        return len(rows)

    def readings_between(
        self, unit_id: str, start: datetime, end: datetime, tz: Any
    ) -> dict[str, list[Reading]]:
        """One unit's readings, from the last at/before ``start`` to the first at/after ``end``."""
        lo, hi = start.timestamp(), end.timestamp()
        out: dict[str, list[Reading]] = {}
        with self._lock:
            kinds = [
                r[0]
                for r in self._conn.execute(
                    "SELECT DISTINCT kind FROM readings WHERE unit_id = ?", (unit_id,)
                )
            ]
            for kind in kinds:
                rows = self._conn.execute(
                    "SELECT ts, total FROM readings WHERE unit_id = ? AND kind = ? AND ts >= "
                    " COALESCE((SELECT MAX(ts) FROM readings WHERE unit_id = ? AND kind = ?"
                    "  AND ts <= ?), ?) AND ts <= COALESCE((SELECT MIN(ts) FROM readings"
                    "  WHERE unit_id = ? AND kind = ? AND ts >= ?), ?) ORDER BY ts",
                    (unit_id, kind, unit_id, kind, lo, lo, unit_id, kind, hi, hi),
                ).fetchall()
                out[kind] = [Reading(datetime.fromtimestamp(ts, tz), total) for ts, total in rows]
        return out

    def prune_readings(self, older_than: datetime) -> int:
        with self._transaction():
            cursor = self._conn.execute(
                "DELETE FROM readings WHERE ts < ?", (older_than.timestamp(),)
            )
            return cursor.rowcount

    # -- daily results and case state --------------------------------------------------------
    def save_daily_usage(self, rows: Sequence[Mapping[str, Any]]) -> None:
        with self._transaction():
            for row in rows:
                self._upsert("daily_usage", row)

    def case_state(self, unit_id: str, kind: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT state FROM case_states WHERE unit_id = ? AND kind = ?", (unit_id, kind)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save_case_state(self, unit_id: str, kind: str, state: Mapping[str, Any]) -> None:
        with self._transaction():
            self._conn.execute(
                "INSERT INTO case_states(unit_id, kind, state) VALUES(?, ?, ?)"
                " ON CONFLICT(unit_id, kind) DO UPDATE SET state = excluded.state",
                (unit_id, kind, json.dumps(state, sort_keys=True)),
            )

    def open_case_count(self) -> int:
        with self._lock:
            rows = self._conn.execute("SELECT state FROM case_states").fetchall()
        return sum(1 for (state,) in rows if json.loads(state).get("phase") in {"open", "clearing"})

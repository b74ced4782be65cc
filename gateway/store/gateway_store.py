"""The gateway's local store: one SQLite file, one database object, one small class per table.

- ``readings``: raw cumulative meter totals as polled (``gateway.store.readings``);
- ``lock_events``: the smart locks' door events, pseudonymised (``gateway.store.lock_events``);
- ``elevator_stops``: the lifts' floor-stop counters (``gateway.store.lift_counters``);
- ``daily_usage`` and ``case_states``: what each closed day found, and every case's decision
  state (``gateway.store.daily_results``);
- ``outbox``: every alert until the cloud acknowledges it (``gateway.store.outbox``);
- ``meta``: the boot identity and message counter (``gateway.store.sequence``), the last day
  closed, each event-log lock's resume point.

The first three are telemetry: pruned by age and, at the disk budget, evicted oldest first
(``gateway.store.disk_budget``). Alerts and unacknowledged messages are never evicted.
A unit of work spanning tables runs in one ``with store.transaction():``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from gateway.store.daily_results import CaseStateTable, DailyUsageTable
from gateway.store.database import StoreDatabase
from gateway.store.lift_counters import LiftCounterTable
from gateway.store.lock_events import LockEventTable
from gateway.store.outbox import OutboxTable
from gateway.store.readings import DEFAULT_INTERVAL_S, ReadingsTable
from gateway.store.sequence import SequenceTable

LAST_CLOSED_DAY = "last_closed_day"


class GatewayStore:
    def __init__(self, path: Path, *, reading_interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.db = StoreDatabase(path)
        self.db.create_meta_table()
        self.readings = ReadingsTable(self.db, reading_interval_s)
        self.lock_events = LockEventTable(self.db)
        self.lifts = LiftCounterTable(self.db)
        self.usage = DailyUsageTable(self.db)
        self.cases = CaseStateTable(self.db)
        self.outbox = OutboxTable(self.db)
        self.sequence = SequenceTable(self.db)

    @property
    def path(self) -> Path:
        return self.db.path

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.db.transaction() as conn:
            yield conn

    def last_closed_day(self) -> date | None:
        value = self.db.meta(LAST_CLOSED_DAY)
        return None if value is None else date.fromisoformat(value)

    def set_last_closed_day(self, day: date) -> None:
        self.db.set_meta(LAST_CLOSED_DAY, day.isoformat())

    def close(self) -> None:
        self.db.close()

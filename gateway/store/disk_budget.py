"""The store's disk budget: telemetry gives way, alerts never do.

``[store] max_bytes`` caps the live bytes of the SQLite file. When a check finds the store over
it, telemetry is evicted oldest first, a slice of rows at a time, until it fits: acknowledged
outbox rows (history), then the oldest of the meter readings (a slot at a time), lift counters
and lock events.
After each slice the write-ahead log is emptied and free pages are given back. Daily results, case
states, unacknowledged messages and the alerts in the outbox are never evicted.

A filesystem can fill up before the budget is reached (other files, a small card). For that the
store keeps a reserve file of ``reserve_bytes`` beside the database: on a full disk the reserve is
deleted, which leaves room for SQLite to evict telemetry and to keep the day's alerts, and it is
made again once there is room. The shell says so once, with SQLite's own error.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from gateway.store.gateway_store import GatewayStore

log = logging.getLogger(__name__)

SLICE_ROWS = 2000
MAX_SLICES = 100_000  # a bound on one check, far beyond any store's history


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    used_bytes: int
    evicted_rows: int

    @property
    def evicted(self) -> bool:
        return self.evicted_rows > 0


class DiskBudget:
    def __init__(self, store: GatewayStore, max_bytes: int, reserve_bytes: int) -> None:
        self._store = store
        self.max_bytes = max_bytes
        self.reserve_bytes = reserve_bytes
        self.reserve_path = Path(f"{store.path}.reserve")

    def enforce(self, max_bytes: int | None = None) -> BudgetCheck:
        """Evict telemetry until the store fits its budget, or ``max_bytes`` when given (or
        nothing evictable is left)."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        used = self._store.db.used_bytes()
        evicted = 0
        for _ in range(MAX_SLICES):
            if used <= limit:
                break
            removed = self._evict_slice()
            if removed == 0:
                log.warning(
                    "store holds %d bytes, over its budget of %d, and has no telemetry left to"
                    " evict: only alerts and case states remain",
                    used,
                    self.max_bytes,
                )
                break
            evicted += removed
            used = self._store.db.used_bytes()
        if evicted:
            log.info("disk budget: evicted %d telemetry rows, store now %d bytes", evicted, used)
        return BudgetCheck(used, evicted)

    def make_room(self) -> BudgetCheck:
        """On a full disk, within the budget or not: evict the oldest tenth of the store's
        telemetry, so new readings and the day's close find pages to write to."""
        return self.enforce(min(self.max_bytes, self._store.db.used_bytes() * 9 // 10))

    def _evict_slice(self) -> int:
        """Delete a slice of the oldest telemetry (history first), then empty the write-ahead
        log: small slices keep the log small enough to fit on a nearly full disk."""
        removed = self._store.outbox.evict_acknowledged(SLICE_ROWS // 4)
        if not removed:
            series = {"readings": self._store.readings.series, "lifts": self._store.lifts.series}
            candidates = {name: table.oldest_time() for name, table in series.items()}
            with self._store.db.reading() as conn:
                candidates["lock_events"] = conn.execute(
                    "SELECT MIN(ts) FROM lock_events"
                ).fetchone()[0]
            known = {name: ts for name, ts in candidates.items() if ts is not None}
            if not known:
                return 0
            oldest = min(known, key=lambda name: known[name])
            if oldest in series:
                removed = series[oldest].evict_oldest_slot()
            else:
                with self._store.transaction() as conn:
                    removed = conn.execute(
                        "DELETE FROM lock_events WHERE rowid IN (SELECT rowid FROM lock_events"
                        " ORDER BY ts LIMIT ?)",
                        (SLICE_ROWS,),
                    ).rowcount
        self._store.db.give_back_free_pages()
        return removed

    def ensure_reserve(self) -> bool:
        """Make the reserve file if it is missing and the disk has room for it and more."""
        if self.reserve_bytes <= 0:
            return False
        if self.reserve_path.exists():
            return True
        free = shutil.disk_usage(self.reserve_path.parent).free
        if free < 2 * self.reserve_bytes:
            return False
        try:
            with self.reserve_path.open("wb") as f:
                f.write(b"\0" * self.reserve_bytes)  # real blocks, unlike a sparse truncate
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            self.reserve_path.unlink(missing_ok=True)
            return False
        return True

    def release_reserve(self) -> bool:
        """Delete the reserve file (on a full disk); True if there was one."""
        try:
            self.reserve_path.unlink()
        except FileNotFoundError:
            return False
        return True

"""Writes what a live gateway observes as a trace (format v1), for replay with ``backtest``.

A technician records a real building with ``gateway record`` (or ``gateway run --record``) and
later replays it offline. The recorder writes ``units.csv`` and ``trace.toml`` from the
configuration and appends every meter reading to ``meters.csv`` as it is read, in the building's
local time with its UTC offset; a building with smart locks also gets ``locks.csv``, whose
credentials are the gateway's pseudonyms (``backtest`` pseudonymises them once more, harmlessly);
a building with lifts also gets ``elevators.csv``, their per-floor stop counters.

The format wants rows in time order, but buses are polled concurrently, so the readings of one
bus can arrive after later readings of another. The recorder therefore holds rows back for
``hold_back`` (building time) and writes them sorted; a row that still arrives later than what
was written (a bus stalled for longer than that) is dropped and counted, never written out of
order. Re-opening an existing trace appends to it; its ``units.csv`` must describe the same
units, so two buildings are never mixed in one trace.
"""

from __future__ import annotations

import csv
import heapq
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from gateway.config.gateway_file import GatewayConfig
from gateway.errors import ConfigError
from gateway.observations import ElevatorSample, MeterSample, StoredLockEvent

log = logging.getLogger(__name__)

TRACE_FORMAT_VERSION = 1


class _TimeOrderedCsv:
    """One CSV file of a trace, written in time order after a hold-back (see the module)."""

    def __init__(self, path: Path, header: list[str], hold_back: timedelta) -> None:
        self.dropped = 0
        self.written = 0
        self._hold_back = hold_back
        self._pending: list[tuple[datetime, tuple[str, ...]]] = []
        self._last_written: datetime | None = None
        is_new = not path.exists()
        self._file = path.open("a", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file, lineterminator="\n")
        if is_new:
            self._csv.writerow(header)
            self._file.flush()

    def add(self, rows: Iterable[tuple[datetime, tuple[str, ...]]]) -> None:
        latest = None
        for ts, cells in rows:
            heapq.heappush(self._pending, (ts, cells))
            latest = ts if latest is None else max(latest, ts)
        if latest is not None:
            self.flush(until=latest - self._hold_back)

    def flush(self, until: datetime | None) -> None:
        while self._pending and (until is None or self._pending[0][0] <= until):
            ts, cells = heapq.heappop(self._pending)
            if self._last_written is not None and ts < self._last_written:
                self.dropped += 1
                continue
            self._csv.writerow(cells)
            self._last_written = ts
            self.written += 1
        self._file.flush()

    def close(self) -> None:
        self.flush(until=None)
        self._file.close()


class TraceRecorder:
    def __init__(self, directory: Path, config: GatewayConfig, hold_back: timedelta) -> None:
        self.directory = directory
        self._tz = config.gateway.timezone
        directory.mkdir(parents=True, exist_ok=True)
        self._write_units(config)
        self._write_meta(config)
        self._meters = _TimeOrderedCsv(
            directory / "meters.csv", ["ts", "unit_id", "kind", "total"], hold_back
        )
        self._locks = None
        if config.locks:  # only a building with smart locks gets a locks.csv
            self._locks = _TimeOrderedCsv(
                directory / "locks.csv", ["ts", "unit_id", "event", "credential"], hold_back
            )
        self._lifts = None
        if config.elevators:  # only a building with lifts gets an elevators.csv
            self._lifts = _TimeOrderedCsv(
                directory / "elevators.csv",
                ["ts", "elevator_id", "floor", "stops_total"],
                hold_back,
            )

    @property
    def written(self) -> int:
        return self._meters.written

    @property
    def dropped(self) -> int:
        return self._meters.dropped

    @property
    def lock_events_written(self) -> int:
        return 0 if self._locks is None else self._locks.written

    @property
    def elevator_rows_written(self) -> int:
        return 0 if self._lifts is None else self._lifts.written

    def add(self, samples: Iterable[MeterSample | ElevatorSample]) -> None:
        """Polled samples: meter readings, and lift counters when the building has lifts."""
        meters, lifts = [], []
        for s in samples:
            if isinstance(s, MeterSample):
                meters.append((s.ts, (self._local(s.ts), s.unit_id, s.kind, repr(float(s.total)))))
            else:
                stops = str(int(s.stops_total))
                lifts.append((s.ts, (self._local(s.ts), s.elevator_id, str(s.floor), stops)))
        self._meters.add(meters)
        if self._lifts is not None:
            self._lifts.add(lifts)

    def add_lock_events(self, events: Iterable[StoredLockEvent]) -> None:
        """Door events, with their credentials as the pseudonyms the gateway stores."""
        if self._locks is not None:
            self._locks.add(
                (e.ts, (self._local(e.ts), e.unit_id, e.event, e.credential)) for e in events
            )

    def close(self) -> None:
        parts = ((self._meters, "readings"), (self._locks, "lock events"), (self._lifts, "lifts"))
        for part, name in parts:
            if part is None:
                continue
            part.close()
            if part.dropped:
                log.warning("trace %s: %d late %s were dropped", self.directory, part.dropped, name)

    def _local(self, ts: datetime) -> str:
        return ts.astimezone(self._tz).isoformat(timespec="seconds")

    def _write_units(self, config: GatewayConfig) -> None:
        lines = ["unit_id,floor,area_m2,rooms\n"] + [
            f"{u.unit_id},{u.floor},{u.area_m2:g},{u.rooms}\n" for u in config.units
        ]
        path = self.directory / "units.csv"
        text = "".join(lines)
        if path.exists() and path.read_text(encoding="utf-8") != text:
            raise ConfigError(
                f"{path}: records different units than this gateway's configuration;"
                " record into a new directory"
            )
        path.write_text(text, encoding="utf-8")

    def _write_meta(self, config: GatewayConfig) -> None:
        path = self.directory / "trace.toml"
        if path.exists():
            return
        rules = config.rules
        path.write_text(
            f"# Recorded by gateway {config.gateway.id}; trace format v{TRACE_FORMAT_VERSION}.\n"
            f'timezone = "{config.gateway.utc_offset}"\n'
            f'description = "meters of gateway {config.gateway.id}"\n\n'
            "[rules]\n"
            f"max_persons_per_room = {rules.max_persons_per_room}\n"
            f"min_area_m2_per_person = {rules.min_area_m2_per_person}\n",
            encoding="utf-8",
        )

"""Writes what a live gateway observes as a trace (format v1), for replay with ``backtest``.

A technician records a real building with ``gateway record`` (or ``gateway run --record``) and
later replays it offline. The recorder writes ``units.csv`` and ``trace.toml`` from the
configuration and appends every meter reading to ``meters.csv`` as it is read, in the building's
local time with its UTC offset.

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

from gateway.config import GatewayConfig
from gateway.errors import ConfigError
from gateway.store import MeterSample

log = logging.getLogger(__name__)

TRACE_FORMAT_VERSION = 1


class TraceRecorder:
    def __init__(self, directory: Path, config: GatewayConfig, hold_back: timedelta) -> None:
        self.directory = directory
        self.dropped = 0
        self.written = 0
        self._tz = config.gateway.timezone
        self._hold_back = hold_back
        self._pending: list[tuple[datetime, str, str, float]] = []
        self._last_written: datetime | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self._write_units(config)
        self._write_meta(config)
        meters = directory / "meters.csv"
        is_new = not meters.exists()
        self._file = meters.open("a", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file, lineterminator="\n")
        if is_new:
            self._csv.writerow(["ts", "unit_id", "kind", "total"])
            self._file.flush()

    def add(self, samples: Iterable[MeterSample]) -> None:
        latest = None
        for sample in samples:
            heapq.heappush(
                self._pending, (sample.ts, sample.unit_id, sample.kind, float(sample.total))
            )
            latest = sample.ts if latest is None else max(latest, sample.ts)
        if latest is not None:
            self._flush(until=latest - self._hold_back)

    def close(self) -> None:
        self._flush(until=None)
        self._file.close()
        if self.dropped:
            log.warning("trace %s: %d late readings were dropped", self.directory, self.dropped)

    def _flush(self, until: datetime | None) -> None:
        while self._pending and (until is None or self._pending[0][0] <= until):
            ts, unit_id, kind, total = heapq.heappop(self._pending)
            if self._last_written is not None and ts < self._last_written:
                self.dropped += 1
                continue
            self._csv.writerow(
                [ts.astimezone(self._tz).isoformat(timespec="seconds"), unit_id, kind, repr(total)]
            )
            self._last_written = ts
            self.written += 1
        self._file.flush()

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

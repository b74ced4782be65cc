"""The ``readings`` table: the meters' cumulative totals, at the resolution the detector uses.

A :class:`~gateway.store.counter_series.CounterSeriesTable` keyed by unit and meter kind: each
meter's first total per ``[store] reading_interval_s`` slot, in time order, read a day at a time
with each meter's last total carried from the previous close (that module says why).

Raw readings are telemetry: pruned by age after ``raw_retention_days`` and, when the store
reaches its disk budget, evicted oldest first (``gateway.store.disk_budget``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo

from gateway.core.counters import Reading
from gateway.observations import MeterSample
from gateway.store.counter_series import (
    DEFAULT_INTERVAL_S,
    CounterSeriesTable,
    Series,
    SeriesShape,
)
from gateway.store.database import StoreDatabase

SHAPE = SeriesShape("readings", (("unit_id", "TEXT"), ("kind", "TEXT")), "total")
Windows = dict[str, dict[str, list[Reading]]]  # unit id -> meter kind -> readings

__all__ = ["DEFAULT_INTERVAL_S", "ReadingsTable", "Windows"]


class ReadingsTable:
    def __init__(self, db: StoreDatabase, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.series = CounterSeriesTable(db, SHAPE, interval_s)

    def add(self, samples: Iterable[MeterSample]) -> int:
        """Keep each meter's first sample per slot; how many were new."""
        return self.series.add((s.unit_id, s.kind, s.ts.timestamp(), s.total) for s in samples)

    def day_window(self, start: datetime, end: datetime, until: datetime, tz: tzinfo) -> Windows:
        """Every meter's readings around the day, in one pass (see ``CounterSeriesTable``)."""
        return _by_unit(self.series.window(start, end, until, tz))

    def keep_carry(self, end: datetime, windows: Mapping[str, Mapping[str, list[Reading]]]) -> None:
        self.series.keep_carry(
            end,
            {(unit, kind): r for unit, kinds in windows.items() for kind, r in kinds.items()},
        )

    def between(
        self, unit_id: str, start: datetime, end: datetime, tz: tzinfo
    ) -> dict[str, list[Reading]]:
        """One unit's readings around ``start``..``end`` (tools and tests)."""
        return _by_unit(self.series.between(start, end, tz)).get(unit_id, {})

    def prune(self, older_than: datetime) -> int:
        return self.series.prune(older_than)


def _by_unit(series: Series) -> Windows:
    out: Windows = {}
    for (unit_id, kind), readings in series.items():
        out.setdefault(str(unit_id), {})[str(kind)] = readings
    return out

"""The ``elevator_stops`` table: the lifts' floor-stop counters, at the detector's resolution.

A :class:`~gateway.store.counter_series.CounterSeriesTable` keyed by lift and floor, in time
order, a day read at once, each counter's last value carried from the previous close. Unlike the
meters' totals every poll is kept: a building has a few hundred lift counters, not thousands, and
a counter that restarts from zero (a lift terminal or the gateway restarted) would otherwise lose
the stops between the slot's first value and the restart. The day closer turns each floor's counters
around a day into the day's stops with the same core function ``gateway backtest`` uses.

Lift counters are telemetry: pruned with raw readings and, at the disk budget, evicted oldest
first (``gateway.store.disk_budget``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo

from gateway.core.counters import Reading
from gateway.observations import ElevatorSample
from gateway.store.counter_series import (
    CounterSeriesTable,
    Key,
    Series,
    SeriesShape,
)
from gateway.store.database import StoreDatabase

SHAPE = SeriesShape(
    "elevator_stops", (("elevator_id", "TEXT"), ("floor", "INTEGER")), "stops_total"
)
FloorCounters = dict[int, dict[str, list[Reading]]]  # floor -> elevator id -> readings


class LiftCounterTable:
    def __init__(self, db: StoreDatabase) -> None:
        self.series = CounterSeriesTable(db, SHAPE, interval_s=0)

    def add(self, samples: Iterable[ElevatorSample]) -> int:
        return self.series.add(
            (s.elevator_id, s.floor, s.ts.timestamp(), s.stops_total) for s in samples
        )

    def day_window(self, start: datetime, end: datetime, until: datetime, tz: tzinfo) -> Series:
        """Every counter around the day, in one pass, by (lift, floor)."""
        return self.series.window(start, end, until, tz)

    def keep_carry(self, end: datetime, windows: Mapping[Key, list[Reading]]) -> None:
        self.series.keep_carry(end, windows)

    def between(self, start: datetime, end: datetime, tz: tzinfo) -> FloorCounters:
        """Every counter around ``start``..``end``, by floor and lift (tools and tests)."""
        return by_floor(self.series.between(start, end, tz))

    def prune(self, older_than: datetime) -> int:
        return self.series.prune(older_than)


def by_floor(series: Series) -> FloorCounters:
    out: FloorCounters = {}
    for (elevator_id, floor), readings in sorted(series.items(), key=lambda i: (i[0][1], i[0][0])):
        out.setdefault(int(floor), {})[str(elevator_id)] = readings
    return out

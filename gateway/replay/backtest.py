"""Replays a building trace through the live detector and writes the alerts it would have sent.

The replay keeps the live daemon's timing exactly: the daemon closes a local day
``day_close_delay_s`` after midnight, with the readings it has by then (the last one at or
before midnight opening the day, the first at or after midnight closing it). Here the trace is
streamed in time order, and day D is closed the moment the stream passes D's closing time, with
the signals seen so far. The building's day then goes through :func:`close_building_day`, the
very function the daemon's day closer calls, and each RAISE or UPDATE body is written as one
JSON line, checked against the same alert schema the live gateway checks before signing.

Meter readings, lock events and elevator counters are merged into one stream by time. Lock
credentials are pseudonymised as they are read, under a key made for this run and never
stored, exactly as the live gateway does at its edge.

Only about one day of readings is held in memory, so a trace of any length replays in constant
memory.
"""

from __future__ import annotations

import bisect
import heapq
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import TextIO

from gateway.ble.credentials import CredentialPseudonymiser, new_pseudonym_key
from gateway.config.detection import DetectionConfig
from gateway.core.alert_body import UnitFacts
from gateway.core.alert_decision import CaseState, DecisionAction
from gateway.core.baselines import UnitBaseline
from gateway.core.building_day import (
    DetectorSettings,
    UnitDayInputs,
    UnitDayResult,
    close_building_day,
)
from gateway.core.counters import CounterLimits, Reading
from gateway.core.daily_usage import local_day_span
from gateway.core.floor_stops import floor_stops_day
from gateway.core.lock_activity import LockDay, LockEvent, summarise_lock_day
from gateway.replay.trace_reader import ElevatorRow, LockRow, MeterRow, Trace, TraceError
from gateway.wire.contract import require_valid

DayObserver = Callable[[date, datetime, list[UnitDayResult]], None]


@dataclass
class BacktestReport:
    units: int = 0
    days: int = 0
    meter_rows: int = 0
    lock_events: int = 0
    elevator_rows: int = 0
    alerts: int = 0
    alerts_by_kind: dict[str, int] = field(default_factory=dict)
    cases_closed: int = 0
    first_day: date | None = None
    last_day: date | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class _DayReplayer:
    """Holds the signals of the day being replayed and every unit's case state."""

    def __init__(
        self,
        units: Iterable[UnitFacts],
        tz: tzinfo,
        settings: DetectorSettings,
        limits: dict[str, CounterLimits],
        close_delay: timedelta,
        out: TextIO,
        report: BacktestReport,
        on_day: DayObserver | None = None,
    ) -> None:
        self._on_day = on_day
        self._units = list(units)
        self._tz = tz
        self._settings = settings
        self._limits = limits
        self._close_delay = close_delay
        self._out = out
        self._report = report
        self._pseudonyms = CredentialPseudonymiser(new_pseudonym_key())  # this run only
        self._states: dict[str, dict[str, CaseState]] = {u.unit_id: {} for u in self._units}
        self._meters: dict[str, dict[str, list[Reading]]] = defaultdict(lambda: defaultdict(list))
        self._lock_events: dict[str, list[LockEvent]] = defaultdict(list)
        self._lock_days: dict[str, deque[LockDay]] = {}
        self._baselines: dict[str, UnitBaseline] = {}
        self._stops: dict[int, dict[str, list[Reading]]] = defaultdict(lambda: defaultdict(list))

    def closing_time(self, day: date) -> datetime:
        return local_day_span(day + timedelta(days=1), self._tz)[0] + self._close_delay

    def add(self, row: MeterRow | LockRow | ElevatorRow) -> None:
        if isinstance(row, MeterRow):
            self._meters[row.unit_id][row.kind].append(Reading(row.ts, row.total))
        elif isinstance(row, LockRow):
            credential = self._pseudonyms.pseudonym(row.credential)
            self._lock_events[row.unit_id].append(LockEvent(row.ts, row.event, credential))
            self._lock_days.setdefault(row.unit_id, deque(maxlen=self._settings.locks.window_days))
        else:
            self._stops[row.floor][row.elevator_id].append(Reading(row.ts, row.stops_total))

    def close(self, day: date) -> None:
        start, end = local_day_span(day, self._tz)
        closed_at = self.closing_time(day).astimezone(self._tz)
        inputs = []
        for unit in self._units:
            unit_id = unit.unit_id
            lock_days = None
            if unit_id in self._lock_days:  # a unit with a lock: a day without events counts
                window = self._lock_days[unit_id]
                window.append(summarise_lock_day(self._lock_events[unit_id], day, self._tz))
                lock_days = tuple(window)
            meters = self._meters.get(unit_id, {})
            inputs.append(
                UnitDayInputs(
                    facts=unit,
                    readings={kind: _around(buffer, start, end) for kind, buffer in meters.items()},
                    limits=self._limits,
                    states=self._states[unit_id],
                    baseline=self._baselines.get(unit_id, UnitBaseline()),
                    lock_days=lock_days,
                )
            )
        floor_stops = {
            floor: floor_stops_day(
                {elevator: _around(buffer, start, end) for elevator, buffer in by_elevator.items()},
                floor,
                day,
                self._tz,
            )
            for floor, by_elevator in self._stops.items()
        }
        results = close_building_day(inputs, day, self._tz, self._settings, closed_at, floor_stops)
        for result in results:
            self._states[result.unit_id] = result.states
            self._baselines[result.unit_id] = result.baseline
            self._report.cases_closed += sum(
                1 for d in result.decisions if d.action is DecisionAction.CLOSE
            )
            for alert in result.alerts:
                self._write(alert)
        if self._on_day is not None:
            self._on_day(day, closed_at, results)
        self._report.days += 1
        self._forget_before(end)

    def _write(self, alert: dict[str, object]) -> None:
        require_valid("alert", alert)
        self._out.write(json.dumps(alert, ensure_ascii=False) + "\n")
        kind = str(alert["kind"])
        self._report.alerts += 1
        self._report.alerts_by_kind[kind] = self._report.alerts_by_kind.get(kind, 0) + 1

    def _forget_before(self, moment: datetime) -> None:
        """Drop what the next day no longer needs: counters keep their last reading at or
        before ``moment``, lock events of days already summarised go."""
        for buffers in (*self._meters.values(), *self._stops.values()):
            for key, buffer in buffers.items():
                buffers[key] = _from_last_at_or_before(buffer, moment)
        for unit_id, events in self._lock_events.items():
            self._lock_events[unit_id] = [e for e in events if e.ts >= moment]


def _reading_time(reading: Reading) -> datetime:
    return reading.ts


def _around(buffer: list[Reading], start: datetime, end: datetime) -> list[Reading]:
    """The readings from the last at or before ``start`` to the first at or after ``end``."""
    first = max(0, bisect.bisect_right(buffer, start, key=_reading_time) - 1)
    last = bisect.bisect_left(buffer, end, key=_reading_time)
    return buffer[first : last + 1]


def _from_last_at_or_before(buffer: list[Reading], moment: datetime) -> list[Reading]:
    keep_from = max(0, bisect.bisect_right(buffer, moment, key=_reading_time) - 1)
    return buffer[keep_from:]


def run_backtest(
    trace: Trace,
    detection: DetectionConfig,
    gateway_id: str,
    out: TextIO,
    on_day: DayObserver | None = None,
) -> BacktestReport:
    """Replay ``trace`` and write one alert body per line to ``out``. ``on_day``, when given,
    sees every closed day's results (benchmarks compare other rules on the same days)."""
    started = time.perf_counter()
    report = BacktestReport(units=len(trace.units))
    units = [UnitFacts(u.unit_id, u.floor, u.area_m2, u.rooms) for u in trace.units.values()]
    rows = heapq.merge(trace.meters(), trace.locks(), trace.elevators(), key=_timestamp)
    first = next(rows, None)
    if first is None:
        raise TraceError("meters.csv: no readings")
    tz = trace.meta.timezone or first.ts.tzinfo
    assert tz is not None  # the reader refuses timestamps without an offset
    replayer = _DayReplayer(
        units,
        tz,
        detection.detector_settings(gateway_id),
        detection.counter_limits(),
        timedelta(seconds=detection.polling.day_close_delay_s),
        out,
        report,
        on_day,
    )
    day = first.ts.astimezone(tz).date()
    report.first_day = day
    closing = replayer.closing_time(day)
    last_ts = first.ts
    for row in _chain(first, rows):
        while row.ts > closing:
            replayer.close(day)
            day += timedelta(days=1)
            closing = replayer.closing_time(day)
        replayer.add(row)
        if isinstance(row, MeterRow):
            report.meter_rows += 1
        elif isinstance(row, LockRow):
            report.lock_events += 1
        else:
            report.elevator_rows += 1
        last_ts = row.ts
    last_day = last_ts.astimezone(tz).date()
    while day <= last_day:
        replayer.close(day)
        day += timedelta(days=1)
    report.last_day = last_day
    report.skipped = dict(trace.skipped)
    report.seconds = time.perf_counter() - started
    return report


_Row = MeterRow | LockRow | ElevatorRow


def _timestamp(row: _Row) -> datetime:
    return row.ts


def _chain(first: _Row, rest: Iterator[_Row]) -> Iterator[_Row]:
    yield first
    yield from rest

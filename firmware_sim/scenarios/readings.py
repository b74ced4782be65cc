"""What every device of a scenario reads at any moment: meters, lift counters, lock logs.

``ScenarioReadings`` answers for a whole building, at any time from the start on (also past the
end of the exported horizon): ``meter_total_at``, ``rate_per_hour_at``, ``elevator_stops_at``
(``elevator_counts_at`` for every lift and floor at once, ``last_elevator_stop`` for where a
car last stopped), ``lock_events_between``. It is the one source of numbers for the trace
export and for a live simulator serving the same scenario, so both show exactly the same values.

Days are simulated on demand (``unit_day.simulate_unit_day``) and the few most recent are
cached; each meter keeps its consumption before every day it has reached (a prefix sum), so the
first question about day 80 simulates days 0 to 79 of that flat once and later questions are
cheap. A reading inside a slot interpolates the slot's use linearly.
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from firmware_sim.scenarios.elevators import building_noise, stop_counts, stops_until
from firmware_sim.scenarios.meters import MeterPlan, meter_plans
from firmware_sim.scenarios.model import MINUTES_PER_DAY, Scenario
from firmware_sim.scenarios.presence import SLOT_S, SLOTS_PER_DAY
from firmware_sim.scenarios.random_streams import stream
from firmware_sim.scenarios.schedules import DAY_S
from firmware_sim.scenarios.seasons import DayInfo, day_info
from firmware_sim.scenarios.unit_day import UnitDay, simulate_unit_day

__all__ = ["LAST_STOP_LOOK_BACK_DAYS", "BuildingDay", "LockRecord", "ScenarioReadings"]

LAST_STOP_LOOK_BACK_DAYS = 1  # a lift's last stop is looked for this many days back at most


@dataclass(frozen=True, slots=True)
class BuildingDay:
    day: DayInfo
    units: dict[str, UnitDay]  # by unit_id, sorted
    stops: dict[tuple[int, int], list[int]]  # (lift index, floor) -> sorted seconds of stops


@dataclass(frozen=True, slots=True, order=True)
class LockRecord:
    ts: datetime
    unit_id: str
    event: str
    credential: str


def _raw_in_day(
    before: float, cumulative: Sequence[float], usage: Sequence[float], second: float
) -> float:
    """Use since the start at ``second`` of a day, given the use ``before`` the day."""
    if second <= 0:
        return before
    slot = int(second // SLOT_S)
    if slot >= SLOTS_PER_DAY:
        return before + cumulative[SLOTS_PER_DAY]
    part = second - slot * SLOT_S
    if part == 0:
        return before + cumulative[slot]
    return before + (cumulative[slot] + usage[slot] * part / SLOT_S)


class ScenarioReadings:
    """Readings of every device of ``scenario``, computed on demand and cached."""

    def __init__(self, scenario: Scenario, *, cached_days: int = 3) -> None:
        self.scenario = scenario
        self._seed = scenario.params.seed
        self._start = scenario.params.start.date()
        self._lifts = len(scenario.elevators)
        self._timelines = {t.unit.unit_id: t for t in scenario.timelines}
        self._plans = {uid: meter_plans(t) for uid, t in self._timelines.items()}
        self._capacity = max(1, cached_days) * len(self._timelines)
        self._unit_days: OrderedDict[tuple[str, int], UnitDay] = OrderedDict()
        self._building_days: OrderedDict[int, BuildingDay] = OrderedDict()
        self._cached_days = max(1, cached_days)
        self._before_day: dict[tuple[str, str], list[float]] = {}
        self._stops_before_day: list[dict[tuple[int, int], int]] = [{}]
        self._raw_at_event: dict[tuple[str, str, float], float] = {}

    # --- days -------------------------------------------------------------------------------

    def day_info(self, day: int) -> DayInfo:
        return day_info(self._start, day)

    def unit_day(self, unit_id: str, day: int) -> UnitDay:
        """Day ``day`` of flat ``unit_id`` (days count from 0, the first day)."""
        key = (unit_id, day)
        cached = self._unit_days.get(key)
        if cached is not None:
            self._unit_days.move_to_end(key)
            return cached
        simulated = simulate_unit_day(
            self._seed, self._timelines[unit_id], self.day_info(day), self._lifts
        )
        self._unit_days[key] = simulated
        if len(self._unit_days) > self._capacity:
            self._unit_days.popitem(last=False)
        return simulated

    def building_day(self, day: int) -> BuildingDay:
        """Day ``day`` of every flat, and the lift stops of the whole building."""
        cached = self._building_days.get(day)
        if cached is not None:
            return cached
        units = {uid: self.unit_day(uid, day) for uid in sorted(self._timelines)}
        noise = building_noise(
            self.scenario.floors, self._lifts, stream(self._seed, "building-noise", day)
        )
        stops = stop_counts(itertools.chain(noise, *(u.stops for u in units.values())))
        result = BuildingDay(self.day_info(day), units, stops)
        self._building_days[day] = result
        if len(self._building_days) > self._cached_days:
            self._building_days.popitem(last=False)
        return result

    # --- meters -----------------------------------------------------------------------------

    def meter_plan(self, unit_id: str, kind: str) -> MeterPlan:
        return self._plans[unit_id][kind]

    def usage_before_day(self, unit_id: str, kind: str, day: int) -> float:
        """What the flat used of ``kind`` from the start to the start of ``day``."""
        if day <= 0:
            return 0.0
        sums = self._before_day.setdefault((unit_id, kind), [0.0])
        while len(sums) <= day:
            usage = self.unit_day(unit_id, len(sums) - 1).usage[kind]
            sums.append(sums[-1] + _cumulative(usage)[SLOTS_PER_DAY])
        return sums[day]

    def raw_usage(self, unit_id: str, kind: str, minute: float) -> float:
        """What the flat used of ``kind`` from the start to ``minute`` (0 before the start)."""
        if minute <= 0:
            return 0.0
        day = math.floor(minute / MINUTES_PER_DAY)
        second = (minute - day * MINUTES_PER_DAY) * 60
        before = self.usage_before_day(unit_id, kind, day)
        if second <= 0:
            return before
        usage = self.unit_day(unit_id, day).usage[kind]
        return _raw_in_day(before, _cumulative(usage), usage, second)

    def meter_reading(self, unit_id: str, kind: str, minute: float) -> float | None:
        """The register of the flat's ``kind`` meter ``minute`` minutes after the start, or
        None while it is offline. KeyError if the flat has no such meter."""
        used = self.raw_usage(unit_id, kind, minute)
        return self._plans[unit_id][kind].reading(minute, used, self._used_at(unit_id, kind))

    def meter_total_at(self, unit_id: str, kind: str, t: datetime) -> float | None:
        """The register of the flat's ``kind`` meter at ``t`` (aware), None while offline."""
        return self.meter_reading(unit_id, kind, self.scenario.minute_of(t))

    def rate_per_hour_at(self, unit_id: str, kind: str, t: datetime) -> float:
        """The flat's use of ``kind`` per hour around ``t`` (kW for electricity, m3/h for water
        and gas): what a power or flow register shows. 0 before the start."""
        minute = self.scenario.minute_of(t)
        if minute < 0:
            return 0.0
        day = math.floor(minute / MINUTES_PER_DAY)
        slot = min(int((minute - day * MINUTES_PER_DAY) * 60 // SLOT_S), SLOTS_PER_DAY - 1)
        return self.unit_day(unit_id, day).usage[kind][slot] * (3600 / SLOT_S)

    def meter_day_readings(
        self, unit_id: str, kind: str, day: int, seconds: Sequence[int]
    ) -> list[float | None]:
        """The meter's register at each of ``seconds`` of ``day`` (the export's fast path;
        the same numbers as ``meter_reading``)."""
        plan = self._plans[unit_id][kind]
        before = self.usage_before_day(unit_id, kind, day)
        if any(seconds):
            usage = self.unit_day(unit_id, day).usage[kind]
            cumulative = _cumulative(usage)
        else:
            usage, cumulative = (), []
        day_minute = day * MINUTES_PER_DAY
        used_at = self._used_at(unit_id, kind)
        return [
            plan.reading(
                day_minute + second / 60, _raw_in_day(before, cumulative, usage, second), used_at
            )
            for second in seconds
        ]

    def _used_at(self, unit_id: str, kind: str) -> Callable[[float], float]:
        """``raw_usage`` of one meter, remembered: it is asked for the moment a meter was
        replaced at every later reading."""

        def used_at(minute: float) -> float:
            key = (unit_id, kind, minute)
            if key not in self._raw_at_event:
                self._raw_at_event[key] = self.raw_usage(unit_id, kind, minute)
            return self._raw_at_event[key]

        return used_at

    # --- lifts ------------------------------------------------------------------------------

    def stops_before_day(self, day: int) -> dict[tuple[int, int], int]:
        """Stops per (lift index, floor) from the start to the start of ``day``."""
        day = max(day, 0)
        while len(self._stops_before_day) <= day:
            done = len(self._stops_before_day) - 1
            totals = dict(self._stops_before_day[-1])
            for key, seconds in self.building_day(done).stops.items():
                totals[key] = totals.get(key, 0) + len(seconds)
            self._stops_before_day.append(totals)
        return self._stops_before_day[day]

    def elevator_day_counts(
        self, day: int, seconds: Sequence[int]
    ) -> dict[tuple[int, int], list[int]]:
        """Every (lift index, floor)'s ``stops_total`` at each of ``seconds`` of ``day``."""
        before = self.stops_before_day(day)
        stops = self.building_day(day).stops if any(seconds) else {}
        counts = {}
        for lift, elevator in enumerate(self.scenario.elevators):
            for floor, initial in enumerate(elevator.initial_stops, start=1):
                key = (lift, floor)
                base = initial + before.get(key, 0)
                today = stops.get(key, [])
                counts[key] = [base + stops_until(today, second) for second in seconds]
        return counts

    def elevator_counts_at(self, t: datetime) -> dict[tuple[int, int], int]:
        """Every (lift index, floor)'s ``stops_total`` at ``t`` (aware; the starting counts
        before the start): what one reading of the lift terminals shows."""
        when = self._day_and_second(t)
        if when is None:
            return {
                (lift, floor): initial
                for lift, elevator in enumerate(self.scenario.elevators)
                for floor, initial in enumerate(elevator.initial_stops, start=1)
            }
        day, second = when
        return {key: counts[0] for key, counts in self.elevator_day_counts(day, [second]).items()}

    def elevator_stops_at(self, elevator_id: str, floor: int, t: datetime) -> int:
        """The ``stops_total`` of lift ``elevator_id`` at ``floor`` at ``t``."""
        return self.elevator_counts_at(t)[(self.elevator_index(elevator_id), floor)]

    def elevator_index(self, elevator_id: str) -> int:
        """The index of lift ``elevator_id`` in the scenario (KeyError if it has none)."""
        for lift, elevator in enumerate(self.scenario.elevators):
            if elevator.elevator_id == elevator_id:
                return lift
        raise KeyError(elevator_id)

    def last_elevator_stop(self, lift: int, t: datetime) -> tuple[datetime, int] | None:
        """When and at which floor lift ``lift`` (its index) last stopped at or before ``t``:
        the newest of the stops its counters count, looked for back to the start of the day
        before ``t``'s. None if it made none in that time (or ``t`` is before the start). Two
        stops in the same second (rides sharing the lift) end at the higher floor."""
        when = self._day_and_second(t)
        if when is None:
            return None
        day, second = when
        for back in range(LAST_STOP_LOOK_BACK_DAYS + 1):
            if day - back < 0:
                break
            until = second if back == 0 else DAY_S
            newest: tuple[int, int] | None = None
            for (index, floor), seconds in self.building_day(day - back).stops.items():
                made = stops_until(seconds, until) if index == lift else 0
                if made and (newest is None or (seconds[made - 1], floor) > newest):
                    newest = (seconds[made - 1], floor)
            if newest is not None:
                midnight = self.scenario.moment((day - back) * MINUTES_PER_DAY)
                return midnight + timedelta(seconds=newest[0]), newest[1]
        return None

    def _day_and_second(self, t: datetime) -> tuple[int, int] | None:
        """The day ``t`` falls on and the whole second of that day (None: before the start)."""
        elapsed = t - self.scenario.params.start
        if elapsed < timedelta(0):
            return None
        day = elapsed // timedelta(days=1)
        return day, (elapsed - day * timedelta(days=1)) // timedelta(seconds=1)

    # --- locks ------------------------------------------------------------------------------

    def lock_events_between(self, t0: datetime, t1: datetime) -> list[LockRecord]:
        """Every lock event at or after ``t0`` and before ``t1``, in time order."""
        first = max(0, math.floor(self.scenario.minute_of(t0) / MINUTES_PER_DAY))
        last = math.floor(self.scenario.minute_of(t1) / MINUTES_PER_DAY)
        records = []
        for day in range(first, last + 1):
            for uid, unit_day in self.building_day(day).units.items():
                for second, event, credential in unit_day.lock_events:
                    ts = self.scenario.moment(day * MINUTES_PER_DAY + second / 60)
                    if t0 <= ts < t1:
                        records.append(LockRecord(ts, uid, event, credential))
        records.sort()
        return records


def _cumulative(usage: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(usage, initial=0.0))

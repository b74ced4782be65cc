"""How often a lift stops at each floor, as the cumulative counters of its monitoring terminal.

Theory of operation. Every resident of a floor other than the ground floor makes
``STOPS_PER_PERSON_DAY`` trips a day between their floor and the ground floor (out and back,
a few errands, less the rides shared with a neighbour). Each trip is one stop at their floor
and one at the ground floor, so the ground floor's counter gets everyone's trips. Residents of
the ground floor take the stairs. Where several lifts serve a floor, its trips are shared
equally among them. Trips follow an hourly profile (out in the morning, back in the evening);
the rate is constant within each hour, so a counter is a closed-form integral of the household
sizes over time, as in ``firmware_sim.households``, and follows the units' ``changes``.

A counter is the whole number of stops made since the terminal was installed: a fixed starting
count plus the integral plus a fraction of a stop (how far the counter was towards its next
stop at the start, so that floors with alike households do not tick in step), rounded down; the
count and the fraction are hashes of seed, lift and floor. So a counter never decreases and two
runs with the same seed agree.

The car goes where the counters say: each time a floor's counter ticks, the car has just
stopped at that floor, and its door stays open for ``DOOR_OPEN_S`` (less if the next stop comes
sooner). Between stops it waits, door closed, where it last stopped; before its first stop it
waits at the ground floor. So a gateway that watches only the car's position and door (position
mode) sees the stops the counters count, except a stop at the floor where the car already
waits, which is the same visit to it. A tick's moment is the first instant, on a grid of
``STOP_TIME_RESOLUTION_S`` from the start, at which the counter shows it (found by bisection).
Pure: no I/O, no clock; time is always passed in.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from firmware_sim.building_config import BuildingConfig, ElevatorSpec, UnitSpec
from firmware_sim.households import cumulative_profile

__all__ = [
    "DOOR_OPEN_S",
    "LIFT_BY_HOUR",
    "STOPS_PER_PERSON_DAY",
    "CarPosition",
    "LiftModel",
    "LiftState",
    "building_lifts",
]

DAY_S = 86_400.0
HOUR_S = 3_600.0
STOPS_PER_PERSON_DAY = 2.5
DOOR_OPEN_S = 8.0  # the door stays open this long at each stop
STOP_TIME_RESOLUTION_S = 0.05  # how precisely the moment of a stop is found
_FIRST_LOOK_BACK_S = 60.0  # the search for the last stop looks back this far, then twice as far
INSTALLED_STOPS_MAX = 50_000  # a counter starts somewhere below this (stops before the run)

# Trips by local hour, 00:00-01:00 first: out to work and school in the morning, errands at
# midday, home in the evening.
# fmt: off
LIFT_BY_HOUR = (
    0.2, 0.1, 0.0, 0.0, 0.1, 0.5, 2.0, 5.0, 5.0, 2.5, 2.0, 2.5,
    3.0, 2.5, 2.0, 2.0, 2.5, 3.5, 5.0, 5.0, 4.0, 3.0, 1.5, 0.6,
)
# fmt: on


PROFILE = cumulative_profile(LIFT_BY_HOUR)


def _day_fraction(seconds: float) -> float:
    """Share of a day's trips made ``seconds`` after local midnight (0 to 86400)."""
    if seconds >= DAY_S:
        return 1.0
    hour = int(seconds // HOUR_S)
    return PROFILE[hour] + (PROFILE[hour + 1] - PROFILE[hour]) * (seconds - hour * HOUR_S) / HOUR_S


def _profile_days_to(local_seconds: float) -> float:
    """Days' worth of trips made from local second 0 to ``local_seconds``."""
    day = math.floor(local_seconds / DAY_S)
    return day + _day_fraction(local_seconds - day * DAY_S)


def _uniform(*key: object) -> float:
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True, slots=True)
class CarPosition:
    """Where the car is and whether its door is open, at one instant."""

    car_floor: int
    door_open: bool


@dataclass(frozen=True, slots=True)
class LiftState:
    """What the terminal shows at one instant."""

    stops: Mapping[int, int]  # floor -> cumulative stops
    car_floor: int
    door_open: bool


@dataclass(frozen=True)
class LiftModel:
    """One lift of the building from the simulated ``start`` on."""

    lift: ElevatorSpec
    units: tuple[UnitSpec, ...]  # every unit of the building
    lifts_serving: Mapping[int, int]  # floor -> how many lifts serve it
    start: datetime
    seed: int = 1
    utc_offset: timedelta = timedelta(hours=8)
    _installed: dict[int, int] = field(init=False, repr=False, compare=False)
    _phase: dict[int, float] = field(init=False, repr=False, compare=False)
    _units_on: dict[int, tuple[UnitSpec, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        installed = {
            floor: int(_uniform(self.seed, self.lift.elevator_id, floor) * INSTALLED_STOPS_MAX)
            for floor in self.lift.floors
        }
        object.__setattr__(self, "_installed", installed)
        phase = {
            floor: _uniform(self.seed, self.lift.elevator_id, floor, "phase")
            for floor in self.lift.floors
        }
        object.__setattr__(self, "_phase", phase)
        units_on = {
            floor: tuple(u for u in self.units if u.floor == floor) for floor in self.lift.floors
        }
        object.__setattr__(self, "_units_on", units_on)

    def trips_at(self, floor: int, t: datetime) -> float:
        """Trips made on this lift between ``floor`` and the ground floor since the start."""
        if floor == self.lift.ground_floor or floor not in self.lift.floors:
            return 0.0
        person_days = sum(self._person_days(u, t) for u in self._units_on[floor])
        return STOPS_PER_PERSON_DAY * person_days / self.lifts_serving[floor]

    def stops_at(self, floor: int, t: datetime) -> int:
        """The terminal's counter for ``floor`` at ``t`` (0 for a floor the lift does not serve)."""
        if floor not in self.lift.floors:
            return 0
        return self._installed[floor] + math.floor(self._unrounded(floor, t))

    def stops(self, t: datetime) -> dict[int, int]:
        """Every floor's counter at ``t``."""
        return {floor: self.stops_at(floor, t) for floor in self.lift.floors}

    def car_at(self, t: datetime) -> CarPosition:
        """Where the car is at ``t`` and whether its door is open (see the module)."""
        last = self.last_stop(t)
        if last is None:
            return CarPosition(self.lift.ground_floor, False)
        at, floor = last
        return CarPosition(floor, (t - at).total_seconds() < DOOR_OPEN_S)

    def state_at(self, t: datetime) -> LiftState:
        car = self.car_at(t)
        return LiftState(self.stops(t), car.car_floor, car.door_open)

    def last_stop(self, t: datetime) -> tuple[datetime, int] | None:
        """When and at which floor the car last stopped, at or before ``t`` (None: not yet)."""
        last: tuple[datetime, int] | None = None
        for floor in self.lift.floors:
            count = math.floor(self._unrounded(floor, t))
            if count == 0:
                continue
            if last is not None and self._unrounded(floor, last[0]) >= count:
                continue  # this floor's last stop came no later than the one already found
            before = self._before_count(floor, count, t)
            at = self._moment_of(floor, count, before, t)
            if last is None or at > last[0]:
                last = (at, floor)
        return last

    def stops_between(self, begin: datetime, end: datetime) -> list[tuple[datetime, int]]:
        """Every stop of the car in (``begin``, ``end``], in time order: when and at which floor."""
        found = []
        for floor in self.lift.floors:
            first = math.floor(self._unrounded(floor, begin)) + 1
            for count in range(first, math.floor(self._unrounded(floor, end)) + 1):
                found.append((self._moment_of(floor, count, begin, end), floor))
        return sorted(found)

    def _unrounded(self, floor: int, t: datetime) -> float:
        """``floor``'s counter less its installed count, before rounding down: the stops there
        since the start plus the counter's starting fraction."""
        if floor == self.lift.ground_floor:
            trips = sum(self.trips_at(other, t) for other in self.lift.floors)
        else:
            trips = self.trips_at(floor, t)
        return self._phase[floor] + trips

    def _before_count(self, floor: int, count: int, t: datetime) -> datetime:
        """A moment before ``t`` when ``floor`` had not yet made ``count`` stops."""
        back = timedelta(seconds=_FIRST_LOOK_BACK_S)
        while t - back > self.start:
            if self._unrounded(floor, t - back) < count:
                return t - back
            back *= 2
        return self.start

    def _moment_of(self, floor: int, count: int, low: datetime, high: datetime) -> datetime:
        """When ``floor``'s counter reached ``count``, known to be after ``low`` and by ``high``:
        the first instant of a grid of ``STOP_TIME_RESOLUTION_S`` from the start at which it
        shows it (by ``high`` at the latest), so every search finds the same moment."""
        step = STOP_TIME_RESOLUTION_S
        below = math.floor((low - self.start).total_seconds() / step)
        above = math.ceil((high - self.start).total_seconds() / step)
        while above - below > 1:
            middle = (below + above) // 2
            if self._unrounded(floor, self._on_grid(middle)) >= count:
                above = middle
            else:
                below = middle
        return min(self._on_grid(above), high)

    def _on_grid(self, steps: int) -> datetime:
        return self.start + timedelta(seconds=steps * STOP_TIME_RESOLUTION_S)

    def _local_seconds(self, t: datetime) -> float:
        return t.timestamp() + self.utc_offset.total_seconds()

    def _person_days(self, unit: UnitSpec, t: datetime) -> float:
        """Residents of ``unit`` times the share of a day's trips, from the start to ``t``."""
        bounds = [self.start] + [self.start + timedelta(days=c.at_day) for c in unit.changes]
        occupants = [unit.occupants] + [c.occupants for c in unit.changes]
        total = 0.0
        for i, begin in enumerate(bounds):
            end = min(bounds[i + 1] if i + 1 < len(bounds) else t, t)
            if end > begin:
                share = self._profile_days(self._local_seconds(begin), self._local_seconds(end))
                total += occupants[i] * share
        return total

    @staticmethod
    def _profile_days(begin: float, end: float) -> float:
        """Days' worth of trips made from local second ``begin`` to ``end``."""
        return _profile_days_to(end) - _profile_days_to(begin)


def building_lifts(
    config: BuildingConfig, start: datetime, seed: int, utc_offset: timedelta
) -> list[LiftModel]:
    """A model for every lift of the building, sharing each floor's trips among its lifts."""
    serving: dict[int, int] = {}
    for lift in config.elevators:
        for floor in lift.floors:
            serving[floor] = serving.get(floor, 0) + 1
    return [
        LiftModel(lift, config.units, serving, start, seed, utc_offset) for lift in config.elevators
    ]

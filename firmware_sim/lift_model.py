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
count (a hash of seed, lift and floor) plus the integral, rounded down, so it never decreases
and two runs with the same seed agree. Where the car is and whether its door is open follow a
hash of the minute. Pure: no I/O, no clock; time is always passed in.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from firmware_sim.building_config import BuildingConfig, ElevatorSpec, UnitSpec
from firmware_sim.households import cumulative_profile

__all__ = ["LIFT_BY_HOUR", "STOPS_PER_PERSON_DAY", "LiftModel", "LiftState", "building_lifts"]

DAY_S = 86_400.0
HOUR_S = 3_600.0
STOPS_PER_PERSON_DAY = 2.5
DOOR_OPEN_S = 8  # the door stays open this long at the start of each simulated minute
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


def _uniform(*key: object) -> float:
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


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

    def __post_init__(self) -> None:
        installed = {
            floor: int(_uniform(self.seed, self.lift.elevator_id, floor) * INSTALLED_STOPS_MAX)
            for floor in self.lift.floors
        }
        object.__setattr__(self, "_installed", installed)

    def trips_at(self, floor: int, t: datetime) -> float:
        """Trips made on this lift between ``floor`` and the ground floor since the start."""
        if floor == self.lift.ground_floor or floor not in self.lift.floors:
            return 0.0
        person_days = sum(self._person_days(u, t) for u in self.units if u.floor == floor)
        return STOPS_PER_PERSON_DAY * person_days / self.lifts_serving[floor]

    def stops_at(self, floor: int, t: datetime) -> int:
        """The terminal's counter for ``floor`` at ``t`` (0 for a floor the lift does not serve)."""
        if floor not in self.lift.floors:
            return 0
        if floor == self.lift.ground_floor:
            trips = sum(self.trips_at(other, t) for other in self.lift.floors)
        else:
            trips = self.trips_at(floor, t)
        return self._installed[floor] + math.floor(trips)

    def state_at(self, t: datetime) -> LiftState:
        minute = math.floor(self._local_seconds(t) / 60.0)
        pick = _uniform(self.seed, self.lift.elevator_id, "car", minute)
        car_floor = self.lift.floors[int(pick * len(self.lift.floors))]
        door_open = self._local_seconds(t) - minute * 60.0 < DOOR_OPEN_S
        stops = {floor: self.stops_at(floor, t) for floor in self.lift.floors}
        return LiftState(stops, car_floor, door_open)

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
        days = 0.0
        day = math.floor(begin / DAY_S)
        while day * DAY_S < end:
            midnight = day * DAY_S
            days += _day_fraction(min(end, midnight + DAY_S) - midnight) - _day_fraction(
                max(begin, midnight) - midnight
            )
            day += 1
        return days


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

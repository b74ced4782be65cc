"""Elevator stops at a floor, and the head count they suggest for one unit on it.

An elevator monitoring terminal counts, per floor, how often the car stopped there; residents
going out and coming back make most of those stops. A floor's counter is shared by every unit
on that floor, so it is never read as one unit's number. Instead, the stops the neighbours
explain (their own estimates times stops per person) are taken away, and only what remains is
attributed to the unit in question. That residual is a weak signal, and it is weighted as one;
its use is to corroborate: a flat said by its water meter to hold nine people should also make
its floor busier than its neighbours alone explain.

The ground floor (everyone's stop) and floors below it say nothing about who lives there and
give no head count.

How many stops one resident makes depends on the building far more than on the resident: its
height, whether the stairs are usable, how many couriers and visitors ride up. So the rate is
**calibrated every day on the building itself**: for each floor above the ground, its stops
divided by the head count its flats' meters suggest; the median over floors is the day's stops
per person. One crowded floor does not move a median, and a building where every floor is busy
(couriers, visitors) no longer makes every flat look crowded. With fewer than
``min_floors_to_calibrate`` floors to go by, the configured ``stops_per_person_day`` is used.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, tzinfo

from gateway.core.counters import CounterLimits, Reading
from gateway.core.daily_usage import summarise_series

STOP_LIMITS = CounterLimits(max_rate_per_hour=600.0, reset_below=1.0)


@dataclass(frozen=True, slots=True)
class ElevatorNorms:
    stops_per_person_day: float = 2.2  # out and back, less the rides shared with others
    ground_floor: int = 1
    min_floors_to_calibrate: int = 3  # fewer floors with stops and people: use the norm above
    calibration_range: tuple[float, float] = (0.5, 20.0)  # stops per person a day, clamped


def calibrated_norms(
    floor_stops: Mapping[int, float | None],
    persons_by_floor: Mapping[int, float],
    norms: ElevatorNorms,
) -> ElevatorNorms:
    """``norms`` with the day's stops per person measured on the building (see above)."""
    rates = [
        stops / persons_by_floor[floor]
        for floor, stops in floor_stops.items()
        if stops is not None
        and floor > norms.ground_floor
        and persons_by_floor.get(floor, 0.0) >= 1.0
    ]
    if len(rates) < norms.min_floors_to_calibrate:
        return norms
    low, high = norms.calibration_range
    rate = min(high, max(low, statistics.median(rates)))
    return replace(norms, stops_per_person_day=rate)


def floor_stops_day(
    counters: Mapping[str, Sequence[Reading]], floor: int, day: date, tz: tzinfo
) -> float | None:
    """Stops at ``floor`` on ``day`` over all elevators with a counter there (``None`` if no
    elevator covered enough of the day)."""
    amounts = [
        summarise_series(f"elevator:{elevator}:{floor}", readings, STOP_LIMITS, day, tz).amount
        for elevator, readings in sorted(counters.items())
    ]
    usable = [amount for amount in amounts if amount is not None]
    return sum(usable) if usable else None


def unit_head_count_from_stops(
    floor_stops: float | None,
    floor: int,
    neighbour_persons: Sequence[float],
    norms: ElevatorNorms,
) -> float | None:
    """Persons the floor's unexplained stops suggest for one unit, or ``None`` when the floor
    says nothing (no counter, or the ground floor and below)."""
    if floor_stops is None or floor <= norms.ground_floor:
        return None
    explained = sum(neighbour_persons) * norms.stops_per_person_day
    return max(0.0, floor_stops - explained) / norms.stops_per_person_day

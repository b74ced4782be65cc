"""Elevator stops: a floor's counters summed over elevators, and only the stops the neighbours
do not explain attributed to a unit."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from gateway.core.counters import Reading
from gateway.core.floor_stops import (
    ElevatorNorms,
    calibrated_norms,
    floor_stops_day,
    unit_head_count_from_stops,
)

CST = timezone(timedelta(hours=8))
DAY = date(2026, 3, 2)
MIDNIGHT = datetime(2026, 3, 2, tzinfo=CST)


def counter(per_hour: float, start_total: float = 1000.0) -> list[Reading]:
    return [
        Reading(MIDNIGHT + timedelta(minutes=15 * i), start_total + per_hour * i / 4)
        for i in range(-1, 98)
    ]


def test_floor_stops_add_up_over_elevators_and_survive_a_counter_reset() -> None:
    reset = counter(1.0)
    reset = [r if r.ts < MIDNIGHT + timedelta(hours=12) else Reading(r.ts, r.total - 1000.0)
             for r in reset]  # fmt: skip
    stops = floor_stops_day({"A": counter(1.0), "B": reset}, 5, DAY, CST)
    assert stops == pytest.approx(48.0, abs=0.3)
    assert floor_stops_day({}, 5, DAY, CST) is None


def test_a_lift_counter_restarted_after_hours_down_leaves_a_gap_not_an_idle_spell() -> None:
    # A gateway counting stops itself (position mode) was down 10:00-14:00 and counts from
    # zero again: the four hours are unknown, and the day is the rest scaled up, not 20 stops.
    def restarted(reading: Reading) -> Reading | None:
        hour = (reading.ts - MIDNIGHT) / timedelta(hours=1)
        if 10 < hour < 14:
            return None
        return reading if hour <= 10 else Reading(reading.ts, reading.total - 1000.0 - 14.0)

    readings = [r for r in map(restarted, counter(1.0)) if r is not None]
    assert floor_stops_day({"A": readings}, 5, DAY, CST) == pytest.approx(24.0, abs=0.3)


@pytest.mark.parametrize(
    ("floor_stops", "floor", "neighbours", "persons"),
    [
        (22.0, 5, [2.0, 3.0], 5.0),  # 22 stops, 11 explained by five neighbours: 5 more people
        (8.0, 5, [2.0, 3.0], 0.0),  # fewer stops than the neighbours explain: nobody extra
        (50.0, 1, [2.0], None),  # the ground floor is everyone's stop
        (None, 5, [2.0], None),
    ],
)
def test_only_unexplained_stops_count_for_the_unit(
    floor_stops: float | None, floor: int, neighbours: list[float], persons: float | None
) -> None:
    got = unit_head_count_from_stops(floor_stops, floor, neighbours, ElevatorNorms())
    assert got == (None if persons is None else pytest.approx(persons))


def test_stops_per_person_are_calibrated_on_the_building() -> None:
    norms = ElevatorNorms()
    # Couriers and visitors: every floor makes 6 stops per resident, floor 5 more (a crowd).
    stops = {1: 900.0, 2: 60.0, 3: 48.0, 4: 66.0, 5: 150.0}
    persons = {1: 8.0, 2: 10.0, 3: 8.0, 4: 11.0, 5: 12.0}
    calibrated = calibrated_norms(stops, persons, norms)
    assert calibrated.stops_per_person_day == pytest.approx(6.0)  # the median floor, not 5
    # Floor 5's flat, neighbours 8 people: 150 - 6 x 8 = 102 stops are 17 people by the
    # building's rate; by the norm 2.2 an ordinary floor-mate there would already look like 20.
    assert unit_head_count_from_stops(150.0, 5, [8.0], calibrated) == pytest.approx(17.0)


@pytest.mark.parametrize(
    ("stops", "persons"),
    [
        ({2: 60.0, 3: 48.0}, {2: 10.0, 3: 8.0}),  # two floors are too few to go by
        ({2: 60.0, 3: None, 4: 66.0}, {2: 10.0, 3: 8.0, 4: 11.0}),  # a floor without a counter
        ({2: 60.0, 3: 48.0, 4: 66.0}, {2: 10.0, 3: 0.5, 4: 11.0}),  # nobody to speak of on 3
    ],
)
def test_too_little_to_calibrate_keeps_the_norm(
    stops: dict[int, float | None], persons: dict[int, float]
) -> None:
    assert calibrated_norms(stops, persons, ElevatorNorms()) == ElevatorNorms()


def test_the_calibrated_rate_is_clamped() -> None:
    stops = {2: 500.0, 3: 400.0, 4: 450.0}
    persons = {2: 1.0, 3: 1.0, 4: 1.0}
    assert calibrated_norms(stops, persons, ElevatorNorms()).stops_per_person_day == 20.0

"""Elevator stops: a floor's counters summed over elevators, and only the stops the neighbours
do not explain attributed to a unit."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from gateway.core.counters import Reading
from gateway.core.floor_stops import ElevatorNorms, floor_stops_day, unit_head_count_from_stops

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

"""Legal caps and the first occupancy estimator."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.core.daily_usage import DailyUsage
from gateway.core.occupancy import (
    OccupancyRules,
    PerCapitaNorms,
    estimate_occupancy,
    legal_cap,
)

SHANGHAI = OccupancyRules()
NORMS = PerCapitaNorms()


@pytest.mark.parametrize(
    ("rooms", "area_m2", "rules", "cap"),
    [
        (1, 44.0, SHANGHAI, 2),  # the 44 m2 one-bedroom found with 8 people
        (2, 60.0, SHANGHAI, 4),  # the 60 m2 two-bedroom found with 9 on bunk beds
        (3, 9.0, SHANGHAI, 1),  # area binds: 9 m2 gives one person
        (2, 10.0, SHANGHAI, 2),
        (1, 4.9, SHANGHAI, 0),
        (3, 30.0, SHANGHAI, 6),
        (4, 100.0, SHANGHAI, 8),
        (1, 44.0, OccupancyRules(max_persons_per_room=3, min_area_m2_per_person=10.0), 3),
        (2, 44.0, OccupancyRules(max_persons_per_room=3, min_area_m2_per_person=10.0), 4),
        (2, 0.3, OccupancyRules(min_area_m2_per_person=0.1), 3),  # float noise keeps the person
    ],
)
def test_legal_cap(rooms: int, area_m2: float, rules: OccupancyRules, cap: int) -> None:
    assert legal_cap(rooms, area_m2, rules) == cap


@pytest.mark.parametrize(("rooms", "area_m2"), [(0, 40.0), (1, 0.0), (1, -5.0), (1, float("nan"))])
def test_legal_cap_refuses_impossible_units(rooms: int, area_m2: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        legal_cap(rooms, area_m2, SHANGHAI)


def usage(
    water: float | None = None, electricity: float | None = None, gas: float | None = None
) -> DailyUsage:
    return DailyUsage("u", date(2026, 3, 2), water, electricity, gas, {}, ())


ESTIMATES = [
    # name, usage, point, low, high, signals
    ("two people, all meters agree", usage(0.24, 5.0, 0.6), 2.0, 1.5, 2.5,
     ("water", "electricity", "gas")),
    ("nine people", usage(1.08, 15.5), 9.0, 6.75, 11.25, ("water", "electricity")),
    ("water alone", usage(water=0.36), 3.0, 2.25, 3.75, ("water",)),
    ("electricity at base load only: nobody", usage(electricity=1.0), 0.0, 0.0, 0.5,
     ("electricity",)),
    ("a vacant flat", usage(0.0, 0.0, 0.0), 0.0, 0.0, 0.5, ("water", "electricity", "gas")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("day", "point", "low", "high", "signals"),
    [case[1:] for case in ESTIMATES],
    ids=[case[0] for case in ESTIMATES],
)
def test_estimate(
    day: DailyUsage, point: float, low: float, high: float, signals: tuple[str, ...]
) -> None:
    estimate = estimate_occupancy(day, NORMS)
    assert estimate is not None
    assert (estimate.point, estimate.low, estimate.high) == pytest.approx((point, low, high))
    assert estimate.signals == signals


def test_water_weighs_most() -> None:
    # Water says 2 people, electricity says 10: the point leans to water (weights 3:1).
    estimate = estimate_occupancy(usage(water=0.24, electricity=17.0), NORMS)
    assert estimate is not None
    assert estimate.point == pytest.approx(4.0)


def test_disagreement_widens_the_interval() -> None:
    agree = estimate_occupancy(usage(water=0.48, electricity=8.0), NORMS)
    disagree = estimate_occupancy(usage(water=0.24, electricity=17.0), NORMS)
    assert agree is not None and disagree is not None
    assert agree.point == disagree.point == pytest.approx(4.0)
    assert agree.high - agree.low == pytest.approx(2.0)  # 25 % of 4, either side
    assert disagree.high - disagree.low > 2 * (agree.high - agree.low)


def test_nine_people_are_far_from_two() -> None:
    two = estimate_occupancy(usage(0.24, 5.0), NORMS)
    nine = estimate_occupancy(usage(1.08, 15.5), NORMS)
    assert two is not None and nine is not None
    assert two.high < nine.low


def test_no_usable_signal_no_estimate() -> None:
    assert estimate_occupancy(usage(), NORMS) is None
    assert estimate_occupancy(usage(water=float("nan")), NORMS) is None


@pytest.mark.parametrize(
    ("quietest_m3", "water_persons"),
    [
        (0.0, 2.0),  # a household at rest at night
        (0.002, 2.0),  # 2 L in the quietest hour: a drip, under the leak threshold
        (0.010, 0.0),  # 10 L/h all day is 0.24 m3: all of the day's water, nobody
        (0.005, 1.0),  # 5 L/h: 0.12 m3 of the day's 0.24 is the leak
    ],
)
def test_a_flow_that_never_rests_is_a_leak_not_people(
    quietest_m3: float, water_persons: float
) -> None:
    day = DailyUsage("u", date(2026, 3, 2), 0.24, None, None, {}, (), {"water_m3": quietest_m3})
    estimate = estimate_occupancy(day, NORMS)
    assert estimate is not None
    assert estimate.point == pytest.approx(water_persons)


def test_locks_and_elevator_join_the_estimate_with_their_weights() -> None:
    # Frugal renters: water says 4 people, the locks say 8, the floor's stops say 6.
    estimate = estimate_occupancy(usage(water=0.48), NORMS, {"locks": 8.0, "elevator": 6.0})
    assert estimate is not None
    assert estimate.signals == ("water", "locks", "elevator")
    assert estimate.point == pytest.approx((3 * 4.0 + 3 * 8.0 + 1 * 6.0) / 7)
    with pytest.raises(ValueError, match="unknown signal 'radar'"):
        estimate_occupancy(usage(water=0.48), NORMS, {"radar": 3.0})


@pytest.mark.parametrize(
    ("gas", "others", "point", "signals"),
    [
        # Renters who never cook: gas says 0.3 people; water and electricity say 9.
        (0.1, {}, 9.0, ("water", "electricity")),
        # A floor whose lift they avoid: 1 person by the stops, left out.
        (None, {"elevator": 1.0}, 9.0, ("water", "electricity")),
        # A crowd that also cooks for 12 and crowds the lift: both say more, both count.
        (
            3.6,
            {"elevator": 12.0},
            (3 * 9 + 9 + 12 + 12) / 6,
            ("water", "electricity", "gas", "elevator"),
        ),
        # Only habit signals: they are all there is, so they count both ways.
        (0.6, {"elevator": 4.0}, 3.0, ("gas", "elevator")),
    ],
)
def test_habit_signals_count_only_when_they_say_more(
    gas: float | None, others: dict[str, float], point: float, signals: tuple[str, ...]
) -> None:
    day = usage(1.08, 15.5, gas) if signals[0] == "water" else usage(gas=gas)
    estimate = estimate_occupancy(day, NORMS, others)
    assert estimate is not None
    assert estimate.point == pytest.approx(point)
    assert estimate.signals == signals
    # What a habit signal said stays in the evidence, counted or not.
    if gas is not None:
        assert "gas" in estimate.by_signal


def test_a_habit_signal_saying_more_moves_the_point_not_the_doubt() -> None:
    alone = estimate_occupancy(usage(0.48, 8.0), NORMS)
    with_lift = estimate_occupancy(usage(0.48, 8.0), NORMS, {"elevator": 9.0})
    assert alone is not None and with_lift is not None
    assert with_lift.point == pytest.approx((3 * 4 + 4 + 9) / 5)
    # Only the norms' share of the width grows with the point; the signals' disagreement
    # (water and electricity agree on 4) stays nil.
    assert with_lift.high - with_lift.point == pytest.approx(0.25 * with_lift.point)


def test_people_known_to_be_there_are_a_floor_for_the_estimate() -> None:
    # Seven frugal renters: water says 3.7, electricity 2.3; seven credentials on most days.
    day = usage(0.44, 5.45)
    meters_only = estimate_occupancy(day, NORMS, {"locks": 5.0})
    known = estimate_occupancy(day, NORMS, {"locks": 5.0}, at_least=7.0)
    assert meters_only is not None and known is not None
    assert meters_only.point < 7.0
    assert known.point == 7.0 and known.low == 7.0 and known.high > 7.0
    assert known.at_least == 7.0
    # A floor below what the signals say changes nothing but the record of it.
    busy = estimate_occupancy(usage(1.08, 15.5), NORMS, at_least=2.0)
    plain = estimate_occupancy(usage(1.08, 15.5), NORMS)
    assert busy is not None and plain is not None
    assert (busy.point, busy.low, busy.high) == (plain.point, plain.low, plain.high)

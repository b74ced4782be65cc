"""The field_mix family's situations: rentals there at installation, staged move-ins after
partition works, leaks that seal now and then in lived-in flats, six-person families in small
three-room flats, lockless rentals in a building of locks."""

from __future__ import annotations

import itertools

from firmware_sim.scenarios import build_scenario
from firmware_sim.scenarios.condition_loads import leak_flow
from firmware_sim.scenarios.conditions import GroupRental, LargeFamily, Leak
from firmware_sim.scenarios.families import FAMILIES
from firmware_sim.scenarios.model import MINUTES_PER_DAY

SEEDS = (101, 102, 103)


def _scenarios() -> list:  # type: ignore[type-arg]
    return [build_scenario("field_mix", seed) for seed in SEEDS]


def _rentals(scenario) -> list[tuple[object, GroupRental]]:  # type: ignore[no-untyped-def]
    return [(t, c) for t in scenario.timelines for c in t.conditions if isinstance(c, GroupRental)]


def test_some_rentals_are_there_at_installation_and_registered_as_one_or_two() -> None:
    at_install = [(t, c) for s in _scenarios() for t, c in _rentals(s) if c.from_minute == 0]
    assert at_install
    for timeline, rental in at_install:
        assert timeline.residencies[0].from_minute == 0
        assert timeline.residencies[0].household.size == rental.people
        assert timeline.registered_occupants in (1, 2)
        assert rental.people >= timeline.unit.legal_cap + FAMILIES["field_mix"].min_over_cap


def test_staged_rentals_move_in_over_days_after_empty_days_of_works() -> None:
    staged = [
        t
        for s in _scenarios()
        for t, c in _rentals(s)
        if c.from_minute > 0 and len(t.residencies) > 3
    ]
    assert staged
    for timeline in staged:
        household, *arrivals = timeline.residencies
        assert household.to_minute is not None
        # The flat stands empty for at least three days of works.
        assert arrivals[0].from_minute - household.to_minute >= 2 * MINUTES_PER_DAY
        sizes = [r.household.size for r in arrivals]
        assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
        for before, after in itertools.pairwise(arrivals):
            assert before.to_minute == after.from_minute  # never overlapping, never a gap
        span = arrivals[-1].from_minute - arrivals[0].from_minute
        assert span >= 2 * MINUTES_PER_DAY


def test_a_sealing_leak_stops_for_some_hours_on_some_days_only() -> None:
    leak = Leak(0, None, 20.0, sealed_hours=2)
    days = [leak_flow((leak,), day) for day in range(30)]
    stopped = [sum(1 for slot in flow if slot == 0.0) for flow in days]
    assert any(n == 0 for n in stopped) and any(n >= 4 for n in stopped)
    assert max(stopped) <= 8  # at most two hours of four slots
    steady = leak_flow((Leak(0, None, 20.0),), 5)
    assert min(steady) > 0
    leaks = [
        (t, c)
        for s in _scenarios()
        for t in s.timelines
        for c in t.conditions
        if isinstance(c, Leak) and c.sealed_hours
    ]
    assert leaks and all(t.residencies[0].from_minute == 0 for t, _ in leaks)


def test_six_person_families_live_legally_in_small_three_room_flats() -> None:
    families = [
        (t, c)
        for s in _scenarios()
        for t in s.timelines
        for c in t.conditions
        if isinstance(c, LargeFamily) and t.unit.rooms == 3 and t.unit.area_m2 <= 100
    ]
    assert families
    for timeline, family in families:
        assert family.people <= timeline.unit.legal_cap
        assert timeline.registered_occupants == family.people


def test_most_flats_have_a_lock_and_many_rentals_do_not() -> None:
    scenarios = _scenarios()
    units = [t.unit for s in scenarios for t in s.timelines]
    assert sum(u.has_lock for u in units) / len(units) > 0.9
    rentals = [t.unit for s in scenarios for t, _ in _rentals(s)]
    assert any(not u.has_lock for u in rentals)


def test_the_older_families_are_unchanged_by_the_new_options() -> None:
    spec = FAMILIES["mixed_city"]
    assert spec.arrivals == (("at_once", 1),) and spec.min_over_cap == 3

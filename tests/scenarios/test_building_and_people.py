"""Buildings, households and group rentals are drawn within the rules of the issue."""

from __future__ import annotations

from collections import Counter

import pytest

from firmware_sim.scenarios import FAMILIES, OccupancyRule, build_scenario
from firmware_sim.scenarios.building_layout import AREA_BY_ROOMS, draw_building
from firmware_sim.scenarios.conditions import GroupRental
from firmware_sim.scenarios.people import Routine
from firmware_sim.scenarios.random_streams import stream
from firmware_sim.scenarios.residents import draw_family

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("units", [12, 150])
def test_buildings_follow_the_layout_rules(seed: int, units: int) -> None:
    layout = draw_building(seed, units, OccupancyRule(), 0.85)
    assert len(layout.units) == units
    assert 2 <= layout.units_per_floor <= 8
    per_floor = Counter(unit.floor for unit in layout.units)
    assert set(per_floor) == set(range(1, layout.floors + 1))
    assert all(1 <= n <= 8 for n in per_floor.values())
    assert 1 <= len(layout.elevators) <= 2
    for elevator in layout.elevators:
        assert len(elevator.initial_stops) == layout.floors
    for unit in layout.units:
        low, high = AREA_BY_ROOMS[unit.rooms]
        assert 30 <= low <= unit.area_m2 <= high <= 140
        assert unit.legal_cap == min(2 * unit.rooms, int(unit.area_m2 // 5))
        kinds = [meter.kind for meter in unit.meters]
        assert kinds == sorted(kinds) and {"water_m3", "electricity_kwh"} <= set(kinds)
    assert len({unit.unit_id for unit in layout.units}) == units


def test_the_legal_cap_rule_is_configurable() -> None:
    assert OccupancyRule().legal_cap(44.0, 1) == 2
    assert OccupancyRule().legal_cap(60.0, 2) == 4
    assert OccupancyRule(3, 8.0).legal_cap(60.0, 2) == 6
    assert OccupancyRule(3, 12.0).legal_cap(60.0, 2) == 5


def test_household_sizes_are_mostly_two_or_three() -> None:
    sizes = Counter(
        draw_family(stream(7, "household-test", n), "h0", legal_cap=8).size for n in range(2000)
    )
    assert set(sizes) <= {1, 2, 3, 4, 5}
    assert (sizes[2] + sizes[3]) / 2000 > 0.5
    assert sizes[2] > sizes[4] and sizes[3] > sizes[5]
    assert all(draw_family(stream(8, "small", n), "h0", legal_cap=2).size <= 2 for n in range(200))


def test_people_have_routines_and_unique_credentials() -> None:
    routines: Counter[Routine] = Counter()
    for n in range(500):
        household = draw_family(stream(3, "people", n), "h0", legal_cap=6)
        credentials = [c for p in household.persons for c in p.credentials]
        assert len(credentials) == len(set(credentials))
        for person in household.persons:
            routines[person.routine] += 1
            assert 0.03 <= person.water_m3_day <= 0.2
            assert 0.5 <= person.electricity_kwh_day <= 2.5
    assert routines[Routine.NIGHT_SHIFT] > 0 and routines[Routine.AT_HOME] > 0
    assert routines[Routine.DAY_WORKER] > routines[Routine.NIGHT_SHIFT]


@pytest.mark.parametrize("family", ["mixed_city", "hidden_rentals", "confounder_heavy"])
def test_group_rental_counts_follow_the_family(family: str) -> None:
    scenario = build_scenario(family, 17)
    rentals = [
        (t, c) for t in scenario.timelines for c in t.conditions if isinstance(c, GroupRental)
    ]
    spec = FAMILIES[family]
    assert len(rentals) == max(1, round(spec.rental_share * 150))
    for timeline, rental in rentals:
        assert rental.variant in dict(spec.variants)
        assert timeline.unit.rooms <= 2 and timeline.unit.area_m2 <= 80
        assert 10 * 1440 <= rental.from_minute < 73 * 1440
        others = [c for c in timeline.conditions if c.label not in ("group_rental", "vacancy")]
        assert others == []  # every false alarm on a rental flat is the rental's


@pytest.mark.parametrize("days", [1, 2, 3, 4])
def test_very_short_horizons_still_build(days: int) -> None:
    # A technician's quick look: odometers planned to wrap must find a moment to wrap in.
    scenario = build_scenario("mixed_city", 5, days=days)
    assert scenario.params.days == days

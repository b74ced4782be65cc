"""Same family, seed and parameters: byte-identical files; another seed: another building.
A flat's day does not depend on the order days or flats are generated in."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_sim.scenarios import ExportSummary, ScenarioReadings, build_scenario, export_scenario

pytestmark = pytest.mark.timeout(60)

FILES = ("units.csv", "meters.csv", "locks.csv", "elevators.csv", "trace.toml", "truth.csv")


def test_the_same_seed_gives_byte_identical_files(
    small_demo: ExportSummary, tmp_path: Path
) -> None:
    export_scenario("small_demo", 3, tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (small_demo.directory / name).read_bytes(), name


def test_another_seed_gives_another_building(small_demo: ExportSummary, tmp_path: Path) -> None:
    export_scenario("small_demo", 4, tmp_path)
    for name in ("meters.csv", "locks.csv", "elevators.csv", "truth.csv"):
        assert (tmp_path / name).read_bytes() != (small_demo.directory / name).read_bytes(), name


@pytest.mark.parametrize("family", ["mixed_city", "confounder_heavy", "hidden_rentals"])
def test_building_is_a_pure_function_of_its_inputs(family: str) -> None:
    assert build_scenario(family, 21, units=30, days=20) == build_scenario(
        family, 21, units=30, days=20
    )
    assert build_scenario(family, 21, units=30, days=20) != build_scenario(
        family, 22, units=30, days=20
    )


def test_days_and_flats_do_not_depend_on_generation_order() -> None:
    scenario = build_scenario("mixed_city", 2, units=24, days=10)
    in_order = ScenarioReadings(scenario)
    expected = {
        (t.unit.unit_id, day): in_order.unit_day(t.unit.unit_id, day)
        for day in range(10)
        for t in scenario.timelines
    }
    shuffled = ScenarioReadings(scenario)
    for unit_id, day in sorted(expected, key=lambda key: (-key[1], key[0][::-1])):
        assert shuffled.unit_day(unit_id, day) == expected[(unit_id, day)]


def test_a_confounder_leaves_the_other_flats_alone() -> None:
    """More flats and a different mix elsewhere must not change a flat's own household."""
    small = build_scenario("mixed_city", 9, units=30, days=20)
    large = build_scenario("mixed_city", 9, units=60, days=20)
    plain = [
        t
        for t in small.timelines
        if not t.conditions and not large.timeline(t.unit.unit_id).conditions
    ]
    assert plain
    for timeline in plain:
        other = large.timeline(timeline.unit.unit_id)
        assert other.residencies == timeline.residencies


def test_summer_city_is_the_same_building_in_summer() -> None:
    spring = build_scenario("mixed_city", 5, units=40, days=30)
    summer = build_scenario("summer_city", 5, units=40, days=30)
    assert summer.params.start.month == 6 and spring.params.start.month == 3
    for warm, mild in zip(summer.timelines, spring.timelines, strict=True):
        assert warm.residencies == mild.residencies
        # An odometer set to wrap is set by the consumption, which the season changes.
        assert [c for c in warm.conditions if c.label != "meter_rollover"] == [
            c for c in mild.conditions if c.label != "meter_rollover"
        ]

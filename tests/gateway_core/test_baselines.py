"""Baselines and the building's common factor: what every flat shares is divided out, what one
flat does alone is kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from gateway.core.baselines import (
    BaselineParams,
    UnitBaseline,
    common_factors,
    deflate,
    learn,
    note_empty,
    ratio_to_baseline,
    ratio_to_building,
)
from gateway.core.daily_usage import DailyUsage

PARAMS = BaselineParams(learn_days=3, min_units_for_common=5)
DAY = date(2026, 7, 1)


def usage(water: float | None, electricity: float | None, unit: str = "u") -> DailyUsage:
    return DailyUsage(unit, DAY, water, electricity, None, {}, ())


def learned(water: float, electricity: float) -> UnitBaseline:
    return UnitBaseline(learned={"water_m3": water, "electricity_kwh": electricity})


def test_a_baseline_is_the_median_of_the_first_days_and_then_stays() -> None:
    baseline = UnitBaseline()
    for water in (0.20, 0.30, 0.26):
        assert not baseline.learned
        baseline = learn(baseline, usage(water, 5.0), PARAMS)
    assert baseline.learned == {"water_m3": 0.26, "electricity_kwh": 5.0}
    assert learn(baseline, usage(1.0, 20.0), PARAMS) is baseline
    assert UnitBaseline.from_dict(baseline.to_dict()) == baseline
    assert UnitBaseline.from_dict({"samples": "junk"}) == UnitBaseline()


def test_a_heat_wave_is_divided_out_but_one_crowded_flat_is_not() -> None:
    baselines = [learned(0.3, 6.0) for _ in range(10)]
    # Every flat runs air conditioning: electricity 1.6 times its baseline. Flat 0 also holds
    # nine people instead of three: water and electricity far above the rest.
    today = [usage(0.3, 9.6) for _ in range(9)] + [usage(0.9, 28.8)]
    factors = common_factors(today, baselines, PARAMS)
    assert factors["electricity_kwh"] == pytest.approx(1.6)
    assert factors["water_m3"] == 1.0
    crowded = deflate(today[-1], factors)
    assert crowded.electricity_kwh == pytest.approx(18.0)  # still 3 times its baseline
    assert ratio_to_baseline(today[-1], baselines[-1], "water_m3", PARAMS) == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("ratio", "units", "factor"),
    [
        (0.3, 10, 1.0),  # everybody away for the holiday: never inflate
        (5.0, 10, 3.0),  # clamped at max_factor
        (1.6, 4, 1.0),  # too few flats to tell a common mode
    ],
)
def test_common_factor_bounds(ratio: float, units: int, factor: float) -> None:
    baselines = [learned(0.3, 6.0) for _ in range(units)]
    today = [usage(0.3 * ratio, 6.0 * ratio) for _ in range(units)]
    assert common_factors(today, baselines, PARAMS)["water_m3"] == pytest.approx(factor)


def test_vacant_baselines_and_missing_days_give_no_ratio() -> None:
    vacant = learned(0.001, 0.2)
    assert ratio_to_baseline(usage(0.5, 5.0), vacant, "water_m3", PARAMS) is None
    assert ratio_to_baseline(usage(None, 5.0), learned(0.3, 6), "water_m3", PARAMS) is None


def test_ratio_to_the_building_is_per_square_metre() -> None:
    today = [usage(0.2, 5.0), usage(0.4, 8.0), usage(0.3, 6.0), usage(0.9, 20.0)]
    areas = [40.0, 80.0, 60.0, 45.0]  # 0.005 m3 per m2 for the first three, 0.02 for the last
    assert ratio_to_building(today, areas, 3, "water_m3") == pytest.approx(0.02 / 0.005)
    assert ratio_to_building(today[:2], areas[:2], 0, "water_m3") is None


def test_the_last_day_without_water_is_remembered_and_survives_the_store() -> None:
    baseline = UnitBaseline()
    assert note_empty(baseline, usage(0.01, 0.8), PARAMS).last_empty == DAY  # fridge only
    assert note_empty(baseline, usage(0.12, 0.8), PARAMS) is baseline  # somebody showered
    assert note_empty(baseline, usage(None, 0.0), PARAMS) is baseline  # unknown, not empty
    emptied = note_empty(baseline, usage(0.0, 0.8), PARAMS)
    # Learning the baseline keeps it, and so does the store.
    for water in (0.20, 0.30, 0.26):
        emptied = learn(emptied, usage(water, 5.0), PARAMS)
    assert emptied.learned and emptied.last_empty == DAY
    assert UnitBaseline.from_dict(emptied.to_dict()) == emptied
    # Stored before the field existed, or damaged: no empty day known, nothing else lost.
    for stored in ({}, {"last_empty": "yesterday"}, {"last_empty": 3}):
        data = {k: v for k, v in emptied.to_dict().items() if k != "last_empty"} | stored
        assert UnitBaseline.from_dict(data) == replace(emptied, last_empty=None)

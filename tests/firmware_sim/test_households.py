"""The household model: deterministic, monotonic, consistent totals whose daily differences match
the norms, and household changes that take effect when the building file says."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_sim.building_config import UnitSpec
from firmware_sim.households import DAILY_VARIATION, NORMS, HouseholdModel

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CST)  # local midnight
DAY = timedelta(days=1)
FIRST_LOCAL_DAY = int((START.timestamp() + 8 * 3600) // 86400)  # local days since 1970


def unit(
    occupants: int = 3, changes: tuple[tuple[float, int], ...] = (), uid: str = "0101"
) -> UnitSpec:
    return UnitSpec.model_validate(
        {
            "unit_id": uid,
            "floor": 1,
            "area_m2": 60.0,
            "rooms": 2,
            "occupants": occupants,
            "meters": [
                {"kind": "electricity_kwh", "device": "eastron_sdm120", "device_id": 11,
                 "initial_total": 1000.0},
                {"kind": "water_m3", "device": "generic_water_u32", "device_id": 12,
                 "initial_total": 100.0},
                {"kind": "gas_m3", "device": "generic_gas_u32", "device_id": 13},
            ],
            "changes": [{"at_day": at, "occupants": n} for at, n in changes],
        }
    )  # fmt: skip


def model(
    occupants: int = 3, changes: tuple[tuple[float, int], ...] = (), seed: int = 1
) -> HouseholdModel:
    return HouseholdModel(unit(occupants, changes), START, seed=seed, utc_offset=timedelta(hours=8))


def daily(household: HouseholdModel, kind: str, day: int) -> float:
    return household.total_at(kind, START + (day + 1) * DAY) - household.total_at(
        kind, START + day * DAY
    )


# --- the totals ----------------------------------------------------------------------------


def test_totals_start_at_the_meters_initial_readings() -> None:
    household = model()
    assert household.total_at("electricity_kwh", START) == 1000.0
    assert household.total_at("water_m3", START) == 100.0
    assert household.total_at("gas_m3", START) == 0.0
    assert household.total_at("water_m3", START - timedelta(hours=5)) == 100.0


def test_same_seed_same_totals_other_seed_other_totals() -> None:
    t = START + timedelta(days=3, hours=7, minutes=13)
    first, again, other = model(seed=7), model(seed=7), model(seed=8)
    assert first.total_at("water_m3", t) == again.total_at("water_m3", t)
    assert first.total_at("electricity_kwh", t) == again.total_at("electricity_kwh", t)
    assert first.total_at("water_m3", t) != other.total_at("water_m3", t)


def test_totals_never_decrease_minute_by_minute_across_a_change() -> None:
    household = model(2, changes=((1.0, 9), (1.5, 0)))
    for kind in ("water_m3", "electricity_kwh", "gas_m3"):
        previous = household.total_at(kind, START)
        for minute in range(0, 3 * 24 * 60, 7):
            now = household.total_at(kind, START + timedelta(minutes=minute))
            assert now >= previous, (kind, minute)
            previous = now


@settings(max_examples=200, deadline=None)
@given(
    a=st.floats(min_value=-86_400, max_value=10 * 86_400),
    b=st.floats(min_value=-86_400, max_value=10 * 86_400),
    seed=st.integers(min_value=0, max_value=2**31),
    change_at=st.floats(min_value=0, max_value=8),
    occupants=st.integers(min_value=0, max_value=12),
)
def test_monotonic_for_any_two_instants(
    a: float, b: float, seed: int, change_at: float, occupants: int
) -> None:
    household = model(3, changes=((change_at, occupants),), seed=seed)
    early, late = START + timedelta(seconds=min(a, b)), START + timedelta(seconds=max(a, b))
    for kind in ("water_m3", "electricity_kwh", "gas_m3"):
        assert household.total_at(kind, early) <= household.total_at(kind, late)


def test_adding_up_every_poll_gives_the_fresh_total() -> None:
    household = model(2, changes=((1.0, 9),))
    end = START + timedelta(days=3)
    polls = [START + timedelta(minutes=15 * i) for i in range(3 * 96 + 1)]
    summed = dict.fromkeys(("water_m3", "electricity_kwh", "gas_m3"), 0.0)
    for t0, t1 in itertools.pairwise(polls):
        for kind, used in household.consumption_between(t0, t1).items():
            summed[kind] += used
    for kind, used in summed.items():
        fresh = household.total_at(kind, end) - household.total_at(kind, START)
        assert used == pytest.approx(fresh, rel=1e-9)


def test_the_rate_integrates_to_the_totals() -> None:
    """The closed-form totals agree with the hour-by-hour rate a gauge shows."""
    household = model(2, changes=((1.0, 9),))
    step = timedelta(minutes=1)
    for kind in ("water_m3", "electricity_kwh"):
        integral = sum(
            household.rate_per_hour(kind, START + i * step + step / 2) / 60 for i in range(2 * 1440)
        )
        total = household.total_at(kind, START + 2 * DAY) - household.total_at(kind, START)
        assert integral == pytest.approx(total, rel=1e-9)


# --- the numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("occupants", [1, 3, 5])
def test_daily_water_is_110_to_130_litres_a_person(occupants: int) -> None:
    low = 0.110 * (1 - DAILY_VARIATION) * occupants
    high = 0.130 * (1 + DAILY_VARIATION) * occupants
    household = model(occupants)
    days = [daily(household, "water_m3", day) for day in range(14)]
    assert all(low <= used <= high for used in days), days
    per_person = household.per_person_per_day("water_m3")
    assert 0.110 <= per_person <= 0.130
    mean = sum(days) / len(days)
    assert mean == pytest.approx(per_person * occupants, rel=DAILY_VARIATION)


def test_households_draw_their_own_water_norm_across_the_spread() -> None:
    norms = [model(seed=seed).per_person_per_day("water_m3") for seed in range(200)]
    assert 0.110 <= min(norms) < 0.112
    assert 0.128 < max(norms) <= 0.130
    assert sum(norms) / len(norms) == pytest.approx(0.120, abs=0.002)


@pytest.mark.parametrize("occupants", [0, 1, 4])
def test_daily_electricity_is_2_kwh_plus_1_5_a_person(occupants: int) -> None:
    expected = 2.0 + 1.5 * occupants
    household = model(occupants)
    for day in range(10):
        used = daily(household, "electricity_kwh", day)
        assert used == pytest.approx(expected, rel=DAILY_VARIATION + 1e-9)
        factor = household.day_factor("electricity_kwh", FIRST_LOCAL_DAY + day)
        assert used == pytest.approx(expected * factor, rel=1e-12)


def test_an_empty_flat_uses_no_water_and_only_standby_power() -> None:
    household = model(0)
    assert daily(household, "water_m3", 2) == 0.0
    night = household.rate_per_hour("electricity_kwh", START + timedelta(hours=3))
    evening = household.rate_per_hour("electricity_kwh", START + timedelta(hours=20))
    assert night == pytest.approx(evening, rel=0.11)  # flat, but for the day-to-day factor


def test_use_is_low_at_night_and_peaks_morning_and_evening() -> None:
    household = model(4)
    at = {
        h: household.rate_per_hour("water_m3", START + timedelta(hours=h, minutes=30))
        for h in range(24)
    }
    assert at[3] < at[7] / 10
    assert at[3] < at[20] / 10
    assert max(at, key=lambda h: at[h]) in (7, 20)
    assert at[7] > at[12] and at[20] > at[15]


def test_the_profiles_cover_exactly_one_day() -> None:
    for norm in NORMS.values():
        assert norm.profile[0] == 0.0
        assert norm.profile[24] == 1.0
        assert list(norm.profile) == sorted(norm.profile)


# --- household changes ---------------------------------------------------------------------


def test_occupancy_change_takes_effect_at_at_day() -> None:
    household = model(2, changes=((1.0, 9),))
    at_change = START + timedelta(days=1)
    assert household.occupants_at(START) == 2
    assert household.occupants_at(at_change - timedelta(seconds=1)) == 2
    assert household.occupants_at(at_change) == 9
    before = daily(household, "water_m3", 0)
    after = daily(household, "water_m3", 1)
    per_person = household.per_person_per_day("water_m3")
    assert before == pytest.approx(2 * per_person, rel=DAILY_VARIATION)
    assert after == pytest.approx(9 * per_person, rel=DAILY_VARIATION)
    assert after / before > 3.5


def test_a_change_at_noon_splits_the_day() -> None:
    household = model(1, changes=((0.5, 0),))  # the one occupant leaves at noon
    morning = household.total_at("water_m3", START + DAY / 2) - household.total_at(
        "water_m3", START
    )
    whole_day = daily(household, "water_m3", 0)
    assert whole_day == morning
    assert household.rate_per_hour("water_m3", START + timedelta(hours=19)) == 0.0


def test_voltage_wanders_around_230() -> None:
    household = model()
    volts = [household.mains_voltage(START + timedelta(hours=h)) for h in range(48)]
    assert all(227.5 <= v <= 232.5 for v in volts)
    assert len(set(volts)) > 10

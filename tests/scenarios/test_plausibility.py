"""Physical plausibility: households use what households use, and every confounder and group
rental leaves the mark it should in the numbers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from firmware_sim.scenarios import Scenario, ScenarioReadings, UnitTimeline, build_scenario
from firmware_sim.scenarios.condition_loads import business_day, charging_load
from firmware_sim.scenarios.conditions import (
    EvCharging,
    GroupRental,
    Guests,
    Holiday,
    HomeBusiness,
    LargeFamily,
    Leak,
    MeterOffline,
    MeterReplaced,
    MeterRollover,
    Vacancy,
)
from firmware_sim.scenarios.seasons import day_info

pytestmark = pytest.mark.timeout(60)
DAY = 1440


def daily(readings: ScenarioReadings, unit_id: str, kind: str, day: int) -> float:
    return readings.usage_before_day(unit_id, kind, day + 1) - readings.usage_before_day(
        unit_id, kind, day
    )


def full_days(start: int, end: int | None, days: int) -> range:
    """The days entirely inside ``[start, end)``."""
    last = days if end is None else min(days, end // DAY)
    return range(-(-start // DAY), last)


def with_condition(scenario: Scenario, kind: type) -> Iterator[tuple[UnitTimeline, object]]:
    for timeline in scenario.timelines:
        for condition in timeline.conditions:
            if isinstance(condition, kind):
                yield timeline, condition


def has(timeline: UnitTimeline, kind: type) -> bool:
    return any(isinstance(c, kind) for c in timeline.conditions)


@pytest.fixture(scope="module")
def heavy_readings(heavy: Scenario) -> ScenarioReadings:
    return ScenarioReadings(heavy)


def test_the_heavy_family_has_every_confounder(heavy: Scenario) -> None:
    labels = {c.label for t in heavy.timelines for c in t.conditions}
    assert labels >= {
        "large_family",
        "guests",
        "holiday",
        "vacancy",
        "leak",
        "home_business",
        "ev_charging",
        "meter_replaced",
        "meter_offline",
        "meter_rollover",
        "group_rental",
    }


def test_plain_households_use_plausible_amounts(
    heavy: Scenario, heavy_readings: ScenarioReadings
) -> None:
    days = heavy.params.days
    plain = [t for t in heavy.timelines if not t.conditions]
    assert len(plain) >= 5
    for timeline in plain:
        uid, people = timeline.unit.unit_id, timeline.registered_occupants
        water = heavy_readings.usage_before_day(uid, "water_m3", days) / days / people
        power = heavy_readings.usage_before_day(uid, "electricity_kwh", days) / days
        assert 0.06 <= water <= 0.20, (uid, water)
        assert 1.5 + people <= power <= 4 + 3 * people, (uid, power)
        if timeline.unit.meter("gas_m3") is not None:
            gas = heavy_readings.usage_before_day(uid, "gas_m3", days) / days / people
            assert 0.01 <= gas <= 0.6, (uid, gas)


def test_households_fit_their_flats(heavy: Scenario, hidden: Scenario) -> None:
    for scenario in (heavy, hidden):
        for timeline in scenario.timelines:
            for residency in timeline.residencies:
                if not has(timeline, GroupRental) or residency.from_minute == 0:
                    assert 1 <= residency.household.size <= timeline.unit.legal_cap
            first = timeline.residencies[0] if timeline.residencies else None
            if first is not None and first.from_minute == 0:
                assert timeline.registered_occupants == first.household.size


def test_large_families_are_legal(heavy: Scenario) -> None:
    found = list(with_condition(heavy, LargeFamily))
    assert found
    for timeline, family in found:
        assert isinstance(family, LargeFamily)
        assert 5 <= family.people <= timeline.unit.legal_cap
        assert timeline.residencies[0].household.size == family.people
        assert timeline.registered_occupants == family.people


def test_a_household_on_holiday_uses_almost_nothing(
    heavy: Scenario, heavy_readings: ScenarioReadings
) -> None:
    checked = 0
    for timeline, holiday in with_condition(heavy, Holiday):
        assert isinstance(holiday, Holiday)
        uid = timeline.unit.unit_id
        base = timeline.residencies[0].household.base_load_kwh_day
        for day in full_days(holiday.from_minute, holiday.to_minute, heavy.params.days):
            if not has(timeline, Leak):
                assert daily(heavy_readings, uid, "water_m3", day) < 0.002
            assert daily(heavy_readings, uid, "electricity_kwh", day) < 1.25 * base + 0.1
            if timeline.unit.meter("gas_m3") is not None:
                assert daily(heavy_readings, uid, "gas_m3", day) == 0.0
            checked += 1
    assert checked >= 10


def test_an_empty_flat_uses_only_standby(heavy: Scenario, heavy_readings: ScenarioReadings) -> None:
    checked = 0
    for timeline, vacancy in with_condition(heavy, Vacancy):
        assert isinstance(vacancy, Vacancy)
        uid = timeline.unit.unit_id
        for day in full_days(vacancy.from_minute, vacancy.to_minute, heavy.params.days):
            if not has(timeline, Leak):
                assert daily(heavy_readings, uid, "water_m3", day) == 0.0
            assert daily(heavy_readings, uid, "electricity_kwh", day) <= 1.25
            assert heavy_readings.unit_day(uid, day).lock_events == ()
            checked += 1
    assert checked >= 20


def test_a_leak_runs_all_night_while_quiet_flats_sleep(
    heavy: Scenario, heavy_readings: ScenarioReadings
) -> None:
    days = heavy.params.days
    for timeline, leak in with_condition(heavy, Leak):
        assert isinstance(leak, Leak)
        per_slot = leak.litres_per_hour / 1000 / 4
        for day in full_days(leak.from_minute, leak.to_minute, days):
            night = heavy_readings.unit_day(timeline.unit.unit_id, day).usage["water_m3"][:20]
            assert min(night) >= per_slot * 0.999
    quiet = [t for t in heavy.timelines if not t.conditions]
    sleeping_nights = sum(
        min(heavy_readings.unit_day(t.unit.unit_id, day).usage["water_m3"][4:20]) == 0.0
        for t in quiet
        for day in range(days)
    )
    assert sleeping_nights >= 0.9 * len(quiet) * days


def test_a_replaced_meter_falls_back_to_about_zero(
    heavy: Scenario, heavy_readings: ScenarioReadings
) -> None:
    found = list(with_condition(heavy, MeterReplaced))
    assert found
    for timeline, replaced in found:
        assert isinstance(replaced, MeterReplaced)
        uid, at = timeline.unit.unit_id, replaced.from_minute
        old = heavy_readings.meter_reading(uid, replaced.kind, at - 15)
        new = heavy_readings.meter_reading(uid, replaced.kind, at + 15)
        assert old is not None and new is not None
        assert new < 1.0 < old


def test_an_offline_meter_leaves_a_gap_and_keeps_counting(
    heavy: Scenario, heavy_readings: ScenarioReadings
) -> None:
    found = list(with_condition(heavy, MeterOffline))
    assert found
    for timeline, offline in found:
        assert isinstance(offline, MeterOffline)
        assert offline.to_minute is not None
        uid, kind = timeline.unit.unit_id, offline.kind
        inside = range(offline.from_minute, offline.to_minute, 15)
        assert all(heavy_readings.meter_reading(uid, kind, m) is None for m in inside)
        before = heavy_readings.meter_reading(uid, kind, offline.from_minute - 1)
        after = heavy_readings.meter_reading(uid, kind, offline.to_minute)
        assert before is not None and after is not None and after >= before


def test_an_old_odometer_wraps_to_zero(heavy: Scenario, heavy_readings: ScenarioReadings) -> None:
    found = list(with_condition(heavy, MeterRollover))
    assert found
    for timeline, rollover in found:
        assert isinstance(rollover, MeterRollover)
        uid, at = timeline.unit.unit_id, rollover.from_minute
        before = heavy_readings.meter_reading(uid, rollover.kind, at - 1)
        after = heavy_readings.meter_reading(uid, rollover.kind, at)
        assert before is not None and after is not None
        assert before > 99_990 and after < 1.0


def test_guests_are_in_the_flat_while_they_stay(
    heavy: Scenario, heavy_readings: ScenarioReadings
) -> None:
    found = list(with_condition(heavy, Guests))
    assert found
    for timeline, guests in found:
        assert isinstance(guests, Guests)
        size = timeline.residencies[0].household.size
        assert 2 <= len(guests.persons) <= 4
        stay = full_days(guests.from_minute, guests.to_minute, heavy.params.days)
        for day in stay:
            people = heavy_readings.unit_day(timeline.unit.unit_id, day).people_in
            assert people == size + len(guests.persons)


def test_a_car_charges_in_the_valley_tariff_and_an_e_bike_in_the_evening() -> None:
    car = EvCharging(0, None, "car", 9.0, 12.0, 7.0, 0b1111111, 0, 90)
    bike = EvCharging(0, None, "e-bike", 1.0, 2.0, 0.4, 0b1111111, 1080, 1290)
    monday = day_info(datetime(2026, 3, 2).date(), 0)
    for _ in range(20):
        seed = random.Random(1).random()
        load = charging_load([car], monday, True, random.Random(seed))
        assert 9.0 <= sum(load) <= 12.0 + 1e-9
        assert all(x == 0.0 for x in load[28:])  # done by 07:00
        evening = charging_load([bike], monday, True, random.Random(seed))
        assert sum(evening[:72]) == 0.0 and 0.5 <= sum(evening) <= 2.0 + 1e-9
    assert sum(charging_load([car], monday, False, random.Random(2))) == 0.0


def test_a_home_business_opens_on_workdays_only() -> None:
    shop = HomeBusiness(0, None, "online_shop", 4.0, 0.0, 2.0, 0b0111111, 540, 1080)
    start = datetime(2026, 3, 2).date()  # a Monday
    monday, sunday = day_info(start, 0), day_info(start, 6)
    opened = business_day([shop], monday, True, random.Random(3))
    assert 3.2 - 1e-9 <= sum(opened.kwh) <= 4.8 + 1e-9
    assert sum(opened.kwh[:36]) == 0.0 and sum(opened.kwh[72:]) == 0.0
    closed = business_day([shop], sunday, True, random.Random(3))
    assert sum(closed.kwh) == 0.0 and closed.visits == []


def test_group_rentals_are_crowded_and_use_far_more_per_square_metre(hidden: Scenario) -> None:
    readings = ScenarioReadings(hidden)
    days = hidden.params.days
    found = list(with_condition(hidden, GroupRental))
    assert len(found) >= 4
    assert {c.variant for _, c in found} >= {"frugal", "night_shift", "shared_pin"}  # type: ignore[attr-defined]
    for timeline, rental in found:
        assert isinstance(rental, GroupRental)
        unit = timeline.unit
        assert max(6, unit.legal_cap + 3) <= rental.people <= 12
        assert min(10, days // 3) * DAY <= rental.from_minute < (int(days * 0.8) + 1) * DAY
        assert timeline.registered_occupants in (1, 2)
        uid = unit.unit_id
        before_days = range(0, timeline.residencies[0].to_minute // DAY)  # type: ignore[operator]
        after_days = full_days(rental.from_minute, rental.to_minute, days)
        before = sum(daily(readings, uid, "water_m3", d) for d in before_days) / len(before_days)
        after = sum(daily(readings, uid, "water_m3", d) for d in after_days) / len(after_days)
        clearly_more = 1.4 if rental.variant == "frugal" else 2.0
        assert after / unit.area_m2 > clearly_more * before / unit.area_m2, (uid, before, after)
        if unit.has_lock:
            credentials = {
                event[2]
                for d in after_days
                for event in readings.unit_day(uid, d).lock_events
                if event[1] == "unlock" and event[2]
            }
            if rental.variant == "shared_pin":
                assert 1 <= len(credentials) <= 2
            else:
                assert len(credentials) >= rental.people // 2


def test_summer_and_winter_cost_electricity_that_spring_does_not() -> None:
    china = timezone(timedelta(hours=8))
    means = {}
    for month in (1, 4, 7):
        scenario = build_scenario(
            "mixed_city", 4, units=30, days=7, start=datetime(2026, month, 10, tzinfo=china)
        )
        readings = ScenarioReadings(scenario)
        plain = [t.unit.unit_id for t in scenario.timelines if not t.conditions]
        means[month] = sum(
            readings.usage_before_day(uid, "electricity_kwh", 7) for uid in plain
        ) / len(plain)
    assert means[7] > 1.3 * means[4]
    assert means[1] > 1.2 * means[4]

"""Daily usage: pro-rating to local days, coverage, extrapolation and flags."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from gateway.core.counters import CounterLimits, Reading
from gateway.core.daily_usage import METER_KINDS, DailyUsage, summarise_day

SHANGHAI = timezone(timedelta(hours=8))
DAY = date(2026, 3, 2)
MIDNIGHT = datetime(2026, 3, 2, 0, 0, tzinfo=SHANGHAI)
LIMITS = {
    "water_m3": CounterLimits(max_rate_per_hour=3.0, reset_below=1.0),
    "electricity_kwh": CounterLimits(max_rate_per_hour=12.0, reset_below=5.0),
    "gas_m3": CounterLimits(max_rate_per_hour=4.0, reset_below=1.0),
}
QUARTER = timedelta(minutes=15)


def steady(
    start: datetime, end: datetime, per_quarter: float, total: float = 100.0
) -> list[Reading]:
    """A reading every 15 minutes from ``start`` to ``end`` inclusive, rising steadily."""
    readings = []
    ts = start
    while ts <= end:
        readings.append(Reading(ts, total))
        ts += QUARTER
        total += per_quarter
    return readings


def water_day(readings: list[Reading], **kwargs: float) -> DailyUsage:
    return summarise_day("0302", DAY, SHANGHAI, {"water_m3": readings}, LIMITS, **kwargs)


def test_a_full_day_of_quarter_hour_readings() -> None:
    # From the last reading before midnight to the first after: 97 intervals, 96 inside the day.
    readings = steady(MIDNIGHT - QUARTER, MIDNIGHT + timedelta(days=1), 0.005)
    usage = water_day(readings)
    assert usage.water_m3 == pytest.approx(96 * 0.005)
    assert usage.coverage == {"water_m3": 1.0, "electricity_kwh": 0.0, "gas_m3": 0.0}
    assert usage.flags == ()
    assert (usage.unit_id, usage.day, usage.electricity_kwh, usage.gas_m3) == (
        "0302",
        DAY,
        None,
        None,
    )


def test_deltas_across_midnight_are_pro_rated() -> None:
    readings = [
        Reading(MIDNIGHT - timedelta(hours=6), 0.0),
        Reading(MIDNIGHT + timedelta(hours=6), 1.2),  # 12 h, half of it inside the day
        Reading(MIDNIGHT + timedelta(hours=30), 3.6),  # 24 h, 18 of them inside the day
    ]
    usage = water_day(readings)
    assert usage.water_m3 == pytest.approx(0.6 + 1.8)
    assert usage.coverage["water_m3"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("first_hour", "last_hour", "coverage", "amount", "flags"),
    [
        (0, 24, 1.0, 0.48, ()),
        (0, 23.75, 95 / 96, 0.48, ()),  # the first reading after midnight is not in yet
        (6, 24, 0.75, 0.48, ("water_m3:gap",)),  # extrapolated from 18 h
        (0, 12, 0.5, None, ("water_m3:gap", "water_m3:low_coverage")),
        (1, 24, 23 / 24, 0.48, ()),  # exactly 1 h missing: no gap flag yet
    ],
)
def test_coverage_and_extrapolation(
    first_hour: float,
    last_hour: float,
    coverage: float,
    amount: float | None,
    flags: tuple[str, ...],
) -> None:
    readings = steady(
        MIDNIGHT + timedelta(hours=first_hour), MIDNIGHT + timedelta(hours=last_hour), 0.005
    )
    usage = water_day(readings)
    assert usage.coverage["water_m3"] == pytest.approx(coverage)
    assert usage.water_m3 == (None if amount is None else pytest.approx(amount))
    assert usage.flags == flags


def test_min_coverage_is_a_parameter() -> None:
    readings = steady(MIDNIGHT, MIDNIGHT + timedelta(hours=12), 0.005)
    assert water_day(readings, min_coverage=0.5).water_m3 == pytest.approx(0.48)


def test_a_spike_is_excluded_and_lowers_coverage() -> None:
    readings = steady(MIDNIGHT, MIDNIGHT + timedelta(days=1), 0.005)
    noon = 48
    readings[noon] = Reading(readings[noon].ts, readings[noon].total + 500.0)
    usage = water_day(readings)
    assert usage.coverage["water_m3"] == pytest.approx(1 - 2 / 96)
    assert usage.water_m3 == pytest.approx(0.48)
    assert usage.flags == ("water_m3:implausible", "water_m3:negative")


def test_a_replaced_meter_is_flagged_and_counted_from_zero() -> None:
    before = steady(MIDNIGHT, MIDNIGHT + timedelta(hours=12), 0.005, total=523.0)
    after = steady(
        MIDNIGHT + timedelta(hours=12, minutes=15), MIDNIGHT + timedelta(days=1), 0.005, 0.005
    )
    usage = water_day(before + after)
    assert usage.water_m3 == pytest.approx(0.48)
    assert usage.flags == ("water_m3:reset",)


def test_invalid_readings_inside_the_day_are_flagged() -> None:
    readings = steady(MIDNIGHT, MIDNIGHT + timedelta(days=1), 0.005)
    readings[10] = Reading(readings[10].ts, float("nan"))
    usage = water_day(readings)
    assert usage.water_m3 == pytest.approx(0.48)
    assert usage.coverage["water_m3"] == pytest.approx(1.0)
    assert usage.flags == ("water_m3:invalid",)


def test_events_outside_the_day_are_not_flagged() -> None:
    readings = steady(MIDNIGHT - timedelta(hours=3), MIDNIGHT + timedelta(days=1), 0.005)
    readings[1] = Reading(readings[1].ts, float("nan"))  # 02:45 on the day before
    assert water_day(readings).flags == ()


def test_day_boundaries_follow_the_building_time_zone() -> None:
    # 1 m3 an hour exactly during the local (+08:00) day of 2 March, nothing otherwise.
    local_start = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    readings, total = [], 0.0
    for hour in range(-16, 33):
        ts = local_start + timedelta(hours=hour)
        readings.append(Reading(ts, total))
        total += 1.0 if 0 <= hour < 24 else 0.0
    local = summarise_day("u", DAY, SHANGHAI, {"water_m3": readings}, LIMITS)
    utc = summarise_day("u", DAY, UTC, {"water_m3": readings}, LIMITS)
    assert local.water_m3 == pytest.approx(24.0)
    assert utc.water_m3 == pytest.approx(16.0)  # 00:00Z to 16:00Z of 2 March


def test_all_kinds_at_once_and_unknown_kinds_ignored() -> None:
    end = MIDNIGHT + timedelta(days=1)
    readings = {
        "water_m3": steady(MIDNIGHT, end, 0.01),
        "electricity_kwh": steady(MIDNIGHT, end, 0.1, total=5000.0),
        "gas_m3": steady(MIDNIGHT, end, 0.005, total=300.0),
        "water_flow_lph": steady(MIDNIGHT, end, 1.0),
    }
    usage = summarise_day("u", DAY, SHANGHAI, readings, LIMITS)
    assert [usage.amount(kind) for kind in METER_KINDS] == pytest.approx([0.96, 9.6, 0.48])
    assert set(usage.coverage) == set(METER_KINDS)


def test_a_kind_without_limits_has_no_amount() -> None:
    readings = {"gas_m3": steady(MIDNIGHT, MIDNIGHT + timedelta(days=1), 0.005)}
    usage = summarise_day("u", DAY, SHANGHAI, readings, {})
    assert usage.gas_m3 is None
    assert usage.flags == ("gas_m3:no_limits",)


def test_no_readings_at_all() -> None:
    usage = summarise_day("u", DAY, SHANGHAI, {}, LIMITS)
    assert (usage.water_m3, usage.electricity_kwh, usage.gas_m3) == (None, None, None)
    assert usage.coverage == dict.fromkeys(METER_KINDS, 0.0)
    assert usage.flags == ()


def test_amount_of_an_unknown_kind() -> None:
    with pytest.raises(KeyError):
        summarise_day("u", DAY, SHANGHAI, {}, LIMITS).amount("steam_t")


def with_daytime_use(readings: list[Reading], extra_per_quarter: float) -> list[Reading]:
    """Adds consumption between 07:00 and 23:00 local time on top of ``readings``."""
    out, added = [], 0.0
    for before, reading in zip([None, *readings], readings, strict=False):
        if before is not None and 7 <= before.ts.astimezone(SHANGHAI).hour < 23:
            added += extra_per_quarter
        out.append(Reading(reading.ts, reading.total + added))
    return out


@pytest.mark.parametrize(
    ("night_flow_per_quarter", "quietest"),
    [
        (0.0, 0.0),  # a household that sleeps: some hour of the night uses nothing
        (0.0025, 0.010),  # a leak of 10 L/h never rests
    ],
)
def test_quietest_hour_sees_a_flow_that_never_rests(
    night_flow_per_quarter: float, quietest: float
) -> None:
    base = steady(MIDNIGHT - QUARTER, MIDNIGHT + timedelta(days=1), night_flow_per_quarter)
    usage = water_day(with_daytime_use(base, 0.02))
    assert usage.quietest_hour["water_m3"] == pytest.approx(quietest, abs=1e-9)
    assert usage.water_m3 == pytest.approx(96 * night_flow_per_quarter + 64 * 0.02)


def test_quietest_hour_ignores_hours_a_gap_leaves_uncovered() -> None:
    readings = steady(MIDNIGHT - QUARTER, MIDNIGHT + timedelta(days=1), 0.0025)
    # Three hours without readings at night: their consumption is smeared, not measured.
    gap = [r for r in readings if not 2 <= r.ts.astimezone(SHANGHAI).hour < 5]
    usage = water_day(gap)
    assert usage.quietest_hour["water_m3"] == pytest.approx(0.010)
    sparse = steady(MIDNIGHT - timedelta(hours=3), MIDNIGHT + timedelta(days=1), 0.03)[::12]
    assert "water_m3" not in water_day(sparse).quietest_hour  # 3-hourly readings say nothing

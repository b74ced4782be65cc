"""``ScenarioReadings`` (what a live simulator serves) shows exactly the exported numbers."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from firmware_sim.scenarios import (
    ExportSummary,
    LockRecord,
    Scenario,
    ScenarioReadings,
    build_scenario,
    export_trace,
)
from firmware_sim.scenarios.meters import as_float32

pytestmark = pytest.mark.timeout(60)


def read(directory: Path, name: str) -> list[list[str]]:
    with (directory / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


def test_meter_totals_match_the_export(
    small_demo: ExportSummary, small_demo_scenario: Scenario
) -> None:
    live = ScenarioReadings(small_demo_scenario)
    seen = 0
    for ts, unit_id, kind, total in read(small_demo.directory, "meters.csv")[::5]:
        value = live.meter_total_at(unit_id, kind, datetime.fromisoformat(ts))
        assert value is not None
        if kind == "electricity_kwh":
            assert as_float32(float(total)) == value
        else:
            assert float(total) == value
        seen += 1
    assert seen > 10_000


def test_lift_counters_match_the_export(
    small_demo: ExportSummary, small_demo_scenario: Scenario
) -> None:
    live = ScenarioReadings(small_demo_scenario)
    for ts, lift, floor, total in read(small_demo.directory, "elevators.csv")[::37]:
        assert live.elevator_stops_at(lift, int(floor), datetime.fromisoformat(ts)) == int(total)


def test_lock_events_match_the_export(
    small_demo: ExportSummary, small_demo_scenario: Scenario
) -> None:
    live = ScenarioReadings(small_demo_scenario)
    start = small_demo_scenario.params.start
    records = live.lock_events_between(start, start + timedelta(days=30))
    exported = [
        LockRecord(datetime.fromisoformat(ts), unit_id, event, credential)
        for ts, unit_id, event, credential in read(small_demo.directory, "locks.csv")
    ]
    assert records == exported


def test_readings_between_samples_interpolate_and_go_on_past_the_horizon(
    small_demo_scenario: Scenario,
) -> None:
    live = ScenarioReadings(small_demo_scenario)
    unit_id = small_demo_scenario.timelines[0].unit.unit_id
    start = small_demo_scenario.params.start
    before = live.meter_total_at(unit_id, "water_m3", start - timedelta(days=1))
    assert before == live.meter_total_at(unit_id, "water_m3", start)
    totals = [
        live.meter_total_at(unit_id, "electricity_kwh", start + timedelta(days=29, minutes=m))
        for m in range(0, 3 * 1440, 7)
    ]
    assert all(t is not None for t in totals)
    assert totals == sorted(totals)  # type: ignore[type-var]
    assert totals[-1] > totals[0]  # type: ignore[operator]


def test_other_intervals_sample_the_same_totals(tmp_path: Path) -> None:
    hourly = build_scenario("small_demo", 6, days=3, interval_min=60)
    summary = export_trace(hourly, tmp_path)
    meter_rows = read(tmp_path, "meters.csv")
    assert summary.meter_rows == len(meter_rows)
    stamps = sorted({datetime.fromisoformat(row[0]) for row in meter_rows})
    assert len(stamps) == 3 * 24 + 1
    fine = ScenarioReadings(build_scenario("small_demo", 6, days=3, interval_min=5))
    for ts, unit_id, kind, total in meter_rows[::11]:
        value = fine.meter_total_at(unit_id, kind, datetime.fromisoformat(ts))
        expected = as_float32(float(total)) if kind == "electricity_kwh" else float(total)
        assert value == expected


def test_the_rate_is_the_slot_use_per_hour(small_demo_scenario: Scenario) -> None:
    live = ScenarioReadings(small_demo_scenario)
    unit_id = small_demo_scenario.timelines[3].unit.unit_id
    start = small_demo_scenario.params.start
    for minute in range(0, 2 * 1440, 45):
        t = start + timedelta(minutes=minute + 5)
        rate = live.rate_per_hour_at(unit_id, "electricity_kwh", t)
        slot_start = minute // 15 * 15
        used = live.raw_usage(unit_id, "electricity_kwh", slot_start + 15) - live.raw_usage(
            unit_id, "electricity_kwh", slot_start
        )
        assert rate == pytest.approx(used * 4)
    assert live.rate_per_hour_at(unit_id, "water_m3", start - timedelta(hours=1)) == 0.0

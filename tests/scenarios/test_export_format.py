"""An exported scenario follows the building trace format (v1) to the letter."""

from __future__ import annotations

import csv
import itertools
import re
import time
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from firmware_sim.scenarios import GENERATOR_VERSION, ExportSummary, Scenario, export_scenario

pytestmark = pytest.mark.timeout(60)

UNIT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
CREDENTIAL = re.compile(r"^((fp|card|pin|app)-[0-9a-f]{4})?$")
HEADERS = {
    "units.csv": ["unit_id", "floor", "area_m2", "rooms", "registered_occupants"],
    "meters.csv": ["ts", "unit_id", "kind", "total"],
    "locks.csv": ["ts", "unit_id", "event", "credential"],
    "elevators.csv": ["ts", "elevator_id", "floor", "stops_total"],
    "truth.csv": ["unit_id", "label", "from", "to", "detail"],
}
LABELS = {
    "group_rental",
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
}


def rows(exported: ExportSummary, name: str) -> list[list[str]]:
    with (exported.directory / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_small_demo_builds_and_exports_in_under_five_seconds(tmp_path: Path) -> None:
    began = time.perf_counter()
    export_scenario("small_demo", 8, tmp_path)
    assert time.perf_counter() - began < 5.0


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_every_file_has_its_header_and_only_full_rows(small_demo: ExportSummary, name: str) -> None:
    header, *body = rows(small_demo, name)
    assert header == HEADERS[name]
    assert body
    assert all(len(row) == len(header) for row in body)


def test_units_are_valid_and_unique(small_demo: ExportSummary) -> None:
    _, *body = rows(small_demo, "units.csv")
    ids = [row[0] for row in body]
    assert len(ids) == len(set(ids)) == 12
    for unit_id, floor, area, room_count, registered in body:
        assert UNIT_ID.match(unit_id)
        assert int(floor) >= 1
        assert 30 <= float(area) <= 140
        assert 1 <= int(room_count) <= 4
        assert int(registered) >= 0


@pytest.mark.parametrize("name", ["meters.csv", "locks.csv", "elevators.csv"])
def test_rows_are_in_time_order_with_offsets(small_demo: ExportSummary, name: str) -> None:
    _, *body = rows(small_demo, name)
    stamps = [row[0] for row in body]
    assert all(TS.match(ts) for ts in stamps)
    parsed = [datetime.fromisoformat(ts) for ts in stamps]
    assert parsed == sorted(parsed)


def test_ties_are_ordered_by_unit_and_kind(small_demo: ExportSummary) -> None:
    _, *meters = rows(small_demo, "meters.csv")
    keys = [(datetime.fromisoformat(ts), unit, kind) for ts, unit, kind, _ in meters]
    assert keys == sorted(keys)
    assert len(keys) == len(set(keys))
    _, *lifts = rows(small_demo, "elevators.csv")
    lift_keys = [(datetime.fromisoformat(ts), lift, int(floor)) for ts, lift, floor, _ in lifts]
    assert lift_keys == sorted(lift_keys)


def test_readings_cover_the_horizon_at_the_interval(
    small_demo: ExportSummary, small_demo_scenario: Scenario
) -> None:
    params = small_demo_scenario.params
    _, *meters = rows(small_demo, "meters.csv")
    stamps = sorted({datetime.fromisoformat(row[0]) for row in meters})
    assert stamps[0] == params.start
    assert stamps[-1] == params.start + timedelta(days=params.days)
    steps = {b - a for a, b in itertools.pairwise(stamps)}
    assert steps == {timedelta(minutes=params.interval_min)}


def test_other_files_refer_only_to_listed_units_with_valid_values(
    small_demo: ExportSummary,
) -> None:
    units = {row[0] for row in rows(small_demo, "units.csv")[1:]}
    for _, unit_id, kind, total in rows(small_demo, "meters.csv")[1:]:
        assert unit_id in units
        assert kind in {"water_m3", "electricity_kwh", "gas_m3"}
        assert float(total) >= 0
    for _, unit_id, event, credential in rows(small_demo, "locks.csv")[1:]:
        assert unit_id in units
        assert event in {"unlock", "lock", "failed"}
        assert CREDENTIAL.match(credential)
        if event == "lock":
            assert credential == ""


def test_lift_counters_cover_every_floor_and_never_fall(
    small_demo: ExportSummary, small_demo_scenario: Scenario
) -> None:
    scenario = small_demo_scenario
    last: dict[tuple[str, int], int] = {}
    for _, lift, floor, total in rows(small_demo, "elevators.csv")[1:]:
        key = (lift, int(floor))
        assert 1 <= key[1] <= scenario.floors
        assert int(total) >= last.get(key, 0)
        last[key] = int(total)
    assert set(last) == {
        (e.elevator_id, f) for e in scenario.elevators for f in range(1, scenario.floors + 1)
    }


def test_trace_toml_names_the_scenario(small_demo: ExportSummary) -> None:
    meta = tomllib.loads((small_demo.directory / "trace.toml").read_text(encoding="utf-8"))
    assert meta["timezone"] == "+08:00"
    assert "small_demo" in meta["description"] and "seed 3" in meta["description"]
    assert meta["rules"] == {"max_persons_per_room": 2, "min_area_m2_per_person": 5.0}
    assert meta["scenario"] == {
        "family": "small_demo",
        "seed": 3,
        "units": 12,
        "days": 30,
        "start": "2026-03-01T00:00:00+08:00",
        "interval_min": 15,
        "generator_version": GENERATOR_VERSION,
    }


def test_truth_is_consistent(small_demo: ExportSummary, small_demo_scenario: Scenario) -> None:
    units = {row[0] for row in rows(small_demo, "units.csv")[1:]}
    _, *truth = rows(small_demo, "truth.csv")
    params = small_demo_scenario.params
    end = params.start + timedelta(days=params.days)
    for unit_id, label, start, stop, _ in truth:
        assert unit_id in units
        assert label in LABELS
        assert TS.match(start)
        assert params.start <= datetime.fromisoformat(start) < end
        if stop:
            assert datetime.fromisoformat(start) < datetime.fromisoformat(stop)
    rentals = [row for row in truth if row[1] == "group_rental"]
    assert len(rentals) == 1
    assert {row[1] for row in truth} == {"group_rental", "guests", "holiday", "leak"}
    assert truth == sorted(truth, key=lambda row: (row[0], datetime.fromisoformat(row[2]), row[1]))


def test_group_rental_registers_one_or_two(small_demo: ExportSummary) -> None:
    (rental,) = [row for row in rows(small_demo, "truth.csv")[1:] if row[1] == "group_rental"]
    registered = {row[0]: int(row[4]) for row in rows(small_demo, "units.csv")[1:]}
    assert registered[rental[0]] in (1, 2)
    assert "people=" in rental[4]


def test_summary_counts_the_rows_written(small_demo: ExportSummary) -> None:
    summary = small_demo
    assert summary.meter_rows == len(rows(small_demo, "meters.csv")) - 1
    assert summary.lock_rows == len(rows(small_demo, "locks.csv")) - 1
    assert summary.elevator_rows == len(rows(small_demo, "elevators.csv")) - 1
    assert summary.truth_rows == len(rows(small_demo, "truth.csv")) - 1

"""Writes a scenario as a building trace (format v1) with its ground truth.

The directory gets ``units.csv``, ``meters.csv``, ``locks.csv``, ``elevators.csv``,
``trace.toml`` and ``truth.csv`` (see docs/trace-format.md and docs/scenarios.md). Readings run
from the start to the end of the last day inclusive, every ``interval_min`` minutes. Rows are in
time order, ties broken by unit id and meter kind (lift id and floor; unit id, event and
credential), so the same scenario always gives byte-identical files.

The big files are streamed one simulated day at a time: only a day of the building (and each
meter's running totals) is in memory, whatever the length of the scenario. All numbers come from
``ScenarioReadings``, the same source a live simulator serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

import tomli_w

from firmware_sim.scenarios.meters import register_text
from firmware_sim.scenarios.model import MINUTES_PER_DAY, Scenario
from firmware_sim.scenarios.readings import ScenarioReadings
from firmware_sim.scenarios.schedules import DAY_S
from firmware_sim.scenarios.truth import TRUTH_COLUMNS, truth_rows

__all__ = ["GENERATOR_VERSION", "ExportSummary", "export_trace"]

GENERATOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class ExportSummary:
    directory: Path
    meter_rows: int
    lock_rows: int
    elevator_rows: int
    truth_rows: int


def _offset_text(scenario: Scenario) -> str:
    offset = scenario.params.start.utcoffset() or timedelta(0)
    minutes = round(offset / timedelta(minutes=1))
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _write_units(scenario: Scenario, path: Path) -> None:
    lines = ["unit_id,floor,area_m2,rooms,registered_occupants\n"]
    for timeline in scenario.timelines:
        unit = timeline.unit
        lines.append(
            f"{unit.unit_id},{unit.floor},{unit.area_m2:g},{unit.rooms},"
            f"{timeline.registered_occupants}\n"
        )
    path.write_text("".join(lines), encoding="utf-8")


def _write_meta(scenario: Scenario, path: Path) -> None:
    params = scenario.params
    meta = {
        "timezone": _offset_text(scenario),
        "description": scenario.description,
        "rules": {
            "max_persons_per_room": params.rule.max_persons_per_room,
            "min_area_m2_per_person": params.rule.min_area_m2_per_person,
        },
        "scenario": {
            "family": params.family,
            "seed": params.seed,
            "units": params.units,
            "days": params.days,
            "start": params.start.isoformat(),
            "interval_min": params.interval_min,
            "generator_version": GENERATOR_VERSION,
        },
    }
    path.write_text(tomli_w.dumps(meta), encoding="utf-8")


def _write_truth(scenario: Scenario, path: Path) -> int:
    rows = truth_rows(scenario)
    lines = [",".join(TRUTH_COLUMNS) + "\n"]
    lines += [",".join(row.as_csv(scenario)) + "\n" for row in rows]
    path.write_text("".join(lines), encoding="utf-8")
    return len(rows)


class _DayWriter:
    """Writes one day of readings of every device to the three streamed files."""

    def __init__(self, scenario: Scenario, meters: TextIO, locks: TextIO, lifts: TextIO) -> None:
        self._scenario = scenario
        self._readings = ScenarioReadings(scenario)
        self._files = meters, locks, lifts
        self._streams = [
            (timeline.unit.unit_id, meter)
            for timeline in scenario.timelines
            for meter in timeline.unit.meters
        ]
        self._last_text: dict[tuple[str, str], tuple[float | None, str]] = {}
        self.meter_rows = self.lock_rows = self.lift_rows = 0

    def write_day(self, day: int, seconds: Sequence[int], *, closing: bool = False) -> None:
        """Readings at ``seconds`` of ``day``; lock events of the whole day unless
        ``closing`` (the single reading that ends the last day)."""
        midnight = self._scenario.moment(day * MINUTES_PER_DAY)
        stamps = [(midnight + timedelta(seconds=s)).isoformat() for s in seconds]
        self._write_meters(day, seconds, stamps)
        if not closing:
            self._write_locks(day, midnight)
        self._write_lifts(day, seconds, stamps)

    def _write_meters(self, day: int, seconds: Sequence[int], stamps: list[str]) -> None:
        columns = []
        for unit_id, meter in self._streams:
            key = (unit_id, meter.kind)
            last_value, last_text = self._last_text.get(key, (None, ""))
            texts: list[str | None] = []
            for value in self._readings.meter_day_readings(unit_id, meter.kind, day, seconds):
                if value is None:
                    texts.append(None)
                    continue
                if value != last_value:
                    last_value, last_text = value, register_text(meter, value)
                texts.append(last_text)
            self._last_text[key] = (last_value, last_text)
            columns.append((f",{unit_id},{meter.kind},", texts))
        lines = [
            f"{stamp}{prefix}{texts[i]}\n"
            for i, stamp in enumerate(stamps)
            for prefix, texts in columns
            if texts[i] is not None
        ]
        self._files[0].write("".join(lines))
        self.meter_rows += len(lines)

    def _write_locks(self, day: int, midnight: datetime) -> None:
        events = sorted(
            (second, unit_id, event, credential)
            for unit_id, unit_day in self._readings.building_day(day).units.items()
            for second, event, credential in unit_day.lock_events
        )
        lines = [
            f"{(midnight + timedelta(seconds=second)).isoformat()},{unit_id},{event},{credential}\n"
            for second, unit_id, event, credential in events
        ]
        self._files[1].write("".join(lines))
        self.lock_rows += len(lines)

    def _write_lifts(self, day: int, seconds: Sequence[int], stamps: list[str]) -> None:
        counts = self._readings.elevator_day_counts(day, seconds)
        columns = [
            (f",{elevator.elevator_id},{floor},", counts[(lift, floor)])
            for lift, elevator in enumerate(self._scenario.elevators)
            for floor in range(1, self._scenario.floors + 1)
        ]
        lines = [
            f"{stamp}{prefix}{values[i]}\n"
            for i, stamp in enumerate(stamps)
            for prefix, values in columns
        ]
        self._files[2].write("".join(lines))
        self.lift_rows += len(lines)


def export_trace(scenario: Scenario, directory: Path) -> ExportSummary:
    """Write ``scenario`` as a trace in ``directory`` (created if needed; its six files are
    replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    _write_units(scenario, directory / "units.csv")
    _write_meta(scenario, directory / "trace.toml")
    truth = _write_truth(scenario, directory / "truth.csv")
    params = scenario.params
    step = params.interval_min * 60
    with (
        (directory / "meters.csv").open("w", encoding="utf-8", newline="") as meters,
        (directory / "locks.csv").open("w", encoding="utf-8", newline="") as locks,
        (directory / "elevators.csv").open("w", encoding="utf-8", newline="") as lifts,
    ):
        meters.write("ts,unit_id,kind,total\n")
        locks.write("ts,unit_id,event,credential\n")
        lifts.write("ts,elevator_id,floor,stops_total\n")
        writer = _DayWriter(scenario, meters, locks, lifts)
        for day in range(params.days):
            writer.write_day(day, range(0, DAY_S, step))
        writer.write_day(params.days, [0], closing=True)  # the end of the last day
    return ExportSummary(directory, writer.meter_rows, writer.lock_rows, writer.lift_rows, truth)

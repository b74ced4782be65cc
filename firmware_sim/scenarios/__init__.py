"""Scenarios: whole simulated buildings over weeks, with group rentals and their confounders.

A scenario is a building (floors of flats of varied area and rooms, one or two lifts) whose
households live by daily routines, some flats turning into group rentals on a chosen day and
others going through the legal situations that must not raise an overcrowding alert (large
families, guests, holidays, leaks, home businesses, vehicle charging, meter replacements and
outages, vacancy; the seasons everywhere). It is generated from a named family and a seed,
deterministically, and read in two ways:

- ``export_scenario`` writes it as a building trace (format v1) with ``truth.csv``;
- ``ScenarioReadings`` answers what any meter, lift counter or lock shows at any moment, for a
  live simulator serving the same scenario over the real protocols.

Modules, from the data up: ``model``, ``people``, ``conditions`` (frozen values);
``building_layout``, ``residents``, ``group_rentals``, ``confounders``, ``families`` (building
a scenario); ``seasons``, ``schedules``, ``presence``, ``usage``, ``condition_loads``,
``locks``, ``elevators``, ``unit_day`` (simulating a flat's day); ``meters`` (registers as real
meters show them); ``readings`` (random access, cached); ``truth``, ``trace_writer`` (files).
See docs/scenarios.md.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from firmware_sim.scenarios.errors import ScenarioError
from firmware_sim.scenarios.families import FAMILIES, Family, build_scenario, parse_start
from firmware_sim.scenarios.model import OccupancyRule, Scenario, ScenarioParams, UnitTimeline
from firmware_sim.scenarios.readings import LockRecord, ScenarioReadings
from firmware_sim.scenarios.trace_writer import GENERATOR_VERSION, ExportSummary, export_trace

__all__ = [
    "FAMILIES",
    "GENERATOR_VERSION",
    "ExportSummary",
    "Family",
    "LockRecord",
    "OccupancyRule",
    "Scenario",
    "ScenarioError",
    "ScenarioParams",
    "ScenarioReadings",
    "UnitTimeline",
    "build_scenario",
    "export_scenario",
    "export_trace",
    "parse_start",
]


def export_scenario(
    family: str,
    seed: int,
    directory: Path,
    *,
    units: int | None = None,
    days: int | None = None,
    start: datetime | None = None,
    interval_min: int = 15,
) -> ExportSummary:
    """Build the scenario of ``family`` for ``seed`` and write it as a trace in
    ``directory``."""
    scenario = build_scenario(
        family, seed, units=units, days=days, start=start, interval_min=interval_min
    )
    return export_trace(scenario, directory)

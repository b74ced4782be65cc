"""The scenario model: a building, its flats, who lives in each and when, and what went on.

Plain frozen values, built once per (family, seed, parameters) by ``families.build_scenario``.
Everything that turns them into readings (``unit_day``, ``readings``) or files
(``trace_writer``) only reads them. Time inside the model is counted in whole minutes since the
scenario's start (``minute 0`` is local midnight of the first day), so the model needs no clock
and no time zone; ``Scenario.moment`` converts at the edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from firmware_sim.scenarios.conditions import Condition
from firmware_sim.scenarios.people import Household

__all__ = [
    "METER_KINDS",
    "MINUTES_PER_DAY",
    "Elevator",
    "MeterSpec",
    "OccupancyRule",
    "Residency",
    "Scenario",
    "ScenarioParams",
    "Unit",
    "UnitTimeline",
]

MINUTES_PER_DAY = 1440
METER_KINDS = ("electricity_kwh", "gas_m3", "water_m3")  # the trace format's kinds, sorted


@dataclass(frozen=True, slots=True)
class Residency:
    """A household living in the flat from ``from_minute`` until ``to_minute`` (None: to the
    end). A household there at the start has ``from_minute`` 0."""

    household: Household
    from_minute: int
    to_minute: int | None = None


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """A meter as the trace shows it: its register at the start, the smallest step it counts,
    whether the register is an IEEE float32 (the SDM120's energy), and where an odometer-style
    register wraps to zero (None: it never does)."""

    kind: str
    initial_total: float
    resolution: float
    float32: bool = False
    wraps_at: float | None = None


@dataclass(frozen=True, slots=True)
class Unit:
    unit_id: str
    floor: int
    area_m2: float
    rooms: int
    legal_cap: int
    meters: tuple[MeterSpec, ...]
    has_lock: bool  # a smart lock that logs events; without one the flat has no lock rows
    lock_logs_leaving: bool  # the lock also logs ``lock`` when the door closes behind someone
    vacant_load_kwh_day: float  # what the meter counts while nobody lives there

    def meter(self, kind: str) -> MeterSpec | None:
        for meter in self.meters:
            if meter.kind == kind:
                return meter
        return None


@dataclass(frozen=True, slots=True)
class UnitTimeline:
    """A flat over the whole scenario: its households in time order (never overlapping), the
    conditions that held (confounders, group rental, meter events), and how many people were
    registered at the start."""

    unit: Unit
    residencies: tuple[Residency, ...]
    conditions: tuple[Condition, ...] = ()
    registered_occupants: int = 0


@dataclass(frozen=True, slots=True)
class Elevator:
    elevator_id: str
    initial_stops: tuple[int, ...]  # stops_total at the start, per floor from floor 1 up


@dataclass(frozen=True, slots=True)
class OccupancyRule:
    """The city's rule for a flat's legal cap (Shanghai's by default)."""

    max_persons_per_room: int = 2
    min_area_m2_per_person: float = 5.0

    def legal_cap(self, area_m2: float, rooms: int) -> int:
        """``min(max_persons_per_room x rooms, floor(area / min_area_m2_per_person))``."""
        by_area = math.floor(area_m2 / self.min_area_m2_per_person + 1e-9)
        return min(self.max_persons_per_room * rooms, by_area)


@dataclass(frozen=True, slots=True)
class ScenarioParams:
    family: str
    seed: int
    units: int
    days: int
    start: datetime  # local midnight of the first day, with its UTC offset
    interval_min: int  # minutes between two readings of a meter or a lift counter
    rule: OccupancyRule = OccupancyRule()


@dataclass(frozen=True, slots=True)
class Scenario:
    params: ScenarioParams
    floors: int
    units_per_floor: int
    elevators: tuple[Elevator, ...]
    timelines: tuple[UnitTimeline, ...]  # sorted by unit_id
    description: str

    def timeline(self, unit_id: str) -> UnitTimeline:
        for timeline in self.timelines:
            if timeline.unit.unit_id == unit_id:
                return timeline
        raise KeyError(unit_id)

    def moment(self, minute: float) -> datetime:
        """The local time ``minute`` minutes after the start."""
        return self.params.start + timedelta(minutes=minute)

    def minute_of(self, t: datetime) -> float:
        """Minutes from the start to ``t`` (an aware datetime; negative before the start)."""
        return (t - self.params.start) / timedelta(minutes=1)

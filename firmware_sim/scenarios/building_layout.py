"""The building: floors, the flats on each, their areas and rooms, meters, locks, lifts.

A residential tower repeats one floor plan from the ground floor up: 2 to 8 flats a floor,
each position (a "stack") with its own area and number of rooms, so flat 0302 and 1502 are
alike. The first position of the plan is always a small one-room flat and the last a large one,
so every building has flats a group rental would target and flats a large family can live in
legally. Rooms and area go together (one room: 30-55 m2, two: 50-90, three: 80-125, four:
110-140). Flat ids are the floor and the position, two digits each (``0302``).

Every flat has a water and an electricity meter, most have gas; most have a smart lock. Meters
start from the totals years of use left on them (a few old electricity meters are far enough
up for float32 to cost them resolution). Buildings above twelve floors have two lifts.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from firmware_sim.scenarios.meters import ODOMETER_WRAP
from firmware_sim.scenarios.model import Elevator, MeterSpec, OccupancyRule, Unit
from firmware_sim.scenarios.random_streams import stream

__all__ = ["AREA_BY_ROOMS", "BuildingLayout", "draw_building"]

AREA_BY_ROOMS = {1: (30.0, 55.0), 2: (50.0, 90.0), 3: (80.0, 125.0), 4: (110.0, 140.0)}
_ROOM_WEIGHTS = {1: 20, 2: 45, 3: 28, 4: 7}
MAX_FLOORS = 40


@dataclass(frozen=True, slots=True)
class BuildingLayout:
    floors: int
    units_per_floor: int
    units: tuple[Unit, ...]  # sorted by unit_id
    elevators: tuple[Elevator, ...]


def _floor_plan(rng: random.Random, per_floor: int) -> list[tuple[float, int]]:
    """(area, rooms) of each position of the floor plan."""
    rooms = [
        rng.choices(list(_ROOM_WEIGHTS), list(_ROOM_WEIGHTS.values()))[0] for _ in range(per_floor)
    ]
    rooms[0] = 1
    if per_floor >= 2:
        rooms[-1] = 4 if rng.random() < 0.3 else 3
    plan = []
    for count in rooms:
        low, high = AREA_BY_ROOMS[count]
        if count == 1:
            high = 50.0
        plan.append((round(rng.uniform(low, high), 1), count))
    return plan


def _meters(rng: random.Random) -> tuple[MeterSpec, ...]:
    old = rng.random() < 0.05  # far enough up for float32 to cost resolution
    electricity = rng.uniform(60_000, 150_000) if old else rng.uniform(300, 40_000)
    meters = [
        MeterSpec("electricity_kwh", round(electricity, 2), 0.01, float32=True),
        MeterSpec("water_m3", round(rng.uniform(30, 3000), 3), 0.001, wraps_at=ODOMETER_WRAP),
    ]
    if rng.random() < 0.75:
        gas = round(rng.uniform(10, 3000), 2)
        meters.append(MeterSpec("gas_m3", gas, 0.01, wraps_at=ODOMETER_WRAP))
    return tuple(sorted(meters, key=lambda m: m.kind))


def draw_building(seed: int, units: int, rule: OccupancyRule, lock_share: float) -> BuildingLayout:
    """A building of ``units`` flats; the layout comes from the stream ``(seed, "layout")``,
    each flat's meters and lock from ``(seed, "unit", unit_id)``."""
    rng = stream(seed, "layout")
    lowest = max(2, math.ceil(units / MAX_FLOORS))
    per_floor = rng.randint(lowest, max(lowest, min(8, units // 3)))
    floors = math.ceil(units / per_floor)
    plan = _floor_plan(rng, per_floor)
    flats = []
    for n in range(units):
        floor, position = n // per_floor + 1, n % per_floor
        area, rooms = plan[position]
        unit_id = f"{floor:02d}{position + 1:02d}"
        own = stream(seed, "unit", unit_id)
        flats.append(
            Unit(
                unit_id=unit_id,
                floor=floor,
                area_m2=area,
                rooms=rooms,
                legal_cap=rule.legal_cap(area, rooms),
                meters=_meters(own),
                has_lock=own.random() < lock_share,
                lock_logs_leaving=own.random() < 0.4,
                vacant_load_kwh_day=own.uniform(0.2, 1.0),
            )
        )
    lifts = 1 if floors <= 12 else 2
    elevators = tuple(
        Elevator(
            f"L{i + 1}",
            tuple(
                rng.randint(50_000, 400_000) if floor == 1 else rng.randint(2_000, 60_000)
                for floor in range(1, floors + 1)
            ),
        )
        for i in range(lifts)
    )
    return BuildingLayout(floors, per_floor, tuple(flats), elevators)

"""One flat's day, simulated: consumption per 15-minute slot, its lock log, its lift stops.

``simulate_unit_day`` is the one place where a flat's timeline meets the calendar. It asks
``presence`` who can be in, ``schedules`` when each of them goes out, ``usage`` and
``condition_loads`` what that costs per slot, ``locks`` and ``elevators`` what the doors and the
lift record. Every draw comes from streams named (seed, purpose, flat, day) and, for routines,
the person too, so a day never depends on the days before it or on other flats.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_sim.scenarios.condition_loads import business_day, charging_load, leak_flow
from firmware_sim.scenarios.elevators import Stop, courier_times, flat_stops
from firmware_sim.scenarios.locks import LockEvent, arrivals, departures, lock_events
from firmware_sim.scenarios.model import UnitTimeline
from firmware_sim.scenarios.people import Person
from firmware_sim.scenarios.presence import (
    SLOTS_PER_DAY,
    home_fractions,
    occupants_on_day,
    residents_on_day,
)
from firmware_sim.scenarios.random_streams import stream
from firmware_sim.scenarios.schedules import DAY_S, Window, merge_windows, outings
from firmware_sim.scenarios.seasons import DayInfo
from firmware_sim.scenarios.usage import (
    base_load,
    bursts,
    climate_load,
    jittered,
    people_expected,
)

__all__ = ["GAS_QUANTUM_M3", "WATER_QUANTUM_M3", "UnitDay", "simulate_unit_day"]

WATER_QUANTUM_M3 = 0.008  # about one flush
GAS_QUANTUM_M3 = 0.02  # a burner for a few minutes


@dataclass(frozen=True, slots=True)
class UnitDay:
    usage: dict[str, tuple[float, ...]]  # per meter kind, per slot: m3 or kWh used
    lock_events: tuple[LockEvent, ...]  # empty without a smart lock
    stops: tuple[Stop, ...]
    people_in: int  # people who were in the flat at some moment of the day


def _plus(*series: list[float]) -> list[float]:
    return [sum(values) for values in zip(*series, strict=True)]


def simulate_unit_day(seed: int, timeline: UnitTimeline, day: DayInfo, lifts: int) -> UnitDay:
    """Day ``day.index`` of the flat of ``timeline``, in a building with ``lifts`` lifts."""
    unit = timeline.unit
    uid = unit.unit_id
    trips: list[tuple[Person, list[Window]]] = []
    homes: list[tuple[Person, list[float]]] = []
    delivery_rates = []
    for occupant in occupants_on_day(timeline, day.index):
        own = outings(
            occupant.person, day, stream(seed, "schedule", uid, occupant.person.name, day.index)
        )
        out = merge_windows([*own, *occupant.away])
        if out == [(0, DAY_S)]:
            continue
        trips.append((occupant.person, out))
        homes.append((occupant.person, home_fractions(out)))
        if occupant.household is not None:
            delivery_rates.append(occupant.household.deliveries_per_person_day)
    if homes:
        anyone = [max(home[slot] for _, home in homes) for slot in range(SLOTS_PER_DAY)]
    else:
        anyone = [0.0] * SLOTS_PER_DAY
    residents = residents_on_day(timeline, day.index)
    lived_in = bool(homes) and bool(residents)

    extras = stream(seed, "extras", uid, day.index)
    business = business_day(timeline.conditions, day, lived_in, extras)
    charging = charging_load(timeline.conditions, day, lived_in, extras)
    water_expected, power_expected, gas_expected = people_expected(homes, day)

    water_rng = stream(seed, "water", uid, day.index)
    water = _plus(
        bursts(_plus(water_expected, business.water_m3), WATER_QUANTUM_M3, water_rng),
        leak_flow(timeline.conditions, day.index),
    )
    climate_use = max((household.climate_use for household, _ in residents), default=0.0)
    power_rng = stream(seed, "electricity", uid, day.index)
    power = _plus(
        jittered(power_expected, 0.4, power_rng),
        jittered(base_load(residents, unit.vacant_load_kwh_day), 0.2, power_rng),
        climate_load(unit.area_m2, climate_use, anyone, day),
        charging,
        business.kwh,
    )
    usage = {"water_m3": tuple(water), "electricity_kwh": tuple(power)}
    if unit.meter("gas_m3") is not None:
        gas_rng = stream(seed, "gas", uid, day.index)
        usage["gas_m3"] = tuple(bursts(gas_expected, GAS_QUANTUM_M3, gas_rng))

    locks: list[LockEvent] = []
    if unit.has_lock:
        locks = lock_events(trips, unit.lock_logs_leaving, stream(seed, "lock", uid, day.index))
    lift_rng = stream(seed, "lift", uid, day.index)
    rate = max(delivery_rates, default=0.0)
    visits = courier_times(len(homes), rate, anyone, lift_rng) + business.visits
    coming = [second for second, _ in arrivals(trips)]
    stops = flat_stops(unit.floor, departures(trips), coming, visits, lifts, lift_rng)
    return UnitDay(usage, tuple(locks), tuple(stops), len(homes))

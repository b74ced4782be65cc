"""How much water, electricity and gas a flat uses in each 15-minute slot of a day.

Theory of operation. Each person has daily norms (``Person.water_m3_day`` and so on) that hold
on an ordinary day of their routine. The norm is spread over the slots they are at home by an
hourly activity profile (showers in the morning and the evening, cooking at meals, screens and
lights in the evening, little while asleep; a night-shift worker's profile is turned round), and
divided by the profile's weight over the routine's nominal time at home, so a worker on a
workday uses about the norm, a worker at home all Sunday somewhat more, and nobody away uses
nothing. Water and gas come in bursts (a flush, a shower, a burner lit): the expected amount of a
slot is realised as a random whole number of draws, so most night slots are exactly zero.
Electricity adds to the people's share a base load that never stops (fridge, router; a much
smaller standby while the flat is empty) and air conditioning or heating that scales with the
floor area and the season, not with the number of people, whenever somebody is in.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from firmware_sim.scenarios.people import Household, Person, Routine
from firmware_sim.scenarios.presence import SLOTS_PER_DAY, slot_overlaps
from firmware_sim.scenarios.schedules import Window
from firmware_sim.scenarios.seasons import DayInfo

__all__ = [
    "base_load",
    "bursts",
    "climate_load",
    "jittered",
    "people_expected",
]

# Relative activity per local hour (00:00-01:00 first) of a person at home.
# fmt: off
_DAY_WATER = (0.4, 0.15, 0.08, 0.06, 0.08, 0.4, 2.2, 3.0, 1.8, 0.9, 0.8, 1.0,
              1.1, 0.7, 0.6, 0.6, 0.8, 1.2, 1.8, 2.0, 2.2, 2.4, 1.8, 0.9)
_NIGHT_WATER = (1.0, 0.9, 0.8, 0.7, 0.7, 0.8, 1.2, 2.0, 3.0, 1.5, 0.1, 0.08,
                0.08, 0.08, 0.1, 0.3, 1.2, 1.8, 2.0, 1.5, 1.2, 1.2, 1.2, 1.1)
_DAY_POWER = (0.3, 0.15, 0.12, 0.12, 0.12, 0.3, 1.0, 1.4, 1.0, 0.7, 0.7, 0.9,
              1.0, 0.8, 0.7, 0.7, 0.8, 1.2, 1.8, 2.2, 2.4, 2.3, 1.7, 0.8)
_NIGHT_POWER = (1.6, 1.5, 1.4, 1.3, 1.3, 1.3, 1.4, 1.6, 1.4, 0.6, 0.15, 0.12,
                0.12, 0.12, 0.15, 0.4, 1.0, 1.4, 1.8, 1.6, 1.5, 1.6, 1.7, 1.7)
_DAY_GAS = (0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 1.5, 2.5, 0.6, 0.1, 0.2, 2.0,
            1.5, 0.2, 0.05, 0.05, 0.2, 2.0, 3.0, 1.5, 0.3, 0.2, 0.1, 0.05)
_NIGHT_GAS = (0.5, 0.3, 0.1, 0.0, 0.0, 0.0, 0.2, 1.0, 2.0, 0.5, 0.0, 0.0,
              0.0, 0.0, 0.0, 0.2, 1.5, 2.5, 1.0, 0.2, 0.1, 0.1, 0.2, 0.4)
# Air conditioning or heating, when somebody is in: mostly evenings and nights (bedrooms).
_CLIMATE = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.5, 0.5, 0.6, 0.6, 0.6,
            0.6, 0.6, 0.6, 0.6, 0.6, 0.8, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0)
# fmt: on

# Minutes at home on an ordinary day of each routine: the day the norms describe.
_NOMINAL_HOME = {
    Routine.DAY_WORKER: ((0, 480), (1140, 1440)),
    Routine.STUDENT: ((0, 435), (1020, 1440)),
    Routine.AT_HOME: ((0, 510), (600, 900), (990, 1440)),
    Routine.NIGHT_SHIFT: ((480, 1200),),
    Routine.GUEST: ((0, 600), (1080, 1440)),
}
COOLING_KWH_PER_M2 = 0.11  # a day of summer peak, somebody in all day
HEATING_KWH_PER_M2 = 0.09  # a day of winter peak
SUMMER_WATER = 0.15  # extra water (showers) at the summer peak


def _slots(hourly: Sequence[float]) -> tuple[float, ...]:
    return tuple(value for value in hourly for _ in range(SLOTS_PER_DAY // 24))


def _shares(hourly: Sequence[float], routine: Routine) -> tuple[float, ...]:
    """The profile per slot, scaled so the routine's nominal time at home sums to one."""
    per_slot = _slots(hourly)
    slot_min = 1440 // SLOTS_PER_DAY
    nominal = sum(
        per_slot[slot]
        for start, end in _NOMINAL_HOME[routine]
        for slot in range(start // slot_min, end // slot_min)
    )
    return tuple(value / nominal for value in per_slot)


def _profiles_of(routine: Routine) -> tuple[tuple[float, ...], ...]:
    night = routine is Routine.NIGHT_SHIFT
    return (
        _shares(_NIGHT_WATER if night else _DAY_WATER, routine),
        _shares(_NIGHT_POWER if night else _DAY_POWER, routine),
        _shares(_NIGHT_GAS if night else _DAY_GAS, routine),
    )


_PROFILES = {routine: _profiles_of(routine) for routine in Routine}
_CLIMATE_SHARE = tuple(value / sum(_slots(_CLIMATE)) for value in _slots(_CLIMATE))


def people_expected(
    at_home: Sequence[tuple[Person, Sequence[float]]], day: DayInfo
) -> tuple[list[float], list[float], list[float]]:
    """Expected water (m3), electricity (kWh) and gas (m3) per slot of the people at home;
    ``at_home`` pairs each person with their share of every slot spent at home."""
    water = [0.0] * SLOTS_PER_DAY
    power = [0.0] * SLOTS_PER_DAY
    gas = [0.0] * SLOTS_PER_DAY
    summer = 1.0 + SUMMER_WATER * day.cooling
    for person, home in at_home:
        water_share, power_share, gas_share = _PROFILES[person.routine]
        w = person.water_m3_day * summer
        e = person.electricity_kwh_day
        g = person.gas_m3_day
        for slot, fraction in enumerate(home):
            if fraction:
                water[slot] += fraction * w * water_share[slot]
                power[slot] += fraction * e * power_share[slot]
                gas[slot] += fraction * g * gas_share[slot]
    return water, power, gas


def bursts(expected: Sequence[float], quantum: float, rng: random.Random) -> list[float]:
    """``expected`` realised as whole draws of about ``quantum`` each (mean preserved)."""
    realised = []
    for amount in expected:
        if amount <= 0.0:
            realised.append(0.0)
            continue
        draws = int(amount / quantum + rng.random())
        realised.append(draws * quantum * rng.uniform(0.7, 1.3) if draws else 0.0)
    return realised


def jittered(expected: Sequence[float], spread: float, rng: random.Random) -> list[float]:
    """``expected`` times a factor in ``1 +- spread`` per slot (mean preserved)."""
    return [a * rng.uniform(1.0 - spread, 1.0 + spread) if a else 0.0 for a in expected]


def base_load(residents: Sequence[tuple[Household, Window]], vacant_kwh_day: float) -> list[float]:
    """kWh per slot that runs whoever is in: the household's base load while one lives
    there, the empty flat's standby otherwise."""
    load = [vacant_kwh_day / SLOTS_PER_DAY] * SLOTS_PER_DAY
    for household, window in residents:
        extra = (household.base_load_kwh_day - vacant_kwh_day) / SLOTS_PER_DAY
        for slot, share in slot_overlaps(window):
            load[slot] += extra * share
    return load


def climate_load(
    area_m2: float, climate_use: float, anyone_home: Sequence[float], day: DayInfo
) -> list[float]:
    """kWh per slot of air conditioning or heating, for the share of each slot somebody is in."""
    peak = area_m2 * (COOLING_KWH_PER_M2 * day.cooling + HEATING_KWH_PER_M2 * day.heating)
    daily = peak * climate_use
    if daily <= 0.0:
        return [0.0] * SLOTS_PER_DAY
    return [daily * share * home for share, home in zip(_CLIMATE_SHARE, anyone_home, strict=True)]

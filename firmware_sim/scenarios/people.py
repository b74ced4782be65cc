"""The people of a scenario: their routines, their own consumption, their lock credentials."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Household", "Person", "Routine"]


class Routine(StrEnum):
    """The shape of a person's day: when they go out and when they sleep."""

    DAY_WORKER = "day_worker"  # out on workdays, roughly 08:00-19:00
    STUDENT = "student"  # out on school days, roughly 07:15-17:00 (seniors until 21:00)
    AT_HOME = "at_home"  # retired, a carer, a small child: short outings only
    NIGHT_SHIFT = "night_shift"  # out on work nights, roughly 20:00-08:00; sleeps in the day
    GUEST = "guest"  # a visitor: out sightseeing most days


@dataclass(frozen=True, slots=True)
class Person:
    name: str  # unique within the flat's history, e.g. "h0p2"
    routine: Routine
    credentials: tuple[str, ...]  # lock credentials, most used first; () = let in by others
    water_m3_day: float  # own use on an ordinary day of the routine
    electricity_kwh_day: float
    gas_m3_day: float
    leave_minute: int  # usual time of leaving on a workday (minutes after midnight)
    return_minute: int  # usual time of coming back
    workdays: int  # weekdays worked as a bit mask, Monday = bit 0 (night shift: nights begun)


@dataclass(frozen=True, slots=True)
class Household:
    persons: tuple[Person, ...]
    base_load_kwh_day: float  # fridge, router, standby: runs whether anybody is in or not
    climate_use: float  # habit of air conditioning and heating, about 0.4 to 1.4
    deliveries_per_person_day: float  # food and parcel couriers riding the lift to the flat

    @property
    def size(self) -> int:
        return len(self.persons)

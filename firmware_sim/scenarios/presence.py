"""Who can be in a flat on a given day, and for what share of each 15-minute slot they are.

A flat's timeline says which household lives there when, when it is away on holiday, and when
guests stay. For one day, ``occupants_on_day`` lists every person who lives or stays there for
at least part of it, each with the windows they cannot be home: before moving in, after moving
out, while away on holiday, outside a guest's stay. The person's own routine adds their trips
out (``schedules``); ``home_fractions`` turns the union of both into the share of every slot
spent at home, which drives consumption; the window ends drive the lock and the lift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from firmware_sim.scenarios.conditions import Guests, Holiday
from firmware_sim.scenarios.model import MINUTES_PER_DAY, UnitTimeline
from firmware_sim.scenarios.people import Household, Person
from firmware_sim.scenarios.schedules import DAY_S, Window, merge_windows

__all__ = [
    "SLOTS_PER_DAY",
    "SLOT_S",
    "Occupant",
    "day_window",
    "home_fractions",
    "occupants_on_day",
    "residents_on_day",
    "slot_overlaps",
]

SLOT_S = 900
SLOTS_PER_DAY = DAY_S // SLOT_S


@dataclass(frozen=True, slots=True)
class Occupant:
    person: Person
    household: Household | None  # None for a guest
    away: tuple[Window, ...]  # windows of the day the person cannot be home


def day_window(from_minute: int, to_minute: int | None, day: int) -> Window | None:
    """The part of ``[from_minute, to_minute)`` inside ``day``, in seconds of that day."""
    day_start = day * MINUTES_PER_DAY
    start = max(from_minute - day_start, 0) * 60
    end = DAY_S if to_minute is None else min(max(to_minute - day_start, 0) * 60, DAY_S)
    return (start, end) if start < end else None


def _outside(window: Window) -> list[Window]:
    start, end = window
    return [w for w in ((0, start), (end, DAY_S)) if w[0] < w[1]]


def residents_on_day(timeline: UnitTimeline, day: int) -> list[tuple[Household, Window]]:
    """The households living in the flat on ``day``, each with the part of the day they do."""
    present = []
    for residency in timeline.residencies:
        window = day_window(residency.from_minute, residency.to_minute, day)
        if window is not None:
            present.append((residency.household, window))
    return present


def occupants_on_day(timeline: UnitTimeline, day: int) -> list[Occupant]:
    """Everybody who lives or stays in the flat for part of ``day``, residents first."""
    away_on_holiday = []
    for condition in timeline.conditions:
        if isinstance(condition, Holiday):
            window = day_window(condition.from_minute, condition.to_minute, day)
            if window is not None:
                away_on_holiday.append(window)
    occupants: list[Occupant] = []
    for household, window in residents_on_day(timeline, day):
        away = tuple(merge_windows([*_outside(window), *away_on_holiday]))
        occupants.extend(Occupant(person, household, away) for person in household.persons)
    for condition in timeline.conditions:
        if isinstance(condition, Guests):
            window = day_window(condition.from_minute, condition.to_minute, day)
            if window is not None:
                away = tuple(_outside(window))
                occupants.extend(Occupant(person, None, away) for person in condition.persons)
    return occupants


def slot_overlaps(window: Window) -> Iterable[tuple[int, float]]:
    """(slot, share of the slot) for every 15-minute slot that ``window`` touches."""
    start, end = window
    for slot in range(start // SLOT_S, (end - 1) // SLOT_S + 1):
        low = max(start, slot * SLOT_S)
        high = min(end, (slot + 1) * SLOT_S)
        if high > low:
            yield slot, (high - low) / SLOT_S


def home_fractions(out: Iterable[Window]) -> list[float]:
    """Share of every slot of the day spent at home, given the (disjoint) windows out."""
    fractions = [1.0] * SLOTS_PER_DAY
    for window in out:
        for slot, share in slot_overlaps(window):
            fractions[slot] -= share
    return [f if f > 1e-9 else 0.0 for f in fractions]

"""Group rentals: a small or medium flat whose household is replaced by 6 to 12 people.

On a chosen day (from day 10, or a third of a short horizon, to 80% of the horizon) the flat's
one or two registered residents move out and, after a few empty days or none, a group moves in:
at least the legal cap plus three, mostly young workers with long days out. Registration does
not change, so the flat still shows its one or two registered occupants. Variants make the group
harder to see:

- ``ordinary``: each person has a credential of their own, usage like anybody's;
- ``frugal``: 60-80 litres of water and well under a kWh a day each, little cooking;
- ``night_shift``: half the group works nights, so the flat is busy day and night;
- ``shared_pin``: everybody opens the door with one or two shared PINs.

Some cases are rectified: everybody leaves on a later day and the flat stands empty.

Two ways of arriving are drawn by the family (``arrival``):

- ``at_install``: the group already lives there when the gateway is installed (from minute
  0); the registration still shows one or two people;
- ``staged``: the household leaves, the landlord's workers put up partitions for 3 to 8 days
  (the flat stands empty at night; the works' own power tools are not simulated), then the
  tenants move in over 3 to 6 days, a few each day (truth: ``from`` is the first arrival).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from firmware_sim.scenarios.conditions import Condition, GroupRental, Vacancy
from firmware_sim.scenarios.model import MINUTES_PER_DAY, Residency, Unit, UnitTimeline
from firmware_sim.scenarios.people import Household, Person, Routine
from firmware_sim.scenarios.random_streams import hex_tag
from firmware_sim.scenarios.residents import MON_TO_SAT, draw_credentials, random_days

__all__ = ["VARIANTS", "fits_group_rental", "group_household", "group_rental"]

DAY = MINUTES_PER_DAY
VARIANTS = ("ordinary", "frugal", "night_shift", "shared_pin")
MAX_PEOPLE = 12


@dataclass(frozen=True, slots=True)
class _Norms:
    """Ranges a variant's people and household are drawn from (per person per day)."""

    night_share: float
    water_m3: tuple[float, float]
    kwh: tuple[float, float]
    gas_m3: tuple[float, float]
    base_load_kwh: tuple[float, float]


_NORMS = {
    "ordinary": _Norms(0.15, (0.085, 0.12), (0.8, 1.4), (0.05, 0.15), (2.0, 3.5)),
    "frugal": _Norms(0.15, (0.06, 0.08), (0.4, 0.7), (0.0, 0.05), (1.2, 2.0)),
    "night_shift": _Norms(0.5, (0.08, 0.11), (0.7, 1.2), (0.05, 0.12), (2.0, 3.5)),
    "shared_pin": _Norms(0.15, (0.085, 0.12), (0.8, 1.4), (0.05, 0.15), (2.0, 3.5)),
}


def fits_group_rental(unit: Unit) -> bool:
    """Small and medium flats: at most two rooms and 80 m2, room for cap + 3 within 12."""
    return unit.rooms <= 2 and unit.area_m2 <= 80 and unit.legal_cap + 3 <= MAX_PEOPLE


def _renter(
    rng: random.Random, name: str, night: bool, norms: _Norms, credentials: tuple[str, ...]
) -> Person:
    if night:
        routine, leave, back = Routine.NIGHT_SHIFT, rng.randint(1140, 1260), rng.randint(420, 540)
        days = random_days(rng, rng.choice((5, 6)))
    else:
        routine, leave, back = Routine.DAY_WORKER, rng.randint(390, 510), rng.randint(1110, 1290)
        days = MON_TO_SAT if rng.random() < 0.6 else random_days(rng, 6)
    return Person(
        name=name,
        routine=routine,
        credentials=credentials,
        water_m3_day=rng.uniform(*norms.water_m3),
        electricity_kwh_day=rng.uniform(*norms.kwh),
        gas_m3_day=rng.uniform(*norms.gas_m3),
        leave_minute=leave,
        return_minute=back,
        workdays=days,
    )


def group_household(rng: random.Random, variant: str, people: int, prefix: str) -> Household:
    """The ``people`` of a group rental of ``variant``; names start with ``prefix``."""
    norms = _NORMS[variant]
    used: set[str] = set()
    shared = tuple(f"pin-{hex_tag(rng)}" for _ in range(rng.randint(1, 2)))
    persons = []
    for i in range(people):
        own = (shared[i % len(shared)],) if variant == "shared_pin" else None
        credentials = own if own is not None else draw_credentials(rng, used, 1)
        night = i < round(people * norms.night_share)
        persons.append(_renter(rng, f"{prefix}p{i}", night, norms, credentials))
    return Household(
        persons=tuple(persons),
        base_load_kwh_day=rng.uniform(*norms.base_load_kwh),
        climate_use=rng.uniform(0.7, 1.3),
        deliveries_per_person_day=rng.uniform(0.15, 0.35),
    )


ARRIVALS = ("at_once", "at_install", "staged")


def group_rental(
    timeline: UnitTimeline,
    rng: random.Random,
    days: int,
    variant: str,
    rectified: bool,
    arrival: str = "at_once",
    min_over_cap: int = 3,
) -> UnitTimeline:
    """``timeline`` with its household replaced by a group rental of ``variant`` on a day
    drawn in the window; ``rectified``: the group leaves 14 to 30 days later (within the
    horizon). ``arrival`` (module docstring) and ``min_over_cap`` (people above the legal cap
    at least) default to the original recipe, whose draws they leave unchanged."""
    unit = timeline.unit
    if arrival == "at_install":
        return _at_install(timeline, rng, days, variant, rectified, min_over_cap)
    if arrival == "staged":
        return _staged(timeline, rng, days, variant, rectified, min_over_cap)
    people = rng.randint(max(6, unit.legal_cap + min_over_cap), MAX_PEOPLE)
    earliest = min(10, max(1, days // 3))
    day = rng.randint(earliest, max(earliest, int(days * 0.8)))
    move_in = day * DAY + rng.randint(600, 1140)
    gap = rng.randint(0, min(4, day - 1))
    move_out = (day - gap) * DAY + rng.randint(480, 570)
    group = group_household(rng, variant, people, "h9")
    end_day = day + rng.randint(14, 30)
    end = end_day * DAY + rng.randint(540, 1020) if rectified and end_day < days else None
    first, *_ = timeline.residencies
    conditions: list[Condition] = [GroupRental(move_in, end, variant, people)]
    if end is not None:
        conditions.append(Vacancy(end, None))
    return replace(
        timeline,
        residencies=(replace(first, to_minute=move_out), Residency(group, move_in, end)),
        conditions=(*timeline.conditions, *conditions),
    )


def _group_size(rng: random.Random, unit: Unit, min_over_cap: int) -> int:
    return rng.randint(max(6, unit.legal_cap + min_over_cap), MAX_PEOPLE)


def _at_install(
    timeline: UnitTimeline,
    rng: random.Random,
    days: int,
    variant: str,
    rectified: bool,
    min_over_cap: int,
) -> UnitTimeline:
    people = _group_size(rng, timeline.unit, min_over_cap)
    group = group_household(rng, variant, people, "h9")
    end_day = rng.randint(20, 45)
    end = end_day * DAY + rng.randint(540, 1020) if rectified and end_day < days else None
    conditions: list[Condition] = [GroupRental(0, end, variant, people)]
    if end is not None:
        conditions.append(Vacancy(end, None))
    return replace(
        timeline,
        residencies=(Residency(group, 0, end),),
        conditions=(*timeline.conditions, *conditions),
    )


def _staged(
    timeline: UnitTimeline,
    rng: random.Random,
    days: int,
    variant: str,
    rectified: bool,
    min_over_cap: int,
) -> UnitTimeline:
    people = _group_size(rng, timeline.unit, min_over_cap)
    works = rng.randint(3, 8)
    spread = rng.randint(3, 6)
    earliest = min(10 + works, max(works + 1, days // 3))
    first_day = rng.randint(earliest, max(earliest, int(days * 0.75)))
    move_out = (first_day - works) * DAY + rng.randint(480, 570)
    group = group_household(rng, variant, people, "h9")
    # Arrival days: the first and last of the spread, the others in between, sorted.
    counts = [1] * spread
    for _ in range(people - spread):
        counts[rng.randrange(spread)] += 1
    residencies: list[Residency] = []
    moment, living = 0, 0
    for i, count in enumerate(counts):
        moment = (first_day + i) * DAY + rng.randint(600, 1200)
        if residencies:
            residencies[-1] = replace(residencies[-1], to_minute=moment)
        living += count
        partial = replace(group, persons=group.persons[:living])
        residencies.append(Residency(partial, moment, None))
    move_in = residencies[0].from_minute
    end_day = first_day + spread + rng.randint(14, 30)
    end = end_day * DAY + rng.randint(540, 1020) if rectified and end_day < days else None
    residencies[-1] = replace(residencies[-1], to_minute=end)
    conditions: list[Condition] = [GroupRental(move_in, end, variant, people)]
    if end is not None:
        conditions.append(Vacancy(end, None))
    first, *_ = timeline.residencies
    return replace(
        timeline,
        residencies=(replace(first, to_minute=move_out), *residencies),
        conditions=(*timeline.conditions, *conditions),
    )

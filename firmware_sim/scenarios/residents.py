"""Who lives in a flat: household size, who does what, how much each uses, lock credentials.

Households follow the make-up of Chinese city households: mostly two or three people (a couple,
a couple and a child, a retired couple), a fair share living alone, a few with grandparents. A
household is never drawn larger than the flat's legal cap. Consumption norms are drawn once per
household (some are frugal) and varied per person; the day simulation scales them by who is at
home when. Every credential is an opaque name such as ``fp-3a9c`` (fingerprint), ``card-``,
``pin-`` or ``app-``, unique within the flat.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from firmware_sim.scenarios.people import Household, Person, Routine
from firmware_sim.scenarios.random_streams import hex_tag

__all__ = [
    "MON_TO_FRI",
    "MON_TO_SAT",
    "draw_credentials",
    "draw_family",
    "draw_guests",
    "random_days",
]

MON_TO_FRI = 0b0011111
MON_TO_SAT = 0b0111111
SIZE_WEIGHTS = {1: 18, 2: 32, 3: 30, 4: 12, 5: 8}
_CREDENTIAL_KINDS = (("fp", 55), ("card", 25), ("pin", 15), ("app", 5))

# Household make-ups by size: (weight, roles).
_MAKE_UPS: dict[int, tuple[tuple[int, tuple[str, ...]], ...]] = {
    1: ((75, ("worker",)), (17, ("retiree",)), (8, ("night",))),
    2: ((55, ("worker", "worker")), (30, ("retiree", "retiree")), (15, ("worker", "carer"))),
    3: (
        (65, ("worker", "worker", "student")),
        (15, ("worker", "carer", "child")),
        (20, ("worker", "worker", "retiree")),
    ),
    4: (
        (50, ("worker", "worker", "student", "retiree")),
        (30, ("worker", "worker", "student", "student")),
        (20, ("worker", "worker", "child", "retiree")),
    ),
    5: (
        (60, ("worker", "worker", "student", "retiree", "retiree")),
        (40, ("worker", "worker", "student", "child", "retiree")),
    ),
    6: ((100, ("worker", "worker", "student", "child", "retiree", "retiree")),),
}


def random_days(rng: random.Random, count: int) -> int:
    """A bit mask of ``count`` distinct weekdays (Monday = bit 0)."""
    mask = 0
    for weekday in rng.sample(range(7), count):
        mask |= 1 << weekday
    return mask


def draw_credentials(rng: random.Random, used: set[str], count: int) -> tuple[str, ...]:
    """``count`` new credential names, unique among ``used`` (which is updated)."""
    kinds = [kind for kind, _ in _CREDENTIAL_KINDS]
    weights = [weight for _, weight in _CREDENTIAL_KINDS]
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choices(kinds, weights)[0]}-{hex_tag(rng)}"
        if name not in used:
            used.add(name)
            names.append(name)
    return tuple(names)


def _person(
    rng: random.Random,
    name: str,
    role: str,
    norms: tuple[float, float, float],
    used: set[str],
) -> Person:
    """One member of a family; ``norms`` are the household's water, electricity, gas per head."""
    water, electricity, gas = norms
    if role == "worker" and rng.random() < 0.07:
        role = "night"
    routine, scale, leave, back, days, keys = _ROLES[role](rng)
    return Person(
        name=name,
        routine=routine,
        credentials=draw_credentials(rng, used, keys),
        water_m3_day=water * scale * rng.uniform(0.85, 1.15),
        electricity_kwh_day=electricity * scale * rng.uniform(0.8, 1.2),
        gas_m3_day=gas * rng.uniform(0.85, 1.15),
        leave_minute=leave,
        return_minute=back,
        workdays=days,
    )


_RoleDraw = tuple[Routine, float, int, int, int, int]  # routine, scale, leave, back, days, keys


def _worker(rng: random.Random) -> _RoleDraw:
    days = rng.choices([MON_TO_FRI, MON_TO_SAT, random_days(rng, 5)], [75, 20, 5])[0]
    leave, back = rng.randint(405, 540), rng.randint(1050, 1200)
    return Routine.DAY_WORKER, 1.0, leave, back, days, 1 + (rng.random() < 0.35)


def _night(rng: random.Random) -> _RoleDraw:
    leave, back = rng.randint(1140, 1260), rng.randint(420, 525)
    return Routine.NIGHT_SHIFT, 1.0, leave, back, random_days(rng, 5), 1 + (rng.random() < 0.35)


def _student(rng: random.Random) -> _RoleDraw:
    back = rng.randint(1260, 1300) if rng.random() < 0.2 else rng.randint(990, 1080)
    return Routine.STUDENT, 0.9, rng.randint(410, 450), back, MON_TO_FRI, 1


def _retiree(rng: random.Random) -> _RoleDraw:
    return Routine.AT_HOME, 1.0, 0, 0, 0, 1


def _carer(rng: random.Random) -> _RoleDraw:
    return Routine.AT_HOME, 1.0, 0, 0, 0, 1 + (rng.random() < 0.35)


def _child(rng: random.Random) -> _RoleDraw:
    return Routine.AT_HOME, 0.7, 0, 0, 0, 0


_ROLES: dict[str, Callable[[random.Random], _RoleDraw]] = {
    "worker": _worker,
    "night": _night,
    "student": _student,
    "retiree": _retiree,
    "carer": _carer,
    "child": _child,
}


def draw_family(
    rng: random.Random, prefix: str, legal_cap: int, size: int | None = None
) -> Household:
    """A legal household of ``size`` people (drawn when None), never more than ``legal_cap``;
    person names start with ``prefix``."""
    if size is None:
        allowed = [n for n in SIZE_WEIGHTS if n <= max(1, legal_cap)]
        size = rng.choices(allowed, [SIZE_WEIGHTS[n] for n in allowed])[0]
    make_ups = _MAKE_UPS[min(size, max(_MAKE_UPS))]
    roles = rng.choices([roles for _, roles in make_ups], [w for w, _ in make_ups])[0]
    frugal = rng.random() < 0.12
    water = rng.uniform(0.065, 0.085) if frugal else rng.uniform(0.100, 0.150)
    gas = rng.uniform(0.2, 0.4) if rng.random() < 0.9 else rng.uniform(0.02, 0.06)
    norms = (water, rng.uniform(1.0, 2.0), gas)
    used: set[str] = set()
    persons = tuple(
        _person(rng, f"{prefix}p{i}", roles[i % len(roles)], norms, used) for i in range(size)
    )
    return Household(
        persons=persons,
        base_load_kwh_day=rng.uniform(1.5, 3.0),
        climate_use=rng.uniform(0.5, 1.3),
        deliveries_per_person_day=rng.uniform(0.05, 0.25),
    )


def draw_guests(
    rng: random.Random, prefix: str, count: int, credentials: tuple[str, ...]
) -> tuple[Person, ...]:
    """``count`` visitors; they all use ``credentials`` (a temporary PIN, or none)."""
    return tuple(
        Person(
            name=f"{prefix}p{i}",
            routine=Routine.GUEST,
            credentials=credentials,
            water_m3_day=rng.uniform(0.09, 0.13),
            electricity_kwh_day=rng.uniform(0.8, 1.5),
            gas_m3_day=rng.uniform(0.15, 0.3),
            leave_minute=0,
            return_minute=0,
            workdays=0,
        )
        for i in range(count)
    )

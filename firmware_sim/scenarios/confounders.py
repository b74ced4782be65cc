"""Confounders: legal situations that change a flat's data and must not raise an overcrowding
alert. Each is a small function that takes a flat's timeline and returns it with the situation
added (and labelled, for ``truth.csv``); ``CONFOUNDERS`` lists them in the order they are
applied, with the flats each can happen to.

A confounder that changes who is at home (a vacancy, a holiday, guests) only goes where the flat
is lived in by one household and nothing else changes presence, so two never collide; when no
such window exists the flat is returned unchanged. The season is not here: it is built into
every flat's day (``seasons``, ``usage``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from firmware_sim.scenarios.conditions import (
    Condition,
    EvCharging,
    GroupRental,
    Guests,
    Holiday,
    HomeBusiness,
    LargeFamily,
    Leak,
    MeterOffline,
    MeterReplaced,
    Vacancy,
)
from firmware_sim.scenarios.model import MINUTES_PER_DAY, Residency, Unit, UnitTimeline
from firmware_sim.scenarios.random_streams import hex_tag
from firmware_sim.scenarios.residents import MON_TO_SAT, draw_family, draw_guests, random_days

__all__ = ["CONFOUNDERS", "Confounder"]

DAY = MINUTES_PER_DAY
_PRESENCE = (Holiday, Guests, Vacancy, GroupRental)


def _is_free(timeline: UnitTimeline, start: int, end: int) -> bool:
    """Whether one household lives in the flat all of ``[start, end)`` and nothing else
    changes who is at home then."""
    covered = any(
        r.from_minute <= start and (r.to_minute is None or r.to_minute >= end)
        for r in timeline.residencies
    )
    clash = any(
        isinstance(c, _PRESENCE)
        and c.from_minute < end + DAY
        and (c.to_minute is None or c.to_minute > start - DAY)
        for c in timeline.conditions
    )
    return covered and not clash


def _with(timeline: UnitTimeline, *conditions: Condition) -> UnitTimeline:
    return replace(timeline, conditions=(*timeline.conditions, *conditions))


def _window(
    timeline: UnitTimeline,
    rng: random.Random,
    days: int,
    length: tuple[int, int],
    hours: tuple[tuple[int, int], tuple[int, int]],
) -> tuple[int, int] | None:
    """A free window of ``length`` days (inclusive range), starting and ending within the
    given ranges of minutes after midnight; None when none is found in a few tries."""
    for _ in range(12):
        span = rng.randint(*length)
        if days < span + 2:
            continue
        first = rng.randint(1, days - span - 1)
        start = first * DAY + rng.randint(*hours[0])
        end = (first + span) * DAY + rng.randint(*hours[1])
        if _is_free(timeline, start, end):
            return start, end
    return None


def large_family(timeline: UnitTimeline, rng: random.Random, days: int) -> UnitTimeline:
    """Five or six people, three generations, legally in a flat whose cap allows them."""
    unit = timeline.unit
    size = rng.randint(5, min(6, unit.legal_cap))
    household = draw_family(rng, "h0", unit.legal_cap, size)
    first, *rest = timeline.residencies
    return replace(
        timeline,
        residencies=(replace(first, household=household), *rest),
        conditions=(*timeline.conditions, LargeFamily(0, None, size)),
        registered_occupants=size,
    )


def multi_generation(timeline: UnitTimeline, rng: random.Random, days: int) -> UnitTimeline:
    """Grandparents, parents and children, six people at the cap of a small three-room flat:
    two or three of them home all day, so water and electricity run high. Legal, registered
    (labelled ``large_family``)."""
    unit = timeline.unit
    household = draw_family(rng, "h0", unit.legal_cap, 6)
    first, *rest = timeline.residencies
    return replace(
        timeline,
        residencies=(replace(first, household=household), *rest),
        conditions=(*timeline.conditions, LargeFamily(0, None, 6)),
        registered_occupants=6,
    )


def vacancy(timeline: UnitTimeline, rng: random.Random, days: int) -> UnitTimeline:
    """The flat stands empty for two to six weeks: empty at the start, or between tenants."""
    unit = timeline.unit
    if any(isinstance(c, LargeFamily) for c in timeline.conditions):
        return timeline  # the family stays; another flat stands empty
    empty_days = rng.randint(14, 45)
    from_start = rng.random() < 0.4 or days < empty_days + 6
    start = 0 if from_start else rng.randint(3, days - empty_days - 3) * DAY + rng.randint(540, 720)
    move_in = (start // DAY + empty_days) * DAY + rng.randint(600, 1020)
    end: int | None = move_in if move_in < days * DAY else None
    if not _is_free(timeline, start, end if end is not None else days * DAY):
        return timeline
    newcomers = draw_family(rng, "h1", unit.legal_cap)
    staying = () if from_start else (replace(timeline.residencies[0], to_minute=start),)
    arriving = () if end is None else (Residency(newcomers, end, None),)
    return replace(
        timeline,
        residencies=(*staying, *arriving, *timeline.residencies[1:]),
        conditions=(*timeline.conditions, Vacancy(start, end)),
        registered_occupants=0 if from_start else timeline.registered_occupants,
    )


def holiday(timeline: UnitTimeline, rng: random.Random, days: int) -> UnitTimeline:
    """The whole household away for 5 to 14 days: only the fridge and standby run."""
    window = _window(timeline, rng, days, (5, 14), ((420, 720), (840, 1320)))
    return timeline if window is None else _with(timeline, Holiday(*window))


def guests(timeline: UnitTimeline, rng: random.Random, days: int) -> UnitTimeline:
    """Two to four relatives staying two to six days; some get a temporary PIN."""
    window = _window(timeline, rng, days, (2, 6), ((600, 1200), (540, 900)))
    if window is None:
        return timeline
    pin = (f"pin-{hex_tag(rng)}",) if rng.random() < 0.6 else ()
    persons = draw_guests(rng, "g", rng.randint(2, 4), pin)
    return _with(timeline, Guests(window[0], window[1], persons))


def leak(timeline: UnitTimeline, rng: random.Random, days: int) -> UnitTimeline:
    """A running toilet or a dripping pipe: 5 to 30 litres an hour, day and night."""
    start = rng.randint(2 * DAY, max(2 * DAY, int(days * 0.7) * DAY))
    end: int | None = start + rng.randint(7, 20) * DAY if rng.random() < 0.3 else None
    if end is not None and end >= days * DAY:
        end = None
    return _with(timeline, Leak(start, end, round(rng.uniform(5.0, 30.0), 1)))


def occupied_leak(timeline: UnitTimeline, rng: random.Random, days: int) -> UnitTimeline:
    """A running toilet in a flat somebody lives in, 8 to 25 litres an hour, whose flapper
    seals for up to two hours now and then: on those days the quietest hour reads (almost)
    nothing, on the others the flow never rests. Labelled ``leak``; some are repaired."""
    if not any(r.from_minute == 0 for r in timeline.residencies):
        return timeline
    start = rng.randint(2 * DAY, max(2 * DAY, int(days * 0.5) * DAY))
    end: int | None = start + rng.randint(14, 30) * DAY if rng.random() < 0.3 else None
    if end is not None and end >= days * DAY:
        end = None
    return _with(timeline, Leak(start, end, round(rng.uniform(8.0, 25.0), 1), sealed_hours=2))


# trade: (kWh a day, m3 of water a day, visitors a day, opening minute, closing minute)
_TRADES = {
    "online_shop": ((3.0, 6.0), (0.0, 0.0), (1.0, 3.0), (540, 1080)),
    "tutoring": ((1.0, 2.0), (0.02, 0.05), (4.0, 10.0), (960, 1260)),
    "beauty_salon": ((2.0, 4.0), (0.10, 0.20), (3.0, 8.0), (600, 1200)),
    "tailor": ((1.0, 3.0), (0.0, 0.01), (2.0, 5.0), (540, 1080)),
}


def home_business(timeline: UnitTimeline, rng: random.Random, days: int) -> UnitTimeline:
    """A small trade run from the flat: more electricity (and water) in opening hours, and
    clients or couriers by the lift."""
    trade = rng.choice(sorted(_TRADES))
    kwh, water, visitors, (opens, closes) = _TRADES[trade]
    start = 0 if rng.random() < 0.7 else rng.randint(1, max(1, days - 7)) * DAY
    business = HomeBusiness(
        from_minute=start,
        to_minute=None,
        trade=trade,
        extra_kwh_day=rng.uniform(*kwh),
        extra_water_m3_day=rng.uniform(*water),
        visitors_per_day=rng.uniform(*visitors),
        open_days=MON_TO_SAT,
        opens_minute=opens,
        closes_minute=closes,
    )
    return _with(timeline, business)


def ev_charging(timeline: UnitTimeline, rng: random.Random, days: int) -> UnitTimeline:
    """An e-bike battery charged most evenings (1-2 kWh), or an electric car on a timer in
    the valley tariff after midnight a few nights a week (8-15 kWh)."""
    start = 0 if rng.random() < 0.7 else rng.randint(1, max(1, days - 7)) * DAY
    if rng.random() < 0.35:
        charging = EvCharging(
            from_minute=start,
            to_minute=None,
            vehicle="car",
            kwh_low=rng.uniform(8.0, 11.0),
            kwh_high=rng.uniform(11.0, 15.0),
            power_kw=rng.choice((3.5, 7.0)),
            nights=random_days(rng, rng.randint(2, 5)),
            start_low_minute=0,
            start_high_minute=90,
        )
    else:
        charging = EvCharging(
            from_minute=start,
            to_minute=None,
            vehicle="e-bike",
            kwh_low=rng.uniform(1.0, 1.3),
            kwh_high=rng.uniform(1.6, 2.0),
            power_kw=rng.uniform(0.3, 0.5),
            nights=random_days(rng, rng.randint(6, 7)),
            start_low_minute=1080,
            start_high_minute=1290,
        )
    return _with(timeline, charging)


_NEW_METER_TOTAL = {"water_m3": 0.02, "electricity_kwh": 0.5, "gas_m3": 0.05}


def meter_replaced(timeline: UnitTimeline, rng: random.Random, days: int) -> UnitTimeline:
    """A meter swapped for a new one in working hours: its register falls to about zero."""
    kinds = [m.kind for m in timeline.unit.meters]
    weights = [{"water_m3": 50, "electricity_kwh": 40, "gas_m3": 10}[k] for k in kinds]
    kind = rng.choices(kinds, weights)[0]
    day = rng.randint(min(3, days - 1), max(min(3, days - 1), days - 3))
    at = day * DAY + rng.randint(540, 960)
    new_total = round(rng.uniform(0.0, _NEW_METER_TOTAL[kind]), 2 if kind != "water_m3" else 3)
    return _with(timeline, MeterReplaced(at, (day + 2) * DAY, kind, new_total))


def meter_offline(timeline: UnitTimeline, rng: random.Random, days: int) -> UnitTimeline:
    """A meter not answering for one to five days (a cut bus line, a dead converter); it
    keeps counting, so the first reading after shows everything since."""
    kind = rng.choice([m.kind for m in timeline.unit.meters])
    length = rng.randint(1, 5) * DAY + rng.randint(-300, 300)
    start = rng.randint(DAY, max(DAY, (days - 6) * DAY))
    end = min(start + length, days * DAY)
    return timeline if end <= start else _with(timeline, MeterOffline(start, end, kind))


@dataclass(frozen=True, slots=True)
class Confounder:
    name: str
    apply: Callable[[UnitTimeline, random.Random, int], UnitTimeline]
    fits: Callable[[Unit], bool]  # the flats it can happen to


def _any(unit: Unit) -> bool:
    return True


CONFOUNDERS: dict[str, Confounder] = {
    c.name: c
    for c in (
        Confounder("large_family", large_family, lambda unit: unit.legal_cap >= 5),
        Confounder(
            "multi_generation",
            multi_generation,
            lambda unit: unit.rooms == 3 and unit.legal_cap == 6 and unit.area_m2 <= 100,
        ),
        Confounder("vacancy", vacancy, _any),
        Confounder("holiday", holiday, _any),
        Confounder("guests", guests, _any),
        Confounder("leak", leak, _any),
        Confounder("occupied_leak", occupied_leak, _any),
        Confounder("home_business", home_business, _any),
        Confounder("ev_charging", ev_charging, _any),
        Confounder("meter_replaced", meter_replaced, _any),
        Confounder("meter_offline", meter_offline, _any),
    )
}

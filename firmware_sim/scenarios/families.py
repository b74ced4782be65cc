"""Named scenario families and ``build_scenario``, which turns a family and a seed into a
whole building.

A family is a recipe: how many flats and days by default, what share of flats become group
rentals and of which variants, and how many flats get each confounder. Building a scenario:

1. lay out the building (``building_layout``);
2. choose, from the stream ``(seed, "assign")``, which flats become group rentals (small and
   medium ones) and which get which confounders (at most ``confounders_per_flat`` each; group
   rentals get none, so every false alarm on a flat can be attributed);
3. give every flat a household (``residents``; a future group rental's is one or two people);
4. turn the chosen flats into group rentals and apply the confounders, each from its own
   stream;
5. set a few odometers close enough to 100000 that they wrap during the scenario.

The same family, seed and parameters always give the same scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone

from firmware_sim.scenarios.building_layout import MAX_FLOORS, draw_building
from firmware_sim.scenarios.conditions import MeterRollover
from firmware_sim.scenarios.confounders import CONFOUNDERS
from firmware_sim.scenarios.errors import ScenarioError
from firmware_sim.scenarios.group_rentals import fits_group_rental, group_rental
from firmware_sim.scenarios.meters import ODOMETER_WRAP
from firmware_sim.scenarios.model import (
    MINUTES_PER_DAY,
    OccupancyRule,
    Residency,
    Scenario,
    ScenarioParams,
    Unit,
    UnitTimeline,
)
from firmware_sim.scenarios.random_streams import stream
from firmware_sim.scenarios.readings import ScenarioReadings
from firmware_sim.scenarios.residents import draw_family

__all__ = [
    "DEFAULT_START",
    "FAMILIES",
    "Family",
    "Quota",
    "build_scenario",
    "parse_start",
]

CHINA = timezone(timedelta(hours=8))
DEFAULT_START = datetime(2026, 3, 1, tzinfo=CHINA)
MAX_UNITS = MAX_FLOORS * 8
MAX_DAYS = 3660
DAY = MINUTES_PER_DAY


@dataclass(frozen=True, slots=True)
class Quota:
    """How many flats get confounder ``name``: ``share`` of the building, at least
    ``minimum``."""

    name: str
    share: float
    minimum: int = 0


_TYPICAL = (
    Quota("large_family", 0.04),
    Quota("vacancy", 0.04),
    Quota("holiday", 0.06),
    Quota("guests", 0.08),
    Quota("leak", 0.02),
    Quota("home_business", 0.02),
    Quota("ev_charging", 0.06),
    Quota("meter_replaced", 0.015),
    Quota("meter_offline", 0.03),
)


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    summary: str  # one line, for ``firmware-sim scenario list``
    units: int = 150
    days: int = 90
    rental_share: float = 0.05
    min_rentals: int = 1
    max_rentals: int | None = None
    variants: tuple[tuple[str, int], ...] = (
        ("ordinary", 55),
        ("frugal", 15),
        ("night_shift", 15),
        ("shared_pin", 15),
    )
    rectified_share: float = 0.2
    rental_lock_share: float | None = None  # None: like every other flat
    confounders: tuple[Quota, ...] = field(default=_TYPICAL)
    confounders_per_flat: int = 1
    rollovers: int = 1
    lock_share: float = 0.85
    start: datetime = DEFAULT_START
    # How group rentals arrive (``group_rentals.ARRIVALS``), weighted; the default draws
    # nothing, so the older families are unchanged.
    arrivals: tuple[tuple[str, int], ...] = (("at_once", 1),)
    min_over_cap: int = 3  # a group rental holds at least the legal cap plus this many


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "mixed_city",
            "A typical tower: about 5% of flats turn into group rentals (most of them ordinary),"
            " with a realistic mix of confounders.",
        ),
        Family(
            "confounder_heavy",
            "Every confounder, in many flats (two in some), and few group rentals:"
            " measures false alarms.",
            rental_share=0.02,
            confounders=tuple(Quota(q.name, min(0.2, q.share * 3), minimum=1) for q in _TYPICAL),
            confounders_per_flat=2,
            rollovers=2,
        ),
        Family(
            "hidden_rentals",
            "Group rentals that hide (frugal, night-shift, shared-PIN; fewer smart locks)"
            " among the usual confounders: measures recall.",
            rental_share=0.06,
            variants=(("frugal", 35), ("night_shift", 30), ("shared_pin", 35)),
            rectified_share=0.1,
            rental_lock_share=0.6,
        ),
        Family(
            "summer_city",
            "Like mixed_city from 1 June to the end of August: air conditioning in every flat"
            " that is lived in; tests the season.",
            start=datetime(2026, 6, 1, tzinfo=CHINA),
        ),
        Family(
            "field_mix",
            "Situations from field reports: rentals already there at installation, tenants"
            " moving in over days after partition works, leaks in lived-in flats, six-person"
            " families in small three-room flats, lockless rentals among locked flats.",
            rental_share=0.06,
            variants=(("ordinary", 40), ("frugal", 30), ("night_shift", 15), ("shared_pin", 15)),
            rectified_share=0.1,
            rental_lock_share=0.5,
            lock_share=0.95,
            arrivals=(("at_once", 35), ("at_install", 35), ("staged", 30)),
            min_over_cap=2,
            confounders=(
                *_TYPICAL,
                Quota("multi_generation", 0.04, minimum=1),
                Quota("occupied_leak", 0.03, minimum=1),
            ),
        ),
        Family(
            "small_demo",
            "12 flats, 30 days, one ordinary group rental, guests, a holiday and a leak:"
            " fast, for tests and demos.",
            units=12,
            days=30,
            rental_share=0.0,
            max_rentals=1,
            variants=(("ordinary", 1),),
            rectified_share=0.0,
            confounders=(Quota("guests", 0.0, 1), Quota("holiday", 0.0, 1), Quota("leak", 0.0, 1)),
            rollovers=0,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class _Plan:
    rentals: dict[str, tuple[str, bool]]  # unit_id -> (variant, rectified)
    arrivals: dict[str, str]  # unit_id -> how the group arrives
    confounders: dict[str, list[str]]  # unit_id -> confounder names, in the order applied
    rollovers: dict[str, str]  # unit_id -> meter kind


def _assign(family: Family, units: tuple[Unit, ...], seed: int) -> _Plan:
    rng = stream(seed, "assign")
    eligible = [u for u in units if fits_group_rental(u)]
    wanted = max(family.min_rentals, round(family.rental_share * len(units)))
    if family.max_rentals is not None:
        wanted = min(wanted, family.max_rentals)
    chosen = sorted(rng.sample(eligible, min(wanted, len(eligible))), key=lambda u: u.unit_id)
    names = [name for name, _ in family.variants]
    weights = [weight for _, weight in family.variants]
    rentals = {
        u.unit_id: (rng.choices(names, weights)[0], rng.random() < family.rectified_share)
        for u in chosen
    }
    arrivals = {u.unit_id: "at_once" for u in chosen}
    if len(family.arrivals) > 1:
        kinds = [kind for kind, _ in family.arrivals]
        shares = [weight for _, weight in family.arrivals]
        arrivals = {u.unit_id: rng.choices(kinds, shares)[0] for u in chosen}
    roles: dict[str, list[str]] = {u.unit_id: [] for u in units}
    for quota in family.confounders:
        fits = CONFOUNDERS[quota.name].fits
        pool = [
            u
            for u in units
            if u.unit_id not in rentals
            and fits(u)
            and len(roles[u.unit_id]) < family.confounders_per_flat
        ]
        count = min(len(pool), max(quota.minimum, round(quota.share * len(units))))
        for unit in rng.sample(pool, count):
            roles[unit.unit_id].append(quota.name)
    order = list(CONFOUNDERS)
    for names_of_unit in roles.values():
        names_of_unit.sort(key=order.index)
    quiet = [u for u in units if u.unit_id not in rentals and not roles[u.unit_id]]
    rollovers = {}
    for unit in rng.sample(quiet, min(family.rollovers, len(quiet))):
        has_gas = unit.meter("gas_m3") is not None
        rollovers[unit.unit_id] = "gas_m3" if has_gas and rng.random() < 0.3 else "water_m3"
    return _Plan(rentals, arrivals, roles, rollovers)


def _timeline(seed: int, unit: Unit, plan: _Plan, family: Family, days: int) -> UnitTimeline:
    uid = unit.unit_id
    rental = plan.rentals.get(uid)
    if rental is not None and family.rental_lock_share is not None:
        has_lock = stream(seed, "rental-lock", uid).random() < family.rental_lock_share
        unit = replace(unit, has_lock=has_lock)
    rng = stream(seed, "household", uid)
    size = (1 if rng.random() < 0.5 else 2) if rental is not None else None
    household = draw_family(rng, "h0", unit.legal_cap, size)
    timeline = UnitTimeline(unit, (Residency(household, 0, None),), (), household.size)
    if rental is not None:
        variant, rectified = rental
        timeline = group_rental(
            timeline,
            stream(seed, "group-rental", uid),
            days,
            variant,
            rectified,
            plan.arrivals[uid],
            family.min_over_cap,
        )
    for name in plan.confounders[uid]:
        timeline = CONFOUNDERS[name].apply(timeline, stream(seed, name, uid), days)
    return timeline


def _wrap_odometers(scenario: Scenario, plan: _Plan) -> Scenario:
    """The scenario with the planned meters started just far enough below 100000 to wrap at
    a moment drawn in the horizon (labelled ``meter_rollover`` from the exact minute)."""
    if not plan.rollovers:
        return scenario
    readings = ScenarioReadings(scenario)
    days = scenario.params.days
    timelines = []
    for timeline in scenario.timelines:
        uid = timeline.unit.unit_id
        kind = plan.rollovers.get(uid)
        if kind is None:
            timelines.append(timeline)
            continue
        rng = stream(scenario.params.seed, "rollover", uid)
        earliest = min(3 * DAY, days * DAY // 2)
        target = rng.randint(earliest, max(DAY, earliest, (days - 2) * DAY))
        used = readings.raw_usage(uid, kind, target)
        meter = timeline.unit.meter(kind)
        if meter is None or used < 10 * meter.resolution:
            timelines.append(timeline)
            continue
        initial = ODOMETER_WRAP - used + 1e-7
        low, high = 0, target  # the first minute at which the total reaches the wrap
        while low < high:
            middle = (low + high) // 2
            if initial + readings.raw_usage(uid, kind, middle) >= ODOMETER_WRAP:
                high = middle
            else:
                low = middle + 1
        meters = tuple(
            replace(m, initial_total=initial) if m is meter else m for m in timeline.unit.meters
        )
        rollover = MeterRollover(low, (low // DAY + 2) * DAY, kind)
        timelines.append(
            replace(
                timeline,
                unit=replace(timeline.unit, meters=meters),
                conditions=(*timeline.conditions, rollover),
            )
        )
    return replace(scenario, timelines=tuple(timelines))


def parse_start(text: str) -> datetime:
    """A start given as ``2026-03-01`` (midnight, +08:00) or ``2026-03-01T00:00:00+08:00``."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), CHINA)
        start = datetime.fromisoformat(text)
    except ValueError as err:
        raise ScenarioError(f"--start: {text!r} is not an ISO 8601 date or time") from err
    if start.tzinfo is None:
        raise ScenarioError(f"--start: {text!r} has no UTC offset (e.g. +08:00)")
    return start


def _params(
    family: Family,
    seed: int,
    units: int | None,
    days: int | None,
    start: datetime | None,
    interval_min: int,
    rule: OccupancyRule,
) -> ScenarioParams:
    units = family.units if units is None else units
    days = family.days if days is None else days
    start = family.start if start is None else start
    if not 2 <= units <= MAX_UNITS:
        raise ScenarioError(f"units: must be between 2 and {MAX_UNITS}, not {units}")
    if not 1 <= days <= MAX_DAYS:
        raise ScenarioError(f"days: must be between 1 and {MAX_DAYS}, not {days}")
    if not 1 <= interval_min <= DAY or DAY % interval_min:
        raise ScenarioError(
            f"interval: must divide a day (1, 5, 15, 60 ... minutes), not {interval_min}"
        )
    if start.tzinfo is None or start.utcoffset() is None:
        raise ScenarioError("start: needs a UTC offset (e.g. 2026-03-01T00:00:00+08:00)")
    if start.timetz().replace(tzinfo=None) != time():
        raise ScenarioError(f"start: must be a local midnight, not {start.isoformat()}")
    return ScenarioParams(family.name, seed, units, days, start, interval_min, rule)


def build_scenario(
    family: str,
    seed: int,
    *,
    units: int | None = None,
    days: int | None = None,
    start: datetime | None = None,
    interval_min: int = 15,
    rule: OccupancyRule | None = None,
) -> Scenario:
    """The scenario of ``family`` for ``seed`` (pure and deterministic). ``units``, ``days``
    and ``start`` (a local midnight, aware) default to the family's."""
    if family not in FAMILIES:
        raise ScenarioError(f"unknown family {family!r} (known: {', '.join(FAMILIES)})")
    spec = FAMILIES[family]
    params = _params(spec, seed, units, days, start, interval_min, rule or OccupancyRule())
    layout = draw_building(seed, params.units, params.rule, spec.lock_share)
    plan = _assign(spec, layout.units, seed)
    timelines = tuple(_timeline(seed, u, plan, spec, params.days) for u in layout.units)
    rentals = len(plan.rentals)
    description = (
        f"{family} scenario, seed {seed}: {params.units} flats on {layout.floors} floors,"
        f" {params.days} days from {params.start.date().isoformat()}, readings every"
        f" {params.interval_min} min; {rentals} group rental{'s' if rentals != 1 else ''}"
    )
    scenario = Scenario(
        params, layout.floors, layout.units_per_floor, layout.elevators, timelines, description
    )
    return _wrap_odometers(scenario, plan)

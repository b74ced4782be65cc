"""A unit's legal occupancy cap, and a first estimate of how many people live there.

Legal cap: a rented dwelling may hold at most ``max_persons_per_room`` people per room and must
give each at least ``min_area_m2_per_person`` of floor area (Shanghai: 2 and 5 m2), so the cap
is the smaller of the two limits. Both numbers come from configuration, never from one city.

Estimate: each signal with a usable daily amount is turned into a head count.

- water: ``m3 / m3_per_person``. Drinking, washing, showers and toilets scale with people and
  hardly with anything else, so water gets the highest weight (3);
- electricity: ``(kWh - base) / kWh_per_person``, floored at 0. A fridge, a router and standby
  loads run whoever lives there, and air conditioning or an electric car swamp the per-person
  part, so it gets weight 1;
- gas: ``m3 / m3_per_person``, cooking and water heating, habits vary a lot: weight 1;
- locks: distinct credentials over a week and unlocks per day (``core.lock_activity``), the
  signal group renters find hardest to hide: weight 3;
- elevator: stops at the unit's floor its neighbours do not explain (``core.floor_stops``),
  shared and noisy: weight 1.

A steady water flow that never rests, not even in the quietest hour of the day, is a leak: it
is taken off the day's water before counting people (and raises its own alert elsewhere).
A leak does not always show in the quietest hour (a toilet flapper that seals for an hour
now and then): while the unit's leak is suspected or open, the shell passes its steady night
floor (``leak_floor_m3h``, the flow last seen running through every hour) and the larger of
the two is taken off.

Gas and the elevator are **habit signals** and count one way only. How much a household cooks
and whether it takes the lift depend on who they are more than on how many: group renters
rarely cook and many take the stairs, while a family of three may cook for hours. A habit
signal that says *more* people than the core signals (water, electricity, locks) is evidence
and joins the estimate; one that says fewer is a habit, kept as evidence for the inspector
(``by_signal``) but left out of the estimate. Without any core signal, habit signals count
both ways: they are all there is.

The point estimate is the weighted mean of the head counts counted. Its uncertainty has two
parts that add in quadrature: the norms themselves (``relative_uncertainty`` of the point) and
the disagreement between the core signals (their weighted standard deviation around their own
mean), with a floor of half a person. ``[low, high]`` is point -/+ that one-sigma half-width,
low clipped at zero: roughly two chances in three that the true head count lies inside.

A head count known for a fact (``at_least``: people whose own lock credentials opened the door
on the same days, ``core.lock_activity``) is a floor, not one more opinion: the point and the
low end are raised to it, and ``core.alert_decision`` is certain of a crowd once the floor
alone is over the cap. The meters may say less (frugal people); they cannot say the people are
not there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

from gateway.core.daily_usage import DailyUsage

MIN_HALF_WIDTH = 0.5  # persons: no daily meter total counts people more precisely than this
SIGNAL_WEIGHTS = {"water": 3.0, "electricity": 1.0, "gas": 1.0, "locks": 3.0, "elevator": 1.0}
HABIT_SIGNALS = frozenset({"gas", "elevator"})  # count only when they say more (see above)


@dataclass(frozen=True, slots=True)
class OccupancyRules:
    max_persons_per_room: int = 2
    min_area_m2_per_person: float = 5.0


def legal_cap(rooms: int, area_m2: float, rules: OccupancyRules) -> int:
    """``min(max_persons_per_room * rooms, floor(area_m2 / min_area_m2_per_person))``."""
    if rooms < 1:
        raise ValueError(f"rooms must be at least 1, not {rooms}")
    if not (math.isfinite(area_m2) and area_m2 > 0):
        raise ValueError(f"area_m2 must be a positive number, not {area_m2}")
    by_rooms = rules.max_persons_per_room * rooms
    # The epsilon keeps 0.3 / 0.1 (= 2.9999999999999996 in floats) from losing a person.
    by_area = math.floor(area_m2 / rules.min_area_m2_per_person + 1e-9)
    return min(by_rooms, by_area)


@dataclass(frozen=True, slots=True)
class PerCapitaNorms:
    water_m3_per_person_day: float = 0.12
    electricity_base_kwh_day: float = 2.0
    electricity_kwh_per_person_day: float = 1.5
    gas_m3_per_person_day: float = 0.3
    relative_uncertainty: float = 0.25
    # Water that flows through every hour of the day, the quietest one included, at this rate
    # or more is a leak (or a running toilet), not people: it is taken off before counting.
    water_leak_lph: float = 4.0
    # A leak seen running through every hour within this many days is still taken off the
    # water on a day its quietest hour dipped (and while its case is suspected or open).
    leak_memory_days: int = 7


@dataclass(frozen=True, slots=True)
class OccupancyEstimate:
    point: float
    low: float
    high: float
    signals: tuple[str, ...]  # which of SIGNAL_WEIGHTS contributed
    by_signal: Mapping[str, float] = field(default_factory=dict)  # each one's own head count
    at_least: float = 0.0  # people known to be there (see the module's docstring)


def leak_flow_m3h(usage: DailyUsage, norms: PerCapitaNorms) -> float:
    """The unit's steady water flow (m3 per hour) when it is a leak by ``norms``, else 0."""
    quietest = usage.quietest_hour.get("water_m3")
    if quietest is None or quietest * 1000 < norms.water_leak_lph:
        return 0.0
    return quietest


def leak_taken_off_m3(
    usage: DailyUsage, norms: PerCapitaNorms, leak_floor_m3h: float = 0.0
) -> float:
    """Water of the day (m3) counted as a leak, not people: the steady flow of the day or the
    unit's known leak floor, whichever is larger, over 24 hours, at most the day's water."""
    water = usage.water_m3
    if not _usable(water):
        return 0.0
    # The day's amount is extrapolated to a whole day, so is the leak.
    return min(water, max(leak_flow_m3h(usage, norms), leak_floor_m3h) * 24.0)


def persons_by_signal(
    usage: DailyUsage,
    norms: PerCapitaNorms,
    others: Mapping[str, float] | None = None,
    leak_floor_m3h: float = 0.0,
) -> dict[str, float]:
    """Head count implied by each meter with a usable amount that day, plus ``others`` (head
    counts from locks and elevators, made elsewhere in the core); ``leak_floor_m3h``: the
    unit's known leak (see the module's docstring)."""
    persons: dict[str, float] = {}
    water, electricity, gas = usage.water_m3, usage.electricity_kwh, usage.gas_m3
    if _usable(water):
        people_water = water - leak_taken_off_m3(usage, norms, leak_floor_m3h)
        persons["water"] = people_water / norms.water_m3_per_person_day
    if _usable(electricity):
        above_base = electricity - norms.electricity_base_kwh_day
        persons["electricity"] = max(0.0, above_base / norms.electricity_kwh_per_person_day)
    if _usable(gas):
        persons["gas"] = gas / norms.gas_m3_per_person_day
    for signal, count in (others or {}).items():
        if signal not in SIGNAL_WEIGHTS:
            raise ValueError(f"unknown signal {signal!r}")
        if _usable(count):
            persons[signal] = count
    return persons


def estimate_occupancy(
    usage: DailyUsage,
    norms: PerCapitaNorms,
    others: Mapping[str, float] | None = None,
    at_least: float = 0.0,
    leak_floor_m3h: float = 0.0,
) -> OccupancyEstimate | None:
    """Weighted head count with a one-sigma interval, or ``None`` when no signal is usable;
    ``at_least`` people are known to be there (a floor for the point and the interval)."""
    persons = persons_by_signal(usage, norms, others, leak_floor_m3h)
    if not persons:
        return None
    core = {s: n for s, n in persons.items() if s not in HABIT_SIGNALS} or persons
    core_point = _weighted_mean(core)
    counted = {s: n for s, n in persons.items() if s in core or n >= core_point}
    point = max(_weighted_mean(counted), at_least)
    # Disagreement is measured among the core signals: a habit signal that says more is
    # evidence for the crowd, not doubt about it.
    spread = math.sqrt(
        sum(SIGNAL_WEIGHTS[s] * (n - core_point) ** 2 for s, n in core.items())
        / sum(SIGNAL_WEIGHTS[s] for s in core)
    )
    half_width = max(math.hypot(norms.relative_uncertainty * point, spread), MIN_HALF_WIDTH)
    return OccupancyEstimate(
        point=point,
        low=max(0.0, at_least, point - half_width),
        high=point + half_width,
        signals=tuple(signal for signal in SIGNAL_WEIGHTS if signal in counted),
        by_signal={signal: persons[signal] for signal in SIGNAL_WEIGHTS if signal in persons},
        at_least=at_least,
    )


def _weighted_mean(persons: Mapping[str, float]) -> float:
    total_weight = sum(SIGNAL_WEIGHTS[signal] for signal in persons)
    return sum(SIGNAL_WEIGHTS[s] * n for s, n in persons.items()) / total_weight


def _usable(amount: float | None) -> TypeGuard[float]:
    return amount is not None and math.isfinite(amount) and amount >= 0

"""How a unit compares with its cohort: the flats of the same kind in the same building.

A flat with no history (its baseline is still being learned, or the gateway was installed
yesterday) cannot be compared with itself, but it can be compared with its peers: the flats of
the building with the same number of rooms and an area within ``area_band`` of its own (in a
tower, its stack and the flats like it). Their median water that day is what a household in
such a flat uses, with the day's weather, season and holidays in it. A flat using several times
that from its first day is not an ordinary household of its kind, whatever its own past; the
ratio is kept as evidence ("water 3.1 times the median of 11 similar flats") and lets
``core.building_day`` judge an unlearned flat like a known one (``DecisionParams.
cohort_strong_ratio``). Absolute norms (litres and kWh per person, credentials per day) are
applied by ``core.occupancy`` and ``core.lock_activity`` from day one anyway.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.core.daily_usage import DailyUsage


@dataclass(frozen=True, slots=True)
class CohortParams:
    area_band: float = 0.15  # peers' area within this share of the unit's own
    min_units: int = 3  # fewer peers with an amount that day: no comparison
    min_median: float = 0.03  # m3: a cohort of empty flats says nothing


@dataclass(frozen=True, slots=True)
class Kind:
    """What makes two flats peers."""

    rooms: int
    area_m2: float


def peers_of(kinds: Sequence[Kind], params: CohortParams) -> list[tuple[int, ...]]:
    """For each unit, the indexes of its peers (itself excluded)."""
    return [
        tuple(
            j
            for j, other in enumerate(kinds)
            if j != i
            and other.rooms == mine.rooms
            and abs(other.area_m2 - mine.area_m2) <= params.area_band * mine.area_m2
        )
        for i, mine in enumerate(kinds)
    ]


def cohort_ratio(
    usages: Sequence[DailyUsage],
    peers: Sequence[int],
    index: int,
    kind: str,
    params: CohortParams,
) -> float | None:
    """The unit's amount of ``kind`` over its peers' median that day (``None``: too few peers
    with an amount, or a cohort that used next to nothing)."""
    own = usages[index].amount(kind)
    if own is None:
        return None
    amounts = [a for j in peers if (a := usages[j].amount(kind)) is not None]
    if len(amounts) < params.min_units:
        return None
    median = statistics.median(amounts)
    return None if median < params.min_median else own / median

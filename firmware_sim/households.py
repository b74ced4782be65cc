"""How much water, electricity and gas a household uses, as cumulative meter totals over time.

Theory of operation. A household of ``n`` people uses, per local day,

- water: ``n x L`` litres, ``L`` drawn once per household between 110 and 130 litres;
- electricity: 2.0 kWh of standby (fridge, router), spread evenly over the day, plus
  ``n x 1.5`` kWh of use;
- gas: ``n x G`` m3, ``G`` drawn once per household between 0.25 and 0.35 m3;

each day scaled by a small day-to-day factor (within +-5%). The per-person part follows an
hourly profile (little at night, peaks in the morning and the evening); the rate is constant
within each hour, so the cumulative total is a closed-form integral: whole days, plus the part of
the current day the profile has covered. The household size follows the unit's ``changes``.

Every random draw is a hash of (seed, unit, kind, day), never the state of a generator, so a
total at time ``t`` depends only on ``t``: computed fresh it equals the one reached by adding up
consumption since the start, it never decreases, and two runs with the same seed agree. The
module is pure: no I/O, no clock; time is always passed in.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from firmware_sim.building_config import UnitSpec

__all__ = [
    "DAILY_VARIATION",
    "NORMS",
    "HouseholdModel",
    "KindNorm",
    "cumulative_profile",
]

DAY_S = 86_400.0
HOUR_S = 3_600.0
DAILY_VARIATION = 0.05  # each day's consumption is the norm times a factor in 1 +- this


def cumulative_profile(weights: Sequence[float]) -> tuple[float, ...]:
    """Fraction of a day's per-person use done by the start of each hour (25 values, 0 to 1)."""
    total = sum(weights)
    fractions = [0.0]
    for weight in weights:
        fractions.append(fractions[-1] + weight / total)
    fractions[-1] = 1.0
    return tuple(fractions)


# Relative use per local hour, 00:00-01:00 first. Showers and washing in the morning and the
# evening; cooking at meals; electricity highest in the evening (lights, TV, cooking, laundry).
# Nobody draws water between 02:00 and 04:00, as in real flats where the meter stands still for
# hours every night: water that keeps flowing then is a leak (or people awake), never a crowd.
# fmt: off
WATER_BY_HOUR = (
    1.0, 0.5, 0.0, 0.0, 0.4, 1.5, 5.0, 8.0, 6.0, 3.0, 2.5, 3.0,
    3.5, 2.5, 2.0, 2.0, 2.5, 3.5, 5.0, 6.0, 6.5, 6.0, 4.0, 2.0,
)
ELECTRICITY_BY_HOUR = (
    1.5, 1.0, 1.0, 1.0, 1.0, 1.5, 3.0, 5.0, 4.0, 3.0, 2.5, 3.0,
    3.5, 3.0, 2.5, 2.5, 3.0, 4.0, 6.0, 7.0, 7.5, 7.0, 5.0, 3.0,
)
GAS_BY_HOUR = (
    0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 4.0, 6.0, 3.0, 1.0, 1.0, 3.0,
    5.0, 2.0, 1.0, 1.0, 1.5, 4.0, 8.0, 7.0, 4.0, 3.0, 1.5, 0.5,
)
# fmt: on


@dataclass(frozen=True, slots=True)
class KindNorm:
    """The consumption of one meter kind, in its unit (m3 or kWh) per day."""

    base_per_day: float  # per household, whoever lives there, spread evenly over the day
    per_person_low: float  # each household draws its own per-person norm in [low, high]
    per_person_high: float
    profile: tuple[float, ...] = field(repr=False)  # cumulative day fraction at each hour


NORMS: dict[str, KindNorm] = {
    "water_m3": KindNorm(0.0, 0.110, 0.130, cumulative_profile(WATER_BY_HOUR)),
    "electricity_kwh": KindNorm(2.0, 1.5, 1.5, cumulative_profile(ELECTRICITY_BY_HOUR)),
    "gas_m3": KindNorm(0.0, 0.25, 0.35, cumulative_profile(GAS_BY_HOUR)),
}


def _uniform(*key: object) -> float:
    """A number in [0, 1) fixed by ``key``: the same key gives the same number in every run."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _day_fraction(profile: tuple[float, ...], seconds: float) -> float:
    """Share of a day's per-person use done ``seconds`` after local midnight (0 to 86400)."""
    if seconds >= DAY_S:
        return profile[24]
    hour = int(seconds // HOUR_S)
    return profile[hour] + (profile[hour + 1] - profile[hour]) * (seconds - hour * HOUR_S) / HOUR_S


@dataclass(frozen=True)
class HouseholdModel:
    """The household of one unit from the simulated ``start`` on; ``utc_offset`` is the
    building's, so that mornings and evenings fall at local hours."""

    unit: UnitSpec
    start: datetime
    seed: int = 1
    utc_offset: timedelta = timedelta(hours=8)

    def occupants_at(self, t: datetime) -> int:
        """Household size at ``t``: the last change due by then, or the initial household."""
        occupants = self.unit.occupants
        for change in self.unit.changes:
            if t >= self.start + timedelta(days=change.at_day):
                occupants = change.occupants
        return occupants

    def per_person_per_day(self, kind: str) -> float:
        """This household's own per-person norm for ``kind`` (m3 or kWh per day)."""
        norm = NORMS[kind]
        draw = _uniform(self.seed, self.unit.unit_id, kind, "per-person")
        return norm.per_person_low + (norm.per_person_high - norm.per_person_low) * draw

    def day_factor(self, kind: str, local_day: int) -> float:
        """The day-to-day variation of day number ``local_day`` (local days since 1970)."""
        draw = _uniform(self.seed, self.unit.unit_id, kind, "day", local_day)
        return 1.0 + DAILY_VARIATION * (2.0 * draw - 1.0)

    def total_at(self, kind: str, t: datetime) -> float:
        """The meter's cumulative reading at ``t``: its initial total plus all use since start."""
        meter = self.unit.meter(kind)
        initial = meter.initial_total if meter is not None else 0.0
        return initial + self._used_since_start(kind, t)

    def consumption_between(self, t0: datetime, t1: datetime) -> dict[str, float]:
        """Use of every metered kind between ``t0`` and ``t1`` (0 for an empty interval)."""
        return {
            meter.kind: max(0.0, self.total_at(meter.kind, t1) - self.total_at(meter.kind, t0))
            for meter in self.unit.meters
        }

    def rate_per_hour(self, kind: str, t: datetime) -> float:
        """Current consumption at ``t`` (kW, or m3 per hour): what a flow or power gauge shows."""
        if t < self.start:
            return 0.0
        local = self._local_seconds(t)
        day = math.floor(local / DAY_S)
        hour = int((local - day * DAY_S) // HOUR_S)
        norm = NORMS[kind]
        share_of_day = norm.profile[hour + 1] - norm.profile[hour]
        per_hour = norm.base_per_day / 24.0 + (
            self.occupants_at(t) * self.per_person_per_day(kind) * share_of_day
        )
        return self.day_factor(kind, day) * per_hour

    def mains_voltage(self, t: datetime) -> float:
        """Supply voltage at the unit's meter: 230 V, wandering within +-2.5 V hour by hour."""
        hour = math.floor(self._local_seconds(t) / HOUR_S)
        return 230.0 + 5.0 * (_uniform(self.seed, self.unit.unit_id, "voltage", hour) - 0.5)

    # --- integration -----------------------------------------------------------------------

    def _local_seconds(self, t: datetime) -> float:
        return t.timestamp() + self.utc_offset.total_seconds()

    def _segments(self, t: datetime) -> list[tuple[float, float, int]]:
        """(from, to, occupants) in local seconds, covering ``start`` to ``t`` in order."""
        bounds = [self.start]
        occupants = [self.unit.occupants]
        for change in self.unit.changes:
            bounds.append(self.start + timedelta(days=change.at_day))
            occupants.append(change.occupants)
        segments = []
        for i, begin in enumerate(bounds):
            end = bounds[i + 1] if i + 1 < len(bounds) else t
            end = min(end, t)
            if end > begin:
                segments.append(
                    (self._local_seconds(begin), self._local_seconds(end), occupants[i])
                )
        return segments

    def _used_since_start(self, kind: str, t: datetime) -> float:
        used = 0.0
        for begin, end, occupants in self._segments(t):
            used += self._used_between(kind, begin, end, occupants)
        return used

    def _used_between(self, kind: str, begin: float, end: float, occupants: int) -> float:
        """Use from local second ``begin`` to ``end`` by a household of constant size."""
        norm = NORMS[kind]
        per_person = occupants * self.per_person_per_day(kind)
        used = 0.0
        day = math.floor(begin / DAY_S)
        while day * DAY_S < end:
            midnight = day * DAY_S
            low = max(begin, midnight) - midnight
            high = min(end, midnight + DAY_S) - midnight
            share = _day_fraction(norm.profile, high) - _day_fraction(norm.profile, low)
            evenly = (high - low) / DAY_S
            used += self.day_factor(kind, day) * (norm.base_per_day * evenly + per_person * share)
            day += 1
        return used

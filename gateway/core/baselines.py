"""Each unit's own baseline, and the building's common mode that seasons and habits share.

A unit is compared with itself and with its building, so that what every flat does at once
(air conditioning in a heat wave, heating in winter, a building whose tenants all shower twice
a day) is not read as more people in one flat:

- a unit's **baseline** is the median daily amount of each meter over its first
  ``learn_days`` days with data. It is learned once and then kept, so a slow change (a group
  rental filling up week by week) never becomes the new normal;
- the building's **common factor** of a day is, per meter kind, the median over units with a
  baseline of ``today / baseline``. A heat wave lifts every flat's electricity, so the median
  moves; one flat filling up does not move it. Amounts are divided by the factor before they
  become head counts. The factor is clamped to ``[1, max_factor]``: it may explain extra use
  away, never invent use that is not there (when everybody is away for a holiday, a flat that
  stays busy must stay busy);
- the ratios of the unit to its baseline and to the building's median per square metre are kept
  as evidence: an inspector reads "water 4.1 times its own baseline and 3.6 times the
  building's median for its size";
- the **last day the flat stood empty** (its water meter counted less than a vacant flat's
  ``min_baseline``) is remembered: a crowd that arrives in a flat that was just empty is a new
  household moving in, not guests of the one that lives there (``core.building_day``);
- the **leak floor**: the steady flow last seen running through every hour of a day
  (``note_leak``) and that day, so that while the leak is suspected or open it is taken off the
  water even on a day its quietest hour dipped (``core.occupancy``).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from gateway.core.daily_usage import METER_KINDS, DailyUsage
from gateway.core.residents import Residents


@dataclass(frozen=True, slots=True)
class BaselineParams:
    learn_days: int = 14  # days with data before a baseline counts
    min_units_for_common: int = 5  # fewer units with baselines: no common factor
    max_factor: float = 3.0
    min_baseline: Mapping[str, float] = field(
        default_factory=lambda: {"water_m3": 0.03, "electricity_kwh": 1.0, "gas_m3": 0.05}
    )  # below this a baseline is a vacant flat's: ratios against it would explode


@dataclass(frozen=True, slots=True)
class UnitBaseline:
    """What one unit learned about itself; ``learned`` holds the medians once complete,
    ``residents`` the door-lock credentials of its household (``core.residents``),
    ``last_empty`` the last day nobody used water there (:func:`note_empty`)."""

    samples: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    learned: Mapping[str, float] = field(default_factory=dict)
    residents: Residents = field(default_factory=Residents)
    last_empty: date | None = None
    leak_floor_m3h: float = 0.0
    leak_seen_on: date | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "samples": {k: list(v) for k, v in self.samples.items()},
            "learned": dict(self.learned),
            "residents": self.residents.to_dict(),
            "last_empty": None if self.last_empty is None else self.last_empty.isoformat(),
            "leak_floor_m3h": self.leak_floor_m3h,
            "leak_seen_on": None if self.leak_seen_on is None else self.leak_seen_on.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> UnitBaseline:
        """Reads what :meth:`to_dict` wrote; anything else gives an empty baseline, which is
        only a delay (the unit learns again), never a wrong one."""
        samples, learned = data.get("samples"), data.get("learned")
        if not isinstance(samples, Mapping) or not isinstance(learned, Mapping):
            return cls()
        try:
            return cls(
                samples={str(k): tuple(float(x) for x in v) for k, v in samples.items()},
                learned={str(k): float(v) for k, v in learned.items()},
                residents=Residents.from_dict(data.get("residents")),
                last_empty=_read_day(data.get("last_empty")),
                leak_floor_m3h=float(_number_or_zero(data.get("leak_floor_m3h"))),
                leak_seen_on=_read_day(data.get("leak_seen_on")),
            )
        except (TypeError, ValueError):
            return cls()


def _number_or_zero(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _read_day(value: object) -> date | None:
    """An ISO day as :meth:`UnitBaseline.to_dict` wrote it; ``None`` for anything else (stored
    before the field existed, or damaged: a missed empty day only means a longer wait)."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def learn(baseline: UnitBaseline, usage: DailyUsage, params: BaselineParams) -> UnitBaseline:
    """The baseline after one more closed day (unchanged once learned)."""
    if baseline.learned:
        return baseline
    samples = dict(baseline.samples)
    for kind in METER_KINDS:
        amount = usage.amount(kind)
        if amount is not None:
            samples[kind] = (*samples.get(kind, ()), amount)
    days = max((len(v) for v in samples.values()), default=0)
    if days < params.learn_days:
        return replace(baseline, samples=samples)
    learned = {kind: statistics.median(values) for kind, values in samples.items() if values}
    return replace(baseline, samples={}, learned=learned)


def note_empty(baseline: UnitBaseline, usage: DailyUsage, params: BaselineParams) -> UnitBaseline:
    """``baseline`` remembering ``usage.day`` when the flat stood empty that day: its water
    meter counted less than a vacant flat's ``min_baseline`` (a day without water is unknown,
    not empty)."""
    water = usage.water_m3
    if water is None or water >= params.min_baseline["water_m3"]:
        return baseline
    return replace(baseline, last_empty=usage.day)


def note_leak(baseline: UnitBaseline, usage: DailyUsage, flow_m3h: float) -> UnitBaseline:
    """``baseline`` remembering the day's steady flow as the unit's leak floor when the water
    ran through every hour at a leak's rate (``flow_m3h`` > 0, ``core.occupancy``)."""
    if flow_m3h <= 0:
        return baseline
    return replace(baseline, leak_floor_m3h=flow_m3h, leak_seen_on=usage.day)


def common_factors(
    usages: Sequence[DailyUsage],
    baselines: Sequence[UnitBaseline],
    params: BaselineParams,
) -> dict[str, float]:
    """Per meter kind, the building's median of today over baseline, clamped to
    ``[1, max_factor]``; 1.0 where too few units can tell."""
    factors = {}
    for kind in METER_KINDS:
        ratios = []
        for usage, baseline in zip(usages, baselines, strict=True):
            amount, base = usage.amount(kind), baseline.learned.get(kind)
            if amount is not None and base is not None and base >= params.min_baseline[kind]:
                ratios.append(amount / base)
        if len(ratios) < params.min_units_for_common:
            factors[kind] = 1.0
        else:
            factors[kind] = min(params.max_factor, max(1.0, statistics.median(ratios)))
    return factors


def deflate(usage: DailyUsage, factors: Mapping[str, float]) -> DailyUsage:
    """The day's amounts divided by the building's common factors (quietest hours too)."""

    def scaled(kind: str) -> float | None:
        amount = usage.amount(kind)
        return None if amount is None else amount / factors.get(kind, 1.0)

    return replace(
        usage,
        water_m3=scaled("water_m3"),
        electricity_kwh=scaled("electricity_kwh"),
        gas_m3=scaled("gas_m3"),
        quietest_hour={k: v / factors.get(k, 1.0) for k, v in usage.quietest_hour.items()},
    )


def ratio_to_baseline(
    usage: DailyUsage, baseline: UnitBaseline, kind: str, params: BaselineParams
) -> float | None:
    amount, base = usage.amount(kind), baseline.learned.get(kind)
    if amount is None or base is None or base < params.min_baseline[kind]:
        return None
    return amount / base


def ratio_to_building(
    usages: Sequence[DailyUsage], areas: Sequence[float], index: int, kind: str
) -> float | None:
    """The unit's amount per m2 over the building's median per m2 that day."""
    per_m2 = [
        amount / area
        for usage, area in zip(usages, areas, strict=True)
        if (amount := usage.amount(kind)) is not None and area > 0
    ]
    own = usages[index].amount(kind)
    if own is None or len(per_m2) < 3:
        return None
    median = statistics.median(per_m2)
    return None if median <= 0 else own / areas[index] / median

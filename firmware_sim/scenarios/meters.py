"""Cumulative consumption as a real meter's register shows it.

A meter's register is its initial total plus everything used since, as the device presents it:

- counted in whole steps of its resolution (a water meter in litres, 0.001 m3; a gas meter in
  0.01 m3; the SDM120 in 0.01 kWh), so a reading never shows more than has been used;
- an odometer-style register (water, gas: five digits before the point) wraps to zero at
  100000 and counts on;
- the SDM120 keeps its total as an IEEE float32, so a large total loses resolution: above
  65536 kWh it moves in steps of 1/128 kWh, above 131072 kWh in steps of 1/64 kWh;
- a replaced meter counts from the new meter's total (about zero) from the moment it is fitted;
- an offline meter is simply not read: no row, while it keeps counting.

``MeterPlan`` gathers a meter's spec and the replacements and outages of its flat; the reading
at a moment is ``plan.reading(minute, used, used_at)`` where ``used`` is the flat's consumption
of that kind since the start and ``used_at(m)`` the same at an earlier minute. Every step is
monotone, so a register only ever falls at a replacement or a wrap.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass

from firmware_sim.scenarios.conditions import MeterOffline, MeterReplaced
from firmware_sim.scenarios.model import MeterSpec, UnitTimeline

__all__ = [
    "ODOMETER_WRAP",
    "MeterPlan",
    "as_float32",
    "float32_text",
    "meter_plans",
    "register_text",
    "register_value",
]

ODOMETER_WRAP = 100_000.0
_FLOAT32 = struct.Struct("<f")


def as_float32(value: float) -> float:
    """``value`` stored in an IEEE float32 and read back."""
    result: float = _FLOAT32.unpack(_FLOAT32.pack(value))[0]
    return result


def float32_text(value: float) -> str:
    """The shortest decimal text that reads back as the same float32 as ``value``."""
    for digits in (6, 7, 8):
        text = f"{value:.{digits}g}"
        if as_float32(float(text)) == value:
            return text
    return f"{value:.9g}"


@functools.cache
def _decimals(resolution: float) -> int:
    return max(0, round(-math.log10(resolution)))


def register_value(meter: MeterSpec, total: float) -> float:
    """The register of ``meter`` when its true cumulative total is ``total``."""
    if meter.wraps_at is not None and total >= meter.wraps_at:
        total = math.fmod(total, meter.wraps_at)
    steps = math.floor(total / meter.resolution + 1e-6)
    value = round(steps * meter.resolution, _decimals(meter.resolution))
    return as_float32(value) if meter.float32 else value


def register_text(meter: MeterSpec, value: float) -> str:
    """``value`` (a register value) as it is written to ``meters.csv``."""
    if meter.float32:
        return float32_text(value)
    return f"{value:.{_decimals(meter.resolution)}f}"


@dataclass(frozen=True, slots=True)
class MeterPlan:
    """A meter over the whole scenario: its spec, its replacements, its outages."""

    spec: MeterSpec
    replacements: tuple[MeterReplaced, ...] = ()  # in time order
    outages: tuple[MeterOffline, ...] = ()

    def is_offline(self, minute: float) -> bool:
        if not self.outages:
            return False
        return any(
            o.from_minute <= minute and (o.to_minute is None or minute < o.to_minute)
            for o in self.outages
        )

    def true_total(self, minute: float, used: float, used_at: Callable[[float], float]) -> float:
        """The meter's cumulative total at ``minute``, before the register's rounding, when the
        flat has ``used`` that much since the start (``used_at(m)``: the same at minute m)."""
        if not self.replacements:
            return self.spec.initial_total + used
        fitted = None
        for replacement in self.replacements:
            if replacement.from_minute <= minute:
                fitted = replacement
        if fitted is None:
            return self.spec.initial_total + used
        return fitted.new_total + used - used_at(fitted.from_minute)

    def reading(
        self, minute: float, used: float, used_at: Callable[[float], float]
    ) -> float | None:
        """What a reader gets at ``minute``: the register value, or None while offline."""
        if self.is_offline(minute):
            return None
        return register_value(self.spec, self.true_total(minute, used, used_at))


def meter_plans(timeline: UnitTimeline) -> dict[str, MeterPlan]:
    """The plan of every meter of the flat, by kind."""
    plans = {}
    for meter in timeline.unit.meters:
        replacements = sorted(
            (
                c
                for c in timeline.conditions
                if isinstance(c, MeterReplaced) and c.kind == meter.kind
            ),
            key=lambda c: c.from_minute,
        )
        outages = tuple(
            c for c in timeline.conditions if isinstance(c, MeterOffline) and c.kind == meter.kind
        )
        plans[meter.kind] = MeterPlan(meter, tuple(replacements), outages)
    return plans

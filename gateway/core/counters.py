"""Cumulative meter totals into consumption deltas, without ever inventing consumption.

A meter reports a running total; consumption is the difference between consecutive readings.
Each pair of valid readings gives one :class:`Delta`, flagged with what happened:

- ``ok``: the total rose (or stayed) at a plausible rate;
- ``rollover``: the total fell but wrapping at ``rollover_at`` explains it at a plausible rate;
- ``reset``: the total fell to near zero (below ``reset_below``): the meter was replaced or
  cleared. The new meter counted from zero at some unknown moment between the two readings, so
  the new total is the consumption if that is plausible for the interval, else 0;
- ``reset_in_gap``: the same, but over an interval longer than ``max_reset_hours``: what was
  used between the last reading of the old count and the restart is unknown, and too long to
  be read as nothing (a gateway counting lift stops itself starts again from zero after it was
  down for hours). Excluded, so the interval is a gap, not an idle spell;
- ``negative``: the total fell otherwise (a swapped meter, a misread): excluded;
- ``implausible``: more than ``max_rate_per_hour`` for the interval (a glitch): excluded;
- ``invalid``: a reading that is NaN, infinite, negative or not later than the previous valid
  one. It is marked by a zero-length delta at its own time and skipped as an anchor: the next
  valid reading pairs with the last valid one.

Every valid reading becomes the next anchor, even after an excluded delta, so one glitch costs
at most two intervals and a meter that really jumped recovers by itself. Excluded deltas carry
an amount of 0.0; no delta is ever negative, NaN, or above ``max_rate_per_hour`` for its span.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

_FLAT_TOLERANCE = 1e-9  # relative float noise on a total that should not count as going back


class DeltaFlag(StrEnum):
    OK = "ok"
    RESET = "reset"
    RESET_IN_GAP = "reset_in_gap"
    ROLLOVER = "rollover"
    NEGATIVE = "negative"
    IMPLAUSIBLE = "implausible"
    INVALID = "invalid"


USABLE_FLAGS = frozenset({DeltaFlag.OK, DeltaFlag.RESET, DeltaFlag.ROLLOVER})


@dataclass(frozen=True, slots=True)
class Reading:
    ts: datetime
    total: float


@dataclass(frozen=True, slots=True)
class Delta:
    start: datetime
    end: datetime
    amount: float
    flag: DeltaFlag

    @property
    def usable(self) -> bool:
        """Whether the amount counts as consumption over [start, end]."""
        return self.flag in USABLE_FLAGS


@dataclass(frozen=True, slots=True)
class CounterLimits:
    max_rate_per_hour: float
    rollover_at: float | None = None
    reset_below: float = 1.0
    max_reset_hours: float = 2.0  # a longer interval around a reset is a gap (see above)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_rate_per_hour) and self.max_rate_per_hour > 0):
            raise ValueError(f"max_rate_per_hour must be > 0, not {self.max_rate_per_hour}")
        if self.rollover_at is not None and not (
            math.isfinite(self.rollover_at) and self.rollover_at > 0
        ):
            raise ValueError(f"rollover_at must be > 0, not {self.rollover_at}")
        if not (math.isfinite(self.reset_below) and self.reset_below >= 0):
            raise ValueError(f"reset_below must be >= 0, not {self.reset_below}")
        if not (math.isfinite(self.max_reset_hours) and self.max_reset_hours > 0):
            raise ValueError(f"max_reset_hours must be > 0, not {self.max_reset_hours}")


def consumption_deltas(readings: Sequence[Reading], limits: CounterLimits) -> list[Delta]:
    """One delta per consecutive pair of valid readings, plus a marker per invalid reading."""
    deltas: list[Delta] = []
    anchor: Reading | None = None
    for reading in readings:
        if not _valid_after(reading, anchor):
            deltas.append(Delta(reading.ts, reading.ts, 0.0, DeltaFlag.INVALID))
            continue
        if anchor is not None:
            deltas.append(_delta(anchor, reading, limits))
        anchor = reading
    return deltas


def _valid_after(reading: Reading, anchor: Reading | None) -> bool:
    total = reading.total
    if not (math.isfinite(total) and total >= 0):
        return False
    return anchor is None or reading.ts > anchor.ts


def _delta(before: Reading, after: Reading, limits: CounterLimits) -> Delta:
    hours = (after.ts - before.ts).total_seconds() / 3600
    ceiling = limits.max_rate_per_hour * hours
    rise = after.total - before.total

    def delta(amount: float, flag: DeltaFlag) -> Delta:
        return Delta(before.ts, after.ts, amount, flag)

    if rise < 0 and -rise <= _FLAT_TOLERANCE * max(1.0, before.total):
        rise = 0.0
    if rise >= 0:
        return delta(rise, DeltaFlag.OK) if rise <= ceiling else delta(0.0, DeltaFlag.IMPLAUSIBLE)
    if limits.rollover_at is not None and before.total <= limits.rollover_at:
        wrapped = limits.rollover_at - before.total + after.total
        if wrapped <= ceiling:
            return delta(wrapped, DeltaFlag.ROLLOVER)
    if after.total < limits.reset_below:
        if hours > limits.max_reset_hours:
            return delta(0.0, DeltaFlag.RESET_IN_GAP)
        return delta(after.total if after.total <= ceiling else 0.0, DeltaFlag.RESET)
    return delta(0.0, DeltaFlag.NEGATIVE)

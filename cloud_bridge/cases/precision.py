"""Measured precision of the alerts, from the verdicts inspectors gave.

Precision is ``confirmed / (confirmed + false_alarm)`` over the tickets that have a verdict;
tickets still open without one are counted apart (``pending``) and never in the ratio, so a
detector is not flattered (or blamed) by cases nobody has visited yet. Each row carries its
counts and a Wilson score interval (95 %), because "100 %" from two verdicts and "70 %" from
two hundred are not the same news. Grouped per gateway, per alert kind, per building, or by
any key function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "PrecisionRow",
    "VerdictRecord",
    "precision_by",
    "precision_by_building",
    "precision_by_gateway",
    "precision_by_kind",
]

Z_95: Final = 1.959963984540054


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    """One ticket, as precision sees it: where its alert came from, and its verdict if any."""

    gateway_id: str
    kind: str
    building_id: str
    verdict: Literal["confirmed", "false_alarm"] | None


@dataclass(frozen=True, slots=True)
class PrecisionRow:
    key: str
    confirmed: int
    false_alarm: int
    pending: int

    @property
    def verdicts(self) -> int:
        return self.confirmed + self.false_alarm

    @property
    def precision(self) -> float | None:
        return self.confirmed / self.verdicts if self.verdicts else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The Wilson score interval of the precision at 95 %."""
        n = self.verdicts
        if not n:
            return None
        p, z2 = self.confirmed / n, Z_95 * Z_95
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return max(0.0, centre - half), min(1.0, centre + half)


def precision_by(
    records: Iterable[VerdictRecord], key: Callable[[VerdictRecord], str]
) -> tuple[PrecisionRow, ...]:
    """One row per key, sorted by key."""
    counts: dict[str, list[int]] = {}
    for record in records:
        row = counts.setdefault(key(record), [0, 0, 0])
        row[{"confirmed": 0, "false_alarm": 1, None: 2}[record.verdict]] += 1
    return tuple(PrecisionRow(k, *counts[k]) for k in sorted(counts))


def precision_by_gateway(records: Iterable[VerdictRecord]) -> tuple[PrecisionRow, ...]:
    return precision_by(records, lambda r: r.gateway_id)


def precision_by_kind(records: Iterable[VerdictRecord]) -> tuple[PrecisionRow, ...]:
    return precision_by(records, lambda r: r.kind)


def precision_by_building(records: Iterable[VerdictRecord]) -> tuple[PrecisionRow, ...]:
    return precision_by(records, lambda r: r.building_id)

"""Scores overcrowding alerts against a trace's ground truth (``truth.csv``).

The rules are those of the trace format (docs/trace-format.md, "Ground truth"):

- a group rental (a ``group_rental`` interval of a unit) is *detected* when an
  ``overcrowding`` alert of the unit (any revision) is raised while the interval holds; its
  *delay* is the first such alert's ``raised_at`` minus ``from``;
- an ``overcrowding`` case opened (revision 0) on a unit with no ``group_rental`` interval
  covering that moment is a *false alarm*. Later revisions of the same case update it; they do
  not count again;
- precision counts cases: true cases over all cases opened.

False alarms are also attributed to the confounders (the other truth labels) that held on that
unit at that moment, or ``none`` when nothing did, so one can see what fools a detector.

The same rules score the ``leak`` case against the ``leak`` intervals (``kind`` and ``label``
of :func:`read_alerts` and :func:`score`); "rentals" then counts leaks.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

GROUP_RENTAL = "group_rental"
OVERCROWDING = "overcrowding"
LEAK = "leak"


@dataclass(frozen=True)
class Interval:
    unit_id: str
    label: str
    start: datetime
    end: datetime | None  # None: until the end of the trace

    def holds_at(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True)
class RaisedAlert:
    unit_id: str
    alert_id: str
    revision: int
    raised_at: datetime


@dataclass
class Score:
    units: int
    days: float
    rentals: int = 0
    detected: int = 0
    cases: int = 0
    true_cases: int = 0
    delays_days: list[float] = field(default_factory=list)
    false_alarms: int = 0
    false_alarms_by_label: Counter[str] = field(default_factory=Counter)

    def add(self, other: Score) -> Score:
        return Score(
            units=self.units + other.units,
            days=max(self.days, other.days),
            rentals=self.rentals + other.rentals,
            detected=self.detected + other.detected,
            cases=self.cases + other.cases,
            true_cases=self.true_cases + other.true_cases,
            delays_days=self.delays_days + other.delays_days,
            false_alarms=self.false_alarms + other.false_alarms,
            false_alarms_by_label=self.false_alarms_by_label + other.false_alarms_by_label,
        )

    @property
    def unit_months(self) -> float:
        return self.units * self.days / 30.0

    @property
    def precision(self) -> float | None:
        return self.true_cases / self.cases if self.cases else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.rentals if self.rentals else None

    @property
    def median_delay(self) -> float | None:
        return statistics.median(self.delays_days) if self.delays_days else None

    @property
    def p90_delay(self) -> float | None:
        if not self.delays_days:
            return None
        ordered = sorted(self.delays_days)
        # Nearest rank: the smallest delay at or above which 90 % of detections fall.
        rank = max(1, -(-9 * len(ordered) // 10))
        return ordered[rank - 1]

    @property
    def false_alarms_per_1000_unit_months(self) -> float:
        return 1000 * self.false_alarms / self.unit_months if self.unit_months else 0.0


def read_truth(path: Path) -> list[Interval]:
    intervals = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            end = row.get("to") or ""
            intervals.append(
                Interval(
                    row["unit_id"],
                    row["label"],
                    datetime.fromisoformat(row["from"]),
                    datetime.fromisoformat(end) if end else None,
                )
            )
    return intervals


def read_alerts(path: Path, kind: str = OVERCROWDING) -> list[RaisedAlert]:
    """The alerts of ``kind`` (every revision) of an alerts JSON Lines file."""
    alerts = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            alert = json.loads(line)
            if alert["kind"] == kind:
                alerts.append(
                    RaisedAlert(
                        alert["unit_id"],
                        alert["alert_id"],
                        int(alert.get("revision", 0)),
                        datetime.fromisoformat(alert["raised_at"]),
                    )
                )
    return alerts


def score(
    truth: list[Interval],
    alerts: list[RaisedAlert],
    units: int,
    trace_days: float,
    label: str = GROUP_RENTAL,
) -> Score:
    """Cases of ``alerts`` against the ``label`` intervals of ``truth`` (see above)."""
    result = Score(units=units, days=trace_days)
    rentals = [i for i in truth if i.label == label]
    result.rentals = len(rentals)
    cases = [a for a in alerts if a.revision == 0]
    for case in sorted(cases, key=lambda c: c.raised_at):
        result.cases += 1
        covering = [r for r in rentals if r.unit_id == case.unit_id and r.holds_at(case.raised_at)]
        if covering:
            result.true_cases += 1
            continue
        result.false_alarms += 1
        labels = [
            i.label
            for i in truth
            if i.unit_id == case.unit_id and i.label != label and i.holds_at(case.raised_at)
        ]
        for confounder in labels or ["none"]:
            result.false_alarms_by_label[confounder] += 1
    for rental in rentals:
        hits = [
            a.raised_at
            for a in alerts
            if a.unit_id == rental.unit_id and rental.holds_at(a.raised_at)
        ]
        if hits:
            result.detected += 1
            result.delays_days.append((min(hits) - rental.start) / timedelta(days=1))
    return result

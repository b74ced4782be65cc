"""Scores overcrowding alerts against a trace's ground truth (``truth.csv``).

The rules are those of the trace format (docs/trace-format.md, "Ground truth"):

- a group rental (a ``group_rental`` interval of a unit) is *detected* when an
  ``overcrowding`` alert of the unit (any revision) is raised while the interval holds; its
  *delay* is the first such alert's ``raised_at`` minus ``from``;
- an ``overcrowding`` case opened (revision 0) on a unit with no ``group_rental`` interval
  covering that moment is a *false alarm*. Later revisions of the same case update it; they do
  not count again;
- precision counts cases: true cases over all cases opened.

False alarms are also counted in *episodes*: every ``overcrowding`` alert (any revision) of a
unit raised when no group rental holds there is a false alert, and a unit's false alert starts a
new episode when it is its first or comes more than ``EPISODE_GAP_DAYS`` (7) days after the
unit's previous false alert. A false case re-sent as a revision every week therefore counts
once, one re-sent every 8 to 10 days counts each time: what an inspector is sent out for.

A group rental *present at installation* (its interval starts at or before the trace's first
moment) has its delay measured from the installation, and is reported apart
(``at_install_delays_days``). ``delay_histogram`` counts detections by the day they fall in:
1 for a delay up to one day (found after the first night), 2 up to two days, and so on.

False alarms are also attributed to the confounders (the other truth labels) that held on that
unit at that moment, or ``none`` when nothing did, so one can see what fools a detector.

The same rules score the ``leak`` case against the ``leak`` intervals (``kind`` and ``label``
of :func:`read_alerts` and :func:`score`); "rentals" then counts leaks.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

GROUP_RENTAL = "group_rental"
OVERCROWDING = "overcrowding"
LEAK = "leak"
EPISODE_GAP_DAYS = 7.0


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
    false_alarm_episodes: int = 0
    at_install: int = 0  # rentals present at installation
    at_install_delays_days: list[float] = field(default_factory=list)

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
            false_alarm_episodes=self.false_alarm_episodes + other.false_alarm_episodes,
            at_install=self.at_install + other.at_install,
            at_install_delays_days=self.at_install_delays_days + other.at_install_delays_days,
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

    @property
    def episodes_per_1000_unit_months(self) -> float:
        return 1000 * self.false_alarm_episodes / self.unit_months if self.unit_months else 0.0

    @property
    def at_install_median_delay(self) -> float | None:
        delays = self.at_install_delays_days
        return statistics.median(delays) if delays else None

    @property
    def delay_histogram(self) -> dict[int, int]:
        """Detections by day: ``{1: found within the first day, 2: within the second, ...}``."""
        counts = Counter(max(1, math.ceil(delay - 1e-9)) for delay in self.delays_days)
        return dict(sorted(counts.items()))


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
    trace_start: datetime | None = None,
) -> Score:
    """Cases of ``alerts`` against the ``label`` intervals of ``truth`` (see above);
    ``trace_start`` (the installation) tells which rentals were there from the start."""
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
    result.false_alarm_episodes = _episodes(alerts, rentals)
    for rental in rentals:
        at_install = trace_start is not None and rental.start <= trace_start
        start = trace_start if trace_start is not None and at_install else rental.start
        result.at_install += at_install
        hits = [
            a.raised_at
            for a in alerts
            if a.unit_id == rental.unit_id and rental.holds_at(a.raised_at)
        ]
        if hits:
            result.detected += 1
            delay = (min(hits) - start) / timedelta(days=1)
            result.delays_days.append(delay)
            if at_install:
                result.at_install_delays_days.append(delay)
    return result


def _episodes(alerts: list[RaisedAlert], rentals: list[Interval]) -> int:
    """False-alarm episodes (see the module's docstring): false alerts of any revision, a new
    episode per unit when more than ``EPISODE_GAP_DAYS`` after its previous false alert."""
    last_false: dict[str, datetime] = {}
    episodes = 0
    for alert in sorted(alerts, key=lambda a: a.raised_at):
        if any(r.unit_id == alert.unit_id and r.holds_at(alert.raised_at) for r in rentals):
            continue
        previous = last_false.get(alert.unit_id)
        if previous is None or (alert.raised_at - previous) / timedelta(days=1) > EPISODE_GAP_DAYS:
            episodes += 1
        last_false[alert.unit_id] = alert.raised_at
    return episodes

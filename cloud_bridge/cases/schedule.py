"""A team's inspection schedule for one ISO week, as rows.

Three sources, one row per (unit, day, kind):

- ``revisit``: a case whose rectification was reported, on the local day its re-visit window
  opens (a window that opened before the week lands on Monday, flagged overdue if it is due
  before the week starts);
- ``visit``: a dispatched case not yet visited, on the day its visit is booked, or else on the
  last day of its visit deadline (missed deadlines land on Monday, overdue);
- ``routine``: every graded unit, every ``inspection_interval_days`` of its tier since its last
  inspection (never inspected, or already overdue: from Monday on), repeated through the week,
  so a prohibited (daily) unit appears seven times and a relaxed (monthly) one at most once.

A routine row is dropped where the same unit already has a visit or re-visit that day: the
inspector is there anyway. Rows are sorted by day, then re-visits, visits, routine rounds, then
time and unit. Text output (CSV, iCalendar) is :mod:`~cloud_bridge.cases.schedule_export`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Final, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from cloud_bridge.cases.case_file import Case
from cloud_bridge.cases.deadlines import local_day_start
from cloud_bridge.cases.errors import InvalidCommand
from cloud_bridge.cases.lifecycle import TicketState
from cloud_bridge.cases.tiers import Tier, TierPolicy

__all__ = ["CaseToVisit", "ScheduleRow", "UnitToInspect", "iso_week_days", "week_schedule"]

RowKind = Literal["revisit", "visit", "routine"]
_KIND_ORDER: Final[Mapping[str, int]] = MappingProxyType({"revisit": 0, "visit": 1, "routine": 2})
_VISIT_STATES: Final = frozenset(
    {TicketState.DISPATCHED, TicketState.ASSIGNED, TicketState.VISIT_SCHEDULED}
)
_REVISIT_STATES: Final = frozenset({TicketState.RECTIFICATION_REPORTED, TicketState.REVISIT_DUE})
_TICK: Final = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class UnitToInspect:
    unit_id: str
    address: str
    tier: Tier
    last_inspected: datetime | None = None


@dataclass(frozen=True, slots=True)
class CaseToVisit:
    ticket_id: int
    address: str
    case: Case


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    day: date
    kind: RowKind
    unit_id: str
    address: str
    tier: Tier | None = None
    ticket_id: int | None = None
    starts_at: datetime | None = None
    due: datetime | None = None
    overdue: bool = False
    inspector: str | None = None

    @property
    def uid(self) -> str:
        """Stable across regenerations of the schedule, so a calendar updates in place."""
        if self.kind == "routine":
            return f"routine-{quote(self.unit_id, safe='')}-{self.day:%Y%m%d}@qunzu-watch"
        return f"{self.kind}-{self.ticket_id}@qunzu-watch"


def iso_week_days(week: str) -> tuple[date, ...]:
    """Monday to Sunday of ISO week ``week`` (``"2026-W49"``)."""
    try:
        year, number = week.split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError as err:
        raise InvalidCommand("week", "an ISO week such as 2026-W49") from err
    return tuple(monday + timedelta(days=n) for n in range(7))


def _local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def _case_row(item: CaseToVisit, days: tuple[date, ...], tz: ZoneInfo) -> ScheduleRow | None:
    case = item.case
    starts_at: datetime | None = None
    if case.state in _VISIT_STATES and case.visit_due is not None:
        kind: RowKind = "visit"
        due = case.visit_due
        starts_at = case.visit_at
        target = _local_date(starts_at or due - _TICK, tz)
    elif case.state in _REVISIT_STATES and case.revisit_opens and case.revisit_due:
        kind, due = "revisit", case.revisit_due
        target = _local_date(case.revisit_opens, tz)
    else:
        return None
    week_start = local_day_start(days[0], tz)
    if target < days[0]:
        target, starts_at = days[0], None
    if target > days[-1]:
        return None
    return ScheduleRow(
        target,
        kind,
        case.unit_id,
        item.address,
        None,
        item.ticket_id,
        starts_at,
        due,
        due <= week_start,
        case.inspector,
    )


def _routine_rows(
    unit: UnitToInspect, days: tuple[date, ...], policy: TierPolicy, tz: ZoneInfo
) -> list[ScheduleRow]:
    interval = timedelta(days=policy.inspection_interval_days[unit.tier])
    first = days[0]
    if unit.last_inspected is not None:
        first = _local_date(unit.last_inspected, tz) + interval
    day, rows = max(first, days[0]), list[ScheduleRow]()
    while day <= days[-1]:
        overdue = not rows and first < days[0]
        rows.append(
            ScheduleRow(day, "routine", unit.unit_id, unit.address, unit.tier, overdue=overdue)
        )
        day += interval
    return rows


def week_schedule(
    week: str,
    units: Iterable[UnitToInspect],
    cases: Iterable[CaseToVisit],
    policy: TierPolicy,
    tz: ZoneInfo,
) -> tuple[ScheduleRow, ...]:
    """The rows of ISO ``week`` for a team's ``units`` and open ``cases`` (rules above)."""
    days = iso_week_days(week)
    rows = [row for item in cases if (row := _case_row(item, days, tz)) is not None]
    busy = {(row.unit_id, row.day) for row in rows}
    for unit in units:
        rows.extend(
            row
            for row in _routine_rows(unit, days, policy, tz)
            if (row.unit_id, row.day) not in busy
        )
    return tuple(
        sorted(
            rows,
            key=lambda r: (
                r.day,
                _KIND_ORDER[r.kind],
                r.starts_at.timestamp() if r.starts_at else 0.0,
                r.unit_id,
            ),
        )
    )

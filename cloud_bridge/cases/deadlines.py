"""Deadlines of a case, when they are overdue, and when the district must hear of it.

Days are the building's calendar days: every function that counts days takes the building's
time zone, and a deadline "within N days" of an instant is the END of the Nth local day after
it (the first instant of the following local day), so a case dispatched at 23:50 is not due ten
minutes later, and a DST change shifts nothing by an hour. Results are aware datetimes in UTC.

- :func:`visit_due`: the visit is due within the tier's number of days of dispatch;
- :func:`rectification_due`: the order's due date, ``rectification_days`` after it is made;
- :func:`revisit_window`: the re-visit opens at the start of the local day ``revisit_after_days``
  after the report, and is due by the end of that day;
- :func:`current_deadline`: which of these the case is working against in its state;
- :func:`lateness` and :func:`escalation`: overdue now, and overdue for longer than the grace
  (counted in local days after the deadline), which sends it to the district.

Nothing here reads a clock: ``now`` is always passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Final, Literal
from zoneinfo import ZoneInfo

from cloud_bridge.cases.case_file import Case
from cloud_bridge.cases.commands import require_aware
from cloud_bridge.cases.errors import InvalidPolicy
from cloud_bridge.cases.lifecycle import TicketState
from cloud_bridge.cases.tiers import TIER_ORDER, Tier

__all__ = [
    "Deadline",
    "DeadlinePolicy",
    "Escalation",
    "add_local_days",
    "current_deadline",
    "end_of_local_day",
    "escalation",
    "lateness",
    "local_day_start",
    "rectification_due",
    "revisit_is_due",
    "revisit_window",
    "visit_due",
]

DeadlineKind = Literal["visit", "rectification", "revisit"]
MAX_DAYS: Final = 366


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    visit_due_days: Mapping[Tier, int] = field(
        default_factory=lambda: MappingProxyType(
            {Tier.PROHIBITED: 1, Tier.STRICT: 3, Tier.WATCH: 5, Tier.RELAXED: 7}
        )
    )
    rectification_days: int = 15
    revisit_after_days: int = 7
    escalation_grace_days: int = 2

    def __post_init__(self) -> None:
        days = self.visit_due_days
        if set(days) != set(TIER_ORDER) or not all(0 <= d <= MAX_DAYS for d in days.values()):
            raise InvalidPolicy("deadlines.visit_due_days", f"every tier, 0-{MAX_DAYS} days")
        for name in ("rectification_days", "revisit_after_days", "escalation_grace_days"):
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= MAX_DAYS:
                raise InvalidPolicy(f"deadlines.{name}", f"a whole number of days, 0-{MAX_DAYS}")


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: DeadlineKind
    due: datetime


@dataclass(frozen=True, slots=True)
class Escalation:
    """A deadline missed by more than the grace: the district is told."""

    deadline: Deadline
    late_by: timedelta
    escalate_to: Literal["district"] = "district"


def local_day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of local ``day`` in ``tz``, in UTC (a midnight skipped by DST is the
    instant the clocks jump)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def end_of_local_day(instant: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The end of the local day ``days`` after ``instant``'s local day: the start of the next."""
    require_aware("instant", instant)
    day = instant.astimezone(tz).date() + timedelta(days=days + 1)
    return local_day_start(day, tz)


def add_local_days(instant: datetime, days: int, tz: ZoneInfo) -> datetime:
    """``instant`` moved by ``days`` on the local wall clock (same local time, ``days`` later)."""
    require_aware("instant", instant)
    return (instant.astimezone(tz) + timedelta(days=days)).astimezone(UTC)


def visit_due(
    dispatched_at: datetime, tier: Tier, policy: DeadlinePolicy, tz: ZoneInfo
) -> datetime:
    return end_of_local_day(dispatched_at, policy.visit_due_days[tier], tz)


def rectification_due(ordered_at: datetime, policy: DeadlinePolicy, tz: ZoneInfo) -> datetime:
    return end_of_local_day(ordered_at, policy.rectification_days, tz)


def revisit_window(
    reported_at: datetime, policy: DeadlinePolicy, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """``(opens, due)`` of the re-visit after a rectification reported at ``reported_at``."""
    due = end_of_local_day(reported_at, policy.revisit_after_days, tz)
    opens = local_day_start(
        reported_at.astimezone(tz).date() + timedelta(days=policy.revisit_after_days), tz
    )
    return opens, due


_DEADLINE_OF_STATE: Final[Mapping[TicketState, DeadlineKind]] = MappingProxyType(
    {
        TicketState.DISPATCHED: "visit",
        TicketState.ASSIGNED: "visit",
        TicketState.VISIT_SCHEDULED: "visit",
        TicketState.RECTIFYING: "rectification",
        TicketState.RECTIFICATION_REPORTED: "revisit",
        TicketState.REVISIT_DUE: "revisit",
    }
)
_DUE_FIELD: Final[Mapping[DeadlineKind, str]] = MappingProxyType(
    {"visit": "visit_due", "rectification": "rectification_due", "revisit": "revisit_due"}
)


def current_deadline(case: Case) -> Deadline | None:
    """The deadline the case works against in its state, if any (none while new, visited,
    confirmed, relapsed or ended)."""
    kind = _DEADLINE_OF_STATE.get(case.state)
    if kind is None:
        return None
    due: datetime | None = getattr(case, _DUE_FIELD[kind])
    return None if due is None else Deadline(kind, due)


def lateness(case: Case, now: datetime) -> timedelta | None:
    """How long the case's current deadline has been missed at ``now``; ``None`` if not."""
    require_aware("now", now)
    deadline = current_deadline(case)
    if deadline is None or now < deadline.due:
        return None
    return now - deadline.due


def escalation(
    case: Case, now: datetime, policy: DeadlinePolicy, tz: ZoneInfo
) -> Escalation | None:
    """The escalation to the district, once the deadline is missed by more than the grace."""
    late = lateness(case, now)
    deadline = current_deadline(case)
    if late is None or deadline is None:
        return None
    grace_ends = add_local_days(deadline.due, policy.escalation_grace_days, tz)
    return Escalation(deadline, late) if now >= grace_ends else None


def revisit_is_due(case: Case, now: datetime) -> bool:
    """Whether the bridge should apply the timed ``revisit_falls_due`` to ``case`` now."""
    require_aware("now", now)
    return (
        case.state is TicketState.RECTIFICATION_REPORTED
        and case.revisit_opens is not None
        and now >= case.revisit_opens
    )

"""The ticket lifecycle of the street office's closed loop, as ONE table.

``(state, event) -> next state``; nothing else moves a ticket. The source state ``None`` stands
for "no ticket yet": ``open`` starts an ordinary case, ``relapse`` starts one that is linked to
an earlier case of the same unit (see :mod:`~cloud_bridge.cases.relapse`).

The loop (派单 → 上门 → 认定 → 整改 → 回头看): a case is routed to a street office
(``dispatch``), given to an inspector (``assign``), a visit is booked (``schedule_visit``), the
findings are recorded (``record_visit``), and the case is confirmed or dismissed with a reason
(``dismiss``). A confirmed group rental is ordered to rectify by a due date, the owner reports
the rectification, the re-visit falls due some days later (a timed event the bridge applies),
and the re-visit either passes (``closed``) or fails (``relapsed``, ordered again). Moving a case
to another office (``reroute``) or inspector (``reassign``) is an event like any other.

Against the older table in ``cloud_bridge/ticket_states.py``: ``close`` straight from
``confirmed`` or ``relapsed`` is gone (a group rental ends only through a passed re-visit, the
"zero relapse" rule), and ``reopen`` is replaced by a new ``relapse`` ticket linked to the ended
one, so verdicts are never rewritten (reasons in :mod:`~cloud_bridge.cases.relapse`).

Who may perform an event is a second table, in :mod:`~cloud_bridge.cases.roles`; what an event
changes on the case, and the few checks on its content, in :mod:`~cloud_bridge.cases.case_file`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from cloud_bridge.cases.errors import IllegalTransition

__all__ = [
    "OPEN_STATES",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Event",
    "TicketState",
    "allowed_events",
    "next_state",
]


class TicketState(StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    ASSIGNED = "assigned"
    VISIT_SCHEDULED = "visit_scheduled"
    VISITED = "visited"
    CONFIRMED = "confirmed"
    FALSE_ALARM = "false_alarm"
    RECTIFYING = "rectifying"
    RECTIFICATION_REPORTED = "rectification_reported"
    REVISIT_DUE = "revisit_due"
    CLOSED = "closed"
    RELAPSED = "relapsed"


class Event(StrEnum):
    OPEN = "open"
    RELAPSE = "relapse"
    DISPATCH = "dispatch"
    REROUTE = "reroute"
    ASSIGN = "assign"
    REASSIGN = "reassign"
    SCHEDULE_VISIT = "schedule_visit"
    RECORD_VISIT = "record_visit"
    CONFIRM = "confirm"
    DISMISS = "dismiss"
    ORDER_RECTIFICATION = "order_rectification"
    EXTEND_RECTIFICATION = "extend_rectification"
    REPORT_RECTIFICATION = "report_rectification"
    REVISIT_FALLS_DUE = "revisit_falls_due"
    REVISIT_PASSED = "revisit_passed"
    REVISIT_FAILED = "revisit_failed"


S, E = TicketState, Event

TRANSITIONS: Final[Mapping[tuple[TicketState | None, Event], TicketState]] = MappingProxyType(
    {
        (None, E.OPEN): S.NEW,
        (None, E.RELAPSE): S.RELAPSED,
        (S.NEW, E.DISPATCH): S.DISPATCHED,
        (S.NEW, E.DISMISS): S.FALSE_ALARM,
        (S.DISPATCHED, E.ASSIGN): S.ASSIGNED,
        (S.DISPATCHED, E.REROUTE): S.DISPATCHED,
        (S.DISPATCHED, E.DISMISS): S.FALSE_ALARM,
        (S.ASSIGNED, E.SCHEDULE_VISIT): S.VISIT_SCHEDULED,
        (S.ASSIGNED, E.REASSIGN): S.ASSIGNED,
        (S.ASSIGNED, E.REROUTE): S.DISPATCHED,
        (S.VISIT_SCHEDULED, E.RECORD_VISIT): S.VISITED,
        (S.VISIT_SCHEDULED, E.SCHEDULE_VISIT): S.VISIT_SCHEDULED,
        (S.VISIT_SCHEDULED, E.REASSIGN): S.VISIT_SCHEDULED,
        (S.VISIT_SCHEDULED, E.REROUTE): S.DISPATCHED,
        (S.VISITED, E.CONFIRM): S.CONFIRMED,
        (S.VISITED, E.DISMISS): S.FALSE_ALARM,
        (S.CONFIRMED, E.ORDER_RECTIFICATION): S.RECTIFYING,
        (S.RECTIFYING, E.EXTEND_RECTIFICATION): S.RECTIFYING,
        (S.RECTIFYING, E.REPORT_RECTIFICATION): S.RECTIFICATION_REPORTED,
        (S.RECTIFYING, E.REASSIGN): S.RECTIFYING,
        (S.RECTIFICATION_REPORTED, E.REVISIT_FALLS_DUE): S.REVISIT_DUE,
        (S.RECTIFICATION_REPORTED, E.REASSIGN): S.RECTIFICATION_REPORTED,
        (S.REVISIT_DUE, E.REVISIT_PASSED): S.CLOSED,
        (S.REVISIT_DUE, E.REVISIT_FAILED): S.RELAPSED,
        (S.REVISIT_DUE, E.REASSIGN): S.REVISIT_DUE,
        (S.RELAPSED, E.ORDER_RECTIFICATION): S.RECTIFYING,
        (S.RELAPSED, E.DISPATCH): S.DISPATCHED,
    }
)

TERMINAL_STATES: Final = frozenset({S.CLOSED, S.FALSE_ALARM})
OPEN_STATES: Final = frozenset(TicketState) - TERMINAL_STATES


def allowed_events(state: TicketState | None) -> tuple[Event, ...]:
    """The events the table allows from ``state`` (``None``: no ticket yet), in table order."""
    return tuple(event for (source, event) in TRANSITIONS if source == state)


def next_state(state: TicketState | None, event: Event) -> TicketState:
    """The state after ``event``; :class:`IllegalTransition` naming the allowed events if the
    table has no such row."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError as err:
        allowed = tuple(str(e) for e in allowed_events(state))
        raise IllegalTransition(str(state or "none"), str(event), allowed) from err

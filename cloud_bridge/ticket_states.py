"""The ticket lifecycle as one table: ``(state, event) -> next state``.

A ticket is opened (``new``) by a verified alert and routed to its street office at once
(``dispatch``). Inspectors visit; the case is confirmed or dismissed as a false alarm. A confirmed
group rental is ordered to rectify, re-visited, and closed, or it relapses and is ordered again.
A closed or dismissed ticket can be reopened, which puts it back with the street office.

Everything not in :data:`TRANSITIONS` is refused with :class:`InvalidTransition`. This module
does no I/O; the database applies it and records every step with who and when.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from cloud_bridge.errors import InvalidTransition


class TicketState(StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    VISITED = "visited"
    CONFIRMED = "confirmed"
    FALSE_ALARM = "false_alarm"
    RECTIFYING = "rectifying"
    REVISIT_DUE = "revisit_due"
    CLOSED = "closed"
    RELAPSED = "relapsed"


class TicketEvent(StrEnum):
    DISPATCH = "dispatch"
    VISIT = "visit"
    CONFIRM = "confirm"
    DISMISS = "dismiss"
    ORDER_RECTIFICATION = "order_rectification"
    SCHEDULE_REVISIT = "schedule_revisit"
    REVISIT_OK = "revisit_ok"
    REVISIT_FAILED = "revisit_failed"
    CLOSE = "close"
    REOPEN = "reopen"


S, E = TicketState, TicketEvent

TRANSITIONS: Final[Mapping[tuple[TicketState, TicketEvent], TicketState]] = MappingProxyType(
    {
        (S.NEW, E.DISPATCH): S.DISPATCHED,
        (S.NEW, E.DISMISS): S.FALSE_ALARM,
        (S.DISPATCHED, E.VISIT): S.VISITED,
        (S.DISPATCHED, E.DISMISS): S.FALSE_ALARM,
        (S.VISITED, E.CONFIRM): S.CONFIRMED,
        (S.VISITED, E.DISMISS): S.FALSE_ALARM,
        (S.CONFIRMED, E.ORDER_RECTIFICATION): S.RECTIFYING,
        (S.CONFIRMED, E.CLOSE): S.CLOSED,
        (S.RECTIFYING, E.SCHEDULE_REVISIT): S.REVISIT_DUE,
        (S.REVISIT_DUE, E.REVISIT_OK): S.CLOSED,
        (S.REVISIT_DUE, E.REVISIT_FAILED): S.RELAPSED,
        (S.RELAPSED, E.ORDER_RECTIFICATION): S.RECTIFYING,
        (S.RELAPSED, E.CLOSE): S.CLOSED,
        (S.CLOSED, E.REOPEN): S.DISPATCHED,
        (S.FALSE_ALARM, E.REOPEN): S.DISPATCHED,
    }
)

TERMINAL_STATES: Final = frozenset({S.CLOSED, S.FALSE_ALARM})
OPEN_STATES: Final = frozenset(TicketState) - TERMINAL_STATES


def allowed_events(state: str) -> tuple[TicketEvent, ...]:
    """The events the table allows from ``state``, in the table's order."""
    return tuple(event for (source, event) in TRANSITIONS if source == state)


def apply(state: str, event: str) -> TicketState:
    """The state after ``event``; :class:`InvalidTransition` if the table does not allow it."""
    try:
        return TRANSITIONS[(TicketState(state), TicketEvent(event))]
    except (ValueError, KeyError) as err:
        allowed = tuple(str(e) for e in allowed_events(state))
        raise InvalidTransition(state, event, allowed) from err


def is_open(state: str) -> bool:
    return state in OPEN_STATES

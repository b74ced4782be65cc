"""The lifecycle table row by row: every allowed step, a sample of refused ones, reachability."""

from __future__ import annotations

import pytest

from cloud_bridge.cases.errors import CaseError, IllegalTransition
from cloud_bridge.cases.lifecycle import (
    OPEN_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Event,
    TicketState,
    allowed_events,
    next_state,
)
from cloud_bridge.errors import InvalidTransition

ALLOWED = [
    (None, "open", "new"),
    (None, "relapse", "relapsed"),
    ("new", "dispatch", "dispatched"),
    ("new", "dismiss", "false_alarm"),
    ("dispatched", "assign", "assigned"),
    ("dispatched", "reroute", "dispatched"),
    ("dispatched", "dismiss", "false_alarm"),
    ("assigned", "schedule_visit", "visit_scheduled"),
    ("assigned", "reassign", "assigned"),
    ("assigned", "reroute", "dispatched"),
    ("visit_scheduled", "record_visit", "visited"),
    ("visit_scheduled", "schedule_visit", "visit_scheduled"),
    ("visit_scheduled", "reassign", "visit_scheduled"),
    ("visit_scheduled", "reroute", "dispatched"),
    ("visited", "confirm", "confirmed"),
    ("visited", "dismiss", "false_alarm"),
    ("confirmed", "order_rectification", "rectifying"),
    ("rectifying", "extend_rectification", "rectifying"),
    ("rectifying", "report_rectification", "rectification_reported"),
    ("rectifying", "reassign", "rectifying"),
    ("rectification_reported", "revisit_falls_due", "revisit_due"),
    ("rectification_reported", "reassign", "rectification_reported"),
    ("revisit_due", "revisit_passed", "closed"),
    ("revisit_due", "revisit_failed", "relapsed"),
    ("revisit_due", "reassign", "revisit_due"),
    ("relapsed", "order_rectification", "rectifying"),
    ("relapsed", "dispatch", "dispatched"),
]

REFUSED = [
    (None, "dispatch", "open, relapse"),
    ("new", "record_visit", "dispatch, dismiss"),
    ("dispatched", "confirm", "assign, reroute, dismiss"),
    ("assigned", "record_visit", "schedule_visit, reassign, reroute"),
    ("visited", "revisit_passed", "confirm, dismiss"),
    ("confirmed", "dismiss", "order_rectification"),
    ("rectifying", "revisit_passed", "extend_rectification, report_rectification, reassign"),
    ("rectification_reported", "revisit_passed", "revisit_falls_due, reassign"),
    ("revisit_due", "dismiss", "revisit_passed, revisit_failed, reassign"),
    ("relapsed", "confirm", "order_rectification, dispatch"),
    ("closed", "relapse", ""),
    ("false_alarm", "dispatch", ""),
]


def _state(name: str | None) -> TicketState | None:
    return None if name is None else TicketState(name)


@pytest.mark.parametrize(("state", "event", "after"), ALLOWED)
def test_allowed_transition(state: str | None, event: str, after: str) -> None:
    assert next_state(_state(state), Event(event)) == after


def test_the_table_is_exactly_the_allowed_list() -> None:
    assert {(_state(s), Event(e)): TicketState(t) for s, e, t in ALLOWED} == dict(TRANSITIONS)


@pytest.mark.parametrize(("state", "event", "allowed"), REFUSED)
def test_refused_transition_names_the_allowed_events(
    state: str | None, event: str, allowed: str
) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_state(_state(state), Event(event))
    assert isinstance(caught.value, InvalidTransition) and isinstance(caught.value, CaseError)
    assert caught.value.allowed == (tuple(allowed.split(", ")) if allowed else ())
    assert f"'{event}'" in str(caught.value)
    hint = f"(allowed: {allowed})" if allowed else "(no event is allowed)"
    assert hint in str(caught.value)


def test_terminal_states_allow_nothing_and_every_open_state_can_move() -> None:
    assert {TicketState.CLOSED, TicketState.FALSE_ALARM} == TERMINAL_STATES
    assert all(allowed_events(state) == () for state in TERMINAL_STATES)
    assert all(allowed_events(state) for state in OPEN_STATES)


def test_every_state_is_reachable_from_no_ticket() -> None:
    reached: set[TicketState] = set()
    frontier: list[TicketState | None] = [None]
    while frontier:
        state = frontier.pop()
        for event in allowed_events(state):
            after = next_state(state, event)
            if after not in reached:
                reached.add(after)
                frontier.append(after)
    assert reached == set(TicketState)


def test_every_event_is_used_by_the_table() -> None:
    assert {event for (_, event) in TRANSITIONS} == set(Event)

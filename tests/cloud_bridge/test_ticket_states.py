"""The ticket lifecycle, row by row: every allowed step, and a sample of refused ones."""

from __future__ import annotations

import pytest

from cloud_bridge.errors import InvalidTransition
from cloud_bridge.ticket_states import (
    OPEN_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    TicketEvent,
    TicketState,
    allowed_events,
    apply,
    is_open,
)

ALLOWED = [
    ("new", "dispatch", "dispatched"),
    ("new", "dismiss", "false_alarm"),
    ("dispatched", "visit", "visited"),
    ("dispatched", "dismiss", "false_alarm"),
    ("visited", "confirm", "confirmed"),
    ("visited", "dismiss", "false_alarm"),
    ("confirmed", "order_rectification", "rectifying"),
    ("confirmed", "close", "closed"),
    ("rectifying", "schedule_revisit", "revisit_due"),
    ("revisit_due", "revisit_ok", "closed"),
    ("revisit_due", "revisit_failed", "relapsed"),
    ("relapsed", "order_rectification", "rectifying"),
    ("relapsed", "close", "closed"),
    ("closed", "reopen", "dispatched"),
    ("false_alarm", "reopen", "dispatched"),
]

REFUSED = [
    ("new", "visit"),
    ("dispatched", "confirm"),
    ("visited", "close"),
    ("rectifying", "revisit_ok"),
    ("revisit_due", "dismiss"),
    ("closed", "dispatch"),
    ("closed", "close"),
    ("false_alarm", "confirm"),
    ("dispatched", "no_such_event"),
    ("no_such_state", "dispatch"),
]


@pytest.mark.parametrize(("state", "event", "after"), ALLOWED)
def test_allowed_transition(state: str, event: str, after: str) -> None:
    assert apply(state, event) == after


def test_the_table_is_exactly_the_allowed_list() -> None:
    assert {(s, e): t for s, e, t in ALLOWED} == dict(TRANSITIONS)


@pytest.mark.parametrize(("state", "event"), REFUSED)
def test_refused_transition_names_state_and_event(state: str, event: str) -> None:
    with pytest.raises(InvalidTransition) as caught:
        apply(state, event)
    assert caught.value.state == state
    assert caught.value.event == event
    assert f"'{event}'" in str(caught.value)
    assert f"'{state}'" in str(caught.value)


def test_refusal_lists_what_is_allowed() -> None:
    with pytest.raises(InvalidTransition, match=r"allowed: reopen\)"):
        apply("closed", "visit")
    assert allowed_events("revisit_due") == (TicketEvent.REVISIT_OK, TicketEvent.REVISIT_FAILED)


@pytest.mark.parametrize(
    ("state", "open_"),
    [(s.value, s not in {TicketState.CLOSED, TicketState.FALSE_ALARM}) for s in TicketState],
)
def test_open_and_terminal_states(state: str, open_: bool) -> None:
    assert is_open(state) is open_
    assert (state in OPEN_STATES) is open_
    assert (state in TERMINAL_STATES) is not open_


def test_every_state_is_reachable_from_new_and_every_open_state_can_move() -> None:
    reached = {TicketState.NEW}
    frontier = [TicketState.NEW]
    while frontier:
        state = frontier.pop()
        for event in allowed_events(state):
            after = apply(state, event)
            if after not in reached:
                reached.add(after)
                frontier.append(after)
    assert reached == set(TicketState)
    assert all(allowed_events(state) for state in TicketState)

"""Properties of the case model under random commands (hypothesis, derandomised):

- any command (half the time one the table allows from the current state), by any actor
  (half the time one the role table permits), at any time, is either refused with a
  :class:`CaseError` (and the case is unchanged) or moves the case exactly as the lifecycle
  table says;
- a random walk through the table's allowed events, by actors the role table permits, with
  well-formed content, is never refused: the guards leave no dead end;
- whatever happened, the recorded file replays to the same case, also after a trip through
  JSON, and its invariants hold.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cloud_bridge.cases import commands as c
from cloud_bridge.cases.case_file import Case, apply, replay
from cloud_bridge.cases.command_codec import step_from_mapping, step_to_mapping
from cloud_bridge.cases.errors import CaseError
from cloud_bridge.cases.findings import Findings
from cloud_bridge.cases.lifecycle import TERMINAL_STATES, TRANSITIONS, Event, allowed_events
from cloud_bridge.cases.lifecycle import TicketState as S
from cloud_bridge.cases.roles import PERMISSIONS, Actor, Role
from tests.cloud_bridge.cases.case_builders import (
    ADMIN,
    CITY,
    CLEAN,
    CROWDED,
    DISPATCHER,
    INSPECTOR,
    OTHER_INSPECTOR,
    SYSTEM,
    T0,
)

ACTORS = [SYSTEM, DISPATCHER, INSPECTOR, OTHER_INSPECTOR, ADMIN, CITY]
OFFICES = ["linfen", "jiuliting"]
INSPECTORS = ["i-wang", "i-zhao"]
FINDINGS = st.builds(
    Findings,
    people_found=st.integers(0, 20),
    rooms_partitioned=st.integers(0, 4),
    bunk_beds=st.integers(0, 6),
    fire_hazard=st.booleans(),
    structural_hazard=st.booleans(),
)
SETTINGS = settings(derandomize=True, database=None, max_examples=200, deadline=None)


def _other(options: list[str], current: str | None) -> str:
    return next(o for o in options if o != current)


def command_for(event: Event, case: Case | None, at: datetime, draw: st.DrawFn) -> c.Command:
    """A well-formed command for ``event`` on ``case`` at ``at``."""
    later = at + timedelta(hours=draw(st.integers(1, 24 * 20)))
    match event:
        case Event.OPEN:
            return c.Open(unit_id="B3-1204")
        case Event.RELAPSE:
            return c.Relapse(unit_id="B3-1204", relapse_of=5, previous_state=S.CLOSED)
        case Event.DISPATCH:
            return c.Dispatch(street_office=draw(st.sampled_from(OFFICES)), visit_due=later)
        case Event.REROUTE:
            return c.Reroute(street_office=_other(OFFICES, case and case.street_office))
        case Event.ASSIGN:
            return c.Assign(inspector=draw(st.sampled_from(INSPECTORS)))
        case Event.REASSIGN:
            return c.Reassign(inspector=_other(INSPECTORS, case and case.inspector))
        case Event.SCHEDULE_VISIT:
            return c.ScheduleVisit(visit_at=later)
        case Event.RECORD_VISIT:
            return c.RecordVisit(findings=draw(FINDINGS))
        case Event.CONFIRM:
            return c.Confirm()
        case Event.DISMISS:
            return c.Dismiss(reason=draw(st.sampled_from(c.DismissReason)), note="seen")
        case Event.ORDER_RECTIFICATION:
            return c.OrderRectification(due=later)
        case Event.EXTEND_RECTIFICATION:
            base = case.rectification_due if case and case.rectification_due else at
            return c.ExtendRectification(due=max(base, at) + timedelta(days=3))
        case Event.REPORT_RECTIFICATION:
            return c.ReportRectification(revisit_opens=later, revisit_due=later + timedelta(days=1))
        case Event.REVISIT_FALLS_DUE:
            return c.RevisitFallsDue()
        case Event.REVISIT_PASSED:
            return c.RevisitPassed(findings=CLEAN)
        case Event.REVISIT_FAILED:
            return c.RevisitFailed(findings=CROWDED)
    raise AssertionError(event)


def check_invariants(case: Case) -> None:
    assert replay(case.steps) == case
    stored = json.loads(json.dumps([step_to_mapping(step) for step in case.steps]))
    assert replay(step_from_mapping(data) for data in stored) == case
    assert case.state is case.steps[-1].to_state
    assert [s.at for s in case.steps] == sorted(s.at for s in case.steps)
    for before, after in zip(case.steps, case.steps[1:], strict=False):
        assert after.from_state is before.to_state
    assert (case.ended_at is not None) is (case.state in TERMINAL_STATES)
    if case.state in {S.CONFIRMED, S.RECTIFYING, S.RECTIFICATION_REPORTED, S.CLOSED}:
        assert case.verdict == "confirmed"
    if case.state is S.FALSE_ALARM:
        assert case.verdict == "false_alarm" and case.dismissal is not None
    if case.state in {S.ASSIGNED, S.VISIT_SCHEDULED}:
        assert case.inspector is not None and case.street_office is not None


@SETTINGS
@given(st.data())
def test_any_command_is_refused_or_follows_the_table(data: st.DataObject) -> None:
    case: Case | None = None
    at = T0
    for _ in range(data.draw(st.integers(1, 25))):
        at += timedelta(hours=data.draw(st.integers(-2, 24 * 10)))
        table_events = allowed_events(case.state if case else None) or tuple(Event)
        event = data.draw(st.sampled_from(Event) | st.sampled_from(table_events))
        command = command_for(event, case, at, data.draw)
        if data.draw(st.booleans()):
            actor = data.draw(st.sampled_from(ACTORS))
        else:
            actor = permitted_actor(event, case, data.draw)
        before = case.state if case else None
        try:
            case, step = apply(case, command, actor, at)
        except CaseError:
            continue
        assert case.state is TRANSITIONS[(before, event)] is step.to_state
        assert step.actor == actor and step.at == at and step.command == command
    if case is not None:
        check_invariants(case)


def permitted_actor(event: Event, case: Case | None, draw: st.DrawFn) -> Actor:
    roles = [r for r in Role if event in PERMISSIONS[r]]
    if case is None or case.inspector is None:
        roles = [r for r in roles if r is not Role.INSPECTOR]
    role = draw(st.sampled_from(roles))
    if role is Role.INSPECTOR:
        assert case is not None and case.inspector is not None
        return Actor(case.inspector, role)
    return Actor(f"{role}-1", role)


def possible(event: Event, case: Case) -> bool:
    return not (event is Event.ORDER_RECTIFICATION and case.findings is None)


@SETTINGS
@given(st.data())
def test_a_walk_through_the_table_is_never_refused(data: st.DataObject) -> None:
    at = T0
    first = data.draw(st.sampled_from(allowed_events(None)))
    case, _ = apply(None, command_for(first, None, at, data.draw), SYSTEM, at)
    for _ in range(40):  # a case ends long before: the loop is about a dozen steps
        events = [e for e in allowed_events(case.state) if possible(e, case)]
        if not events:
            assert case.state in TERMINAL_STATES
            break
        event = data.draw(st.sampled_from(events))
        at += timedelta(hours=data.draw(st.integers(0, 24 * 5)))
        if event is Event.REVISIT_FALLS_DUE and case.revisit_opens:
            at = max(at, case.revisit_opens)
        command = command_for(event, case, at, data.draw)
        case, _ = apply(case, command, permitted_actor(event, case, data.draw), at)
    check_invariants(case)

"""Applying commands: sequences in, states and recorded steps out; refusals; replay."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cloud_bridge.cases import commands as c
from cloud_bridge.cases.case_file import apply, replay
from cloud_bridge.cases.errors import CaseError, IllegalTransition, InvalidCommand, NotPermitted
from cloud_bridge.cases.findings import Findings
from cloud_bridge.cases.lifecycle import TRANSITIONS
from cloud_bridge.cases.lifecycle import TicketState as S
from tests.cloud_bridge.cases.case_builders import (
    ADMIN,
    CITY,
    CLEAN,
    CROWDED,
    DISPATCHER,
    FULL_LOOP,
    INSPECTOR,
    OTHER_INSPECTOR,
    SYSTEM,
    Row,
    at,
    run,
)

FULL_LOOP_STATES = [
    (None, "open", "new", "system:cloud-bridge"),
    ("new", "dispatch", "dispatched", "system:cloud-bridge"),
    ("dispatched", "assign", "assigned", "dispatcher:d-li"),
    ("assigned", "schedule_visit", "visit_scheduled", "inspector:i-wang"),
    ("visit_scheduled", "record_visit", "visited", "inspector:i-wang"),
    ("visited", "confirm", "confirmed", "inspector:i-wang"),
    ("confirmed", "order_rectification", "rectifying", "dispatcher:d-li"),
    ("rectifying", "report_rectification", "rectification_reported", "dispatcher:d-li"),
    ("rectification_reported", "revisit_falls_due", "revisit_due", "system:cloud-bridge"),
    ("revisit_due", "revisit_passed", "closed", "inspector:i-wang"),
]


def test_the_full_loop_records_every_step_with_actor_time_and_note() -> None:
    case, steps = run(FULL_LOOP)
    assert [(s.from_state, s.event, s.to_state, str(s.actor)) for s in steps] == FULL_LOOP_STATES
    assert [s.at for s in steps] == [at(hours) for _, _, hours in FULL_LOOP]
    assert steps[0].note == "alert a-1" and steps[5].note == "9 people, 3 partitions"
    assert case.steps == tuple(steps)
    assert (case.state, case.verdict, case.street_office, case.inspector) == (
        S.CLOSED,
        "confirmed",
        "linfen",
        "i-wang",
    )
    assert case.findings == CLEAN and case.ended_at == at(24 * 17 + 2) and not case.is_open
    assert case.rectification_due == at(24 * 16) and case.revisit_due == at(24 * 18)


def _loop_until(state: S) -> list[Row]:
    names = [after for _, _, after, _ in FULL_LOOP_STATES]
    return list(FULL_LOOP[: names.index(state) + 1])


SEQUENCES: list[tuple[str, list[Row], list[str], dict[str, object]]] = [
    (
        "reroute drops the inspector and the booked visit",
        [
            *_loop_until(S.VISIT_SCHEDULED),
            (c.Reroute(street_office="jiuliting", note="wrong address"), DISPATCHER, 3),
        ],
        ["dispatched"],
        {"street_office": "jiuliting", "inspector": None, "visit_at": None, "visit_due": at(72)},
    ),
    (
        "reassign keeps the booked visit",
        [*_loop_until(S.VISIT_SCHEDULED), (c.Reassign(inspector="i-zhao"), DISPATCHER, 3)],
        ["visit_scheduled"],
        {"inspector": "i-zhao", "visit_at": at(26)},
    ),
    (
        "dismissed at triage as a meter fault",
        [
            *_loop_until(S.DISPATCHED),
            (c.Dismiss(reason=c.DismissReason.METER_FAULT), DISPATCHER, 1),
        ],
        ["false_alarm"],
        {"verdict": "false_alarm", "dismissal": "meter_fault", "ended_at": at(1)},
    ),
    (
        "dismissed after the visit: a large legal family",
        [
            *_loop_until(S.VISITED),
            (c.Dismiss(reason=c.DismissReason.VERIFIED_LARGE_FAMILY), INSPECTOR, 27),
        ],
        ["false_alarm"],
        {"verdict": "false_alarm", "findings": CROWDED},
    ),
    (
        "re-visit failed: relapsed, ordered again, re-visited again",
        [
            *_loop_until(S.REVISIT_DUE),
            (c.RevisitFailed(findings=CROWDED), INSPECTOR, 24 * 17 + 1),
            (c.OrderRectification(due=at(24 * 30)), DISPATCHER, 24 * 17 + 2),
            (c.ExtendRectification(due=at(24 * 35), note="owner ill"), DISPATCHER, 24 * 18),
            (
                c.ReportRectification(revisit_opens=at(24 * 40), revisit_due=at(24 * 41)),
                DISPATCHER,
                24 * 33,
            ),
            (c.RevisitFallsDue(), SYSTEM, 24 * 40),
            (c.RevisitPassed(findings=CLEAN), INSPECTOR, 24 * 40 + 3),
        ],
        [
            "relapsed",
            "rectifying",
            "rectifying",
            "rectification_reported",
            "revisit_due",
            "closed",
        ],
        {"rectification_due": at(24 * 35), "revisit_due": at(24 * 41)},
    ),
    (
        "a relapse ticket opened by an alert goes back through a visit",
        [
            (c.Relapse(unit_id="B3-1204", relapse_of=7, previous_state=S.CLOSED), SYSTEM, 0),
            (c.Dispatch(street_office="linfen", visit_due=at(24)), SYSTEM, 0),
            (c.Assign(inspector="i-wang"), DISPATCHER, 1),
        ],
        ["relapsed", "dispatched", "assigned"],
        {"relapse_of": 7, "verdict": None},
    ),
    (
        "a new case dismissed before dispatch",
        [
            (c.Open(unit_id="B3-1204"), SYSTEM, 0),
            (c.Dismiss(reason=c.DismissReason.VACANT), ADMIN, 1),
        ],
        ["new", "false_alarm"],
        {"dismissal": "vacant", "street_office": None},
    ),
    (
        "every reroute and reassignment on the way",
        [
            *_loop_until(S.DISPATCHED),
            (c.Reroute(street_office="jiuliting"), DISPATCHER, 1),
            (c.Assign(inspector="i-zhao"), DISPATCHER, 1),
            (c.Reroute(street_office="linfen"), DISPATCHER, 1),
            (c.Assign(inspector="i-zhao"), DISPATCHER, 1),
            (c.Reassign(inspector="i-wang"), DISPATCHER, 1),
            *FULL_LOOP[3:7],
            (c.Reassign(inspector="i-zhao"), DISPATCHER, 30),
            FULL_LOOP[7],
            (c.Reassign(inspector="i-wang"), ADMIN, 241),
            FULL_LOOP[8],
            (c.Reassign(inspector="i-zhao"), DISPATCHER, 24 * 17 + 1),
        ],
        [
            "dispatched",
            "assigned",
            "dispatched",
            "assigned",
            "assigned",
            "visit_scheduled",
            "visited",
            "confirmed",
            "rectifying",
            "rectifying",
            "rectification_reported",
            "rectification_reported",
            "revisit_due",
            "revisit_due",
        ],
        {"inspector": "i-zhao", "street_office": "linfen"},
    ),
    (
        "an admin may do anything the table allows",
        [
            (c.Open(unit_id="B3-1204"), ADMIN, 0),
            (c.Dispatch(street_office="linfen", visit_due=at(24)), ADMIN, 1),
            (c.Assign(inspector="i-wang"), ADMIN, 1),
            (c.ScheduleVisit(visit_at=at(5)), ADMIN, 2),
            (c.ScheduleVisit(visit_at=at(8), note="moved"), INSPECTOR, 3),
            (c.RecordVisit(findings=CROWDED), ADMIN, 8),
        ],
        ["new", "dispatched", "assigned", "visit_scheduled", "visit_scheduled", "visited"],
        {"visit_at": at(8), "visited_at": at(8)},
    ),
]


@pytest.mark.parametrize(
    ("rows", "states", "expected"), [s[1:] for s in SEQUENCES], ids=[s[0] for s in SEQUENCES]
)
def test_sequence(rows: list[Row], states: list[str], expected: dict[str, object]) -> None:
    case, steps = run(rows)
    assert [str(s.to_state) for s in steps[-len(states) :]] == states
    for name, value in expected.items():
        assert getattr(case, name) == value, name


REFUSALS: list[tuple[str, list[Row], Row, type[CaseError], str]] = [
    (
        "a step the table lacks names the allowed ones",
        _loop_until(S.DISPATCHED),
        (c.RecordVisit(findings=CROWDED), INSPECTOR, 2),
        IllegalTransition,
        "allowed: assign, reroute, dismiss",
    ),
    (
        "api clients are read-only",
        _loop_until(S.DISPATCHED),
        (c.Assign(inspector="i-wang"), CITY, 2),
        NotPermitted,
        "roles allowed: admin, dispatcher",
    ),
    (
        "inspectors cannot assign themselves",
        _loop_until(S.DISPATCHED),
        (c.Assign(inspector="i-wang"), INSPECTOR, 2),
        NotPermitted,
        "not in the role table",
    ),
    (
        "an inspector acts only on their own cases",
        _loop_until(S.VISIT_SCHEDULED),
        (c.RecordVisit(findings=CROWDED), OTHER_INSPECTOR, 26),
        NotPermitted,
        "the case is assigned to 'i-wang'",
    ),
    (
        "an inspector cannot dismiss an unassigned case",
        _loop_until(S.DISPATCHED),
        (c.Dismiss(reason=c.DismissReason.GUESTS), INSPECTOR, 2),
        NotPermitted,
        "not assigned",
    ),
    (
        "the system may not confirm",
        _loop_until(S.VISITED),
        (c.Confirm(), SYSTEM, 27),
        NotPermitted,
        "roles allowed: admin, dispatcher, inspector",
    ),
    (
        "steps are recorded in time order",
        _loop_until(S.ASSIGNED),
        (c.ScheduleVisit(visit_at=at(5)), INSPECTOR, 0.5),
        InvalidCommand,
        "at: before the case's last step",
    ),
    (
        "a visit cannot be booked in the past",
        _loop_until(S.ASSIGNED),
        (c.ScheduleVisit(visit_at=at(1.5)), INSPECTOR, 2),
        InvalidCommand,
        "visit_at: must not be before",
    ),
    (
        "a dispatch with a visit deadline already past",
        _loop_until(S.NEW),
        (c.Dispatch(street_office="linfen", visit_due=at(0)), SYSTEM, 0),
        InvalidCommand,
        "visit_due: must be after",
    ),
    (
        "reroute to the same office",
        _loop_until(S.DISPATCHED),
        (c.Reroute(street_office="linfen"), DISPATCHER, 1),
        InvalidCommand,
        "street_office: already with that office",
    ),
    (
        "reassign to the same inspector",
        _loop_until(S.ASSIGNED),
        (c.Reassign(inspector="i-wang"), DISPATCHER, 1),
        InvalidCommand,
        "inspector: already assigned",
    ),
    (
        "an extension must extend",
        _loop_until(S.RECTIFYING),
        (c.ExtendRectification(due=at(24 * 10)), DISPATCHER, 30),
        InvalidCommand,
        "due: must be later than the current due date",
    ),
    (
        "the re-visit window opens when it opens",
        _loop_until(S.RECTIFICATION_REPORTED),
        (c.RevisitFallsDue(), SYSTEM, 24 * 17 - 1),
        InvalidCommand,
        "the re-visit window has not opened yet",
    ),
    (
        "a re-visit cannot pass with partitions standing",
        _loop_until(S.REVISIT_DUE),
        (c.RevisitPassed(findings=Findings(people_found=3, rooms_partitioned=1)), INSPECTOR, 409),
        InvalidCommand,
        "record revisit_failed",
    ),
    (
        "an alert relapse is visited before it is ordered to rectify",
        [(c.Relapse(unit_id="B3-1204", relapse_of=7, previous_state=S.CLOSED), SYSTEM, 0)],
        (c.OrderRectification(due=at(100)), DISPATCHER, 1),
        InvalidCommand,
        "dispatch it for a visit",
    ),
    (
        "a second open",
        _loop_until(S.NEW),
        (c.Open(unit_id="B3-1204"), SYSTEM, 1),
        IllegalTransition,
        "cannot apply 'open' to a ticket in state 'new' (allowed: dispatch, dismiss)",
    ),
]


@pytest.mark.parametrize(
    ("rows", "step", "error", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refused(rows: list[Row], step: Row, error: type[CaseError], message: str) -> None:
    case, _ = run(rows)
    command, actor, hours = step
    with pytest.raises(error, match=None) as caught:
        apply(case, command, actor, at(hours))
    assert message in str(caught.value)


def test_apply_without_a_case_only_opens() -> None:
    with pytest.raises(IllegalTransition, match=r"state 'none' \(allowed: open, relapse\)"):
        apply(None, c.Confirm(), ADMIN, at(0))


def test_naive_times_are_refused() -> None:
    with pytest.raises(InvalidCommand, match=r"^at: an aware datetime"):
        apply(None, c.Open(unit_id="u"), SYSTEM, at(0).replace(tzinfo=None))
    with pytest.raises(InvalidCommand, match=r"^visit_due: an aware"):
        c.Dispatch(street_office="x", visit_due=at(0).replace(tzinfo=None))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: c.Dismiss(reason=c.DismissReason.OTHER), "note: required"),
        (lambda: c.Open(unit_id=" B3"), "unit_id: an id"),
        (lambda: c.Assign(inspector=""), "inspector: an id"),
        (lambda: c.Relapse(unit_id="u", relapse_of=0, previous_state=S.CLOSED), "relapse_of"),
        (lambda: c.Relapse(unit_id="u", relapse_of=3, previous_state=S.NEW), "previous_state"),
        (lambda: c.ReportRectification(revisit_opens=at(5), revisit_due=at(5)), "revisit_due"),
        (lambda: c.Confirm(note="x" * 4001), "note: text of at most"),
    ],
)
def test_commands_validate_at_construction(make: object, message: str) -> None:
    with pytest.raises(InvalidCommand, match=message):
        make()  # type: ignore[operator]


def test_the_file_replays_to_the_same_case() -> None:
    case, steps = run(FULL_LOOP)
    assert replay(steps) == case


def test_a_tampered_file_does_not_replay() -> None:
    _, steps = run(FULL_LOOP)
    forged = [*steps]
    forged[5] = replace(steps[5], to_state=S.FALSE_ALARM)
    with pytest.raises(CaseError, match=r"step 5 \(confirm\) does not replay"):
        replay(forged)
    with pytest.raises(NotPermitted):
        replay([*steps[:5], replace(steps[5], actor=OTHER_INSPECTOR)])
    with pytest.raises(CaseError, match="empty case file"):
        replay([])


def test_the_sequences_exercise_every_row_of_the_table() -> None:
    rows = [FULL_LOOP, *(sequence for _, sequence, _, _ in SEQUENCES)]
    used = {(step.from_state, step.event) for r in rows for step in run(r)[1]}
    assert used == set(TRANSITIONS)

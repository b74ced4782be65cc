"""A case and its file: every step recorded with the actor, the time, the note and the command.

:func:`apply` is the only way a case changes: ``apply(case, command, actor, at)`` looks the
step up in the lifecycle table (:class:`~cloud_bridge.cases.errors.IllegalTransition` names the
allowed events), checks the role table and the inspector's assignment
(:class:`~cloud_bridge.cases.errors.NotPermitted`), checks the command against the case
(:class:`~cloud_bridge.cases.errors.InvalidCommand`: a step back in time, a due date already
past, a re-visit that "passed" with partitions still up), and returns the new :class:`Case` and
the :class:`Step` it recorded. A case is a fold of its steps, so :func:`replay` rebuilds it from
the file and fails if a recorded step no longer follows (a tampered or corrupt history).

What each command changes is the table :data:`_EFFECTS` (one small function per command type);
the checks are :data:`_CHECKS`. Neither moves the state: only the lifecycle table does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Literal

from cloud_bridge.cases import commands as c
from cloud_bridge.cases.errors import CaseError, InvalidCommand
from cloud_bridge.cases.findings import Findings
from cloud_bridge.cases.lifecycle import TERMINAL_STATES, Event, TicketState, next_state
from cloud_bridge.cases.roles import Actor, check_permitted

__all__ = ["Case", "Step", "Verdict", "apply", "replay"]

Verdict = Literal["confirmed", "false_alarm"]


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the case file."""

    event: Event
    from_state: TicketState | None
    to_state: TicketState
    actor: Actor
    at: datetime
    note: str
    command: c.Command


@dataclass(frozen=True, slots=True)
class Case:
    """What the case model knows of one ticket; the shell stores it, or its steps."""

    state: TicketState
    unit_id: str
    opened_at: datetime
    updated_at: datetime
    street_office: str | None = None
    inspector: str | None = None
    dispatched_at: datetime | None = None
    visit_due: datetime | None = None
    visit_at: datetime | None = None
    visited_at: datetime | None = None
    findings: Findings | None = None
    verdict: Verdict | None = None
    dismissal: c.DismissReason | None = None
    rectification_due: datetime | None = None
    rectification_reported_at: datetime | None = None
    revisit_opens: datetime | None = None
    revisit_due: datetime | None = None
    relapse_of: int | None = None
    ended_at: datetime | None = None
    steps: tuple[Step, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.state not in TERMINAL_STATES


Changes = dict[str, Any]


def _opened(command: Any, at: datetime) -> Changes:
    return {"unit_id": command.unit_id, "opened_at": at}


def _relapsed(command: c.Relapse, at: datetime) -> Changes:
    return {**_opened(command, at), "relapse_of": command.relapse_of}


def _ordered(command: c.OrderRectification | c.ExtendRectification, at: datetime) -> Changes:
    return {"rectification_due": command.due}


def _revisited(command: c.RevisitPassed | c.RevisitFailed, at: datetime) -> Changes:
    return {"findings": command.findings, "visited_at": at}


_EFFECTS: Final[Mapping[type, Callable[[Any, datetime], Changes]]] = MappingProxyType(
    {
        c.Open: _opened,
        c.Relapse: _relapsed,
        c.Dispatch: lambda cmd, at: {
            "street_office": cmd.street_office,
            "visit_due": cmd.visit_due,
            "dispatched_at": at,
            "inspector": None,
            "visit_at": None,
        },
        c.Reroute: lambda cmd, at: {
            "street_office": cmd.street_office,
            "inspector": None,
            "visit_at": None,
        },
        c.Assign: lambda cmd, at: {"inspector": cmd.inspector},
        c.Reassign: lambda cmd, at: {"inspector": cmd.inspector},
        c.ScheduleVisit: lambda cmd, at: {"visit_at": cmd.visit_at},
        c.RecordVisit: lambda cmd, at: {"findings": cmd.findings, "visited_at": at},
        c.Confirm: lambda cmd, at: {"verdict": "confirmed"},
        c.Dismiss: lambda cmd, at: {"verdict": "false_alarm", "dismissal": cmd.reason},
        c.OrderRectification: _ordered,
        c.ExtendRectification: _ordered,
        c.ReportRectification: lambda cmd, at: {
            "rectification_reported_at": at,
            "revisit_opens": cmd.revisit_opens,
            "revisit_due": cmd.revisit_due,
        },
        c.RevisitFallsDue: lambda cmd, at: {},
        c.RevisitPassed: _revisited,
        c.RevisitFailed: _revisited,
    }
)


def _after(field: str, value: datetime | None, at: datetime) -> str | None:
    return None if value is None or value > at else f"{field}: must be after the step's time"


_CHECKS: Final[Mapping[type, Callable[[Any, Case | None, datetime], str | None]]] = (
    MappingProxyType(
        {
            c.Dispatch: lambda cmd, case, at: _after("visit_due", cmd.visit_due, at),
            c.Reroute: lambda cmd, case, at: (
                "street_office: already with that office"
                if case and cmd.street_office == case.street_office
                else None
            ),
            c.Reassign: lambda cmd, case, at: (
                "inspector: already assigned to that inspector"
                if case and cmd.inspector == case.inspector
                else None
            ),
            c.ScheduleVisit: lambda cmd, case, at: (
                "visit_at: must not be before the step's time" if cmd.visit_at < at else None
            ),
            c.OrderRectification: lambda cmd, case, at: (
                "findings: no visit of this case found the unit yet; dispatch it for a visit"
                if case is not None and case.findings is None
                else _after("due", cmd.due, at)
            ),
            c.ExtendRectification: lambda cmd, case, at: (
                "due: must be later than the current due date"
                if case and case.rectification_due and cmd.due <= case.rectification_due
                else None
            ),
            c.ReportRectification: lambda cmd, case, at: (
                "revisit_opens: must not be before the step's time"
                if cmd.revisit_opens < at
                else None
            ),
            c.RevisitFallsDue: lambda cmd, case, at: (
                "at: the re-visit window has not opened yet"
                if case and case.revisit_opens and at < case.revisit_opens
                else None
            ),
            c.RevisitPassed: lambda cmd, case, at: (
                "findings: partitions or hazards are still there; record revisit_failed"
                if cmd.findings.rooms_partitioned or cmd.findings.hazards
                else None
            ),
        }
    )
)


def apply(case: Case | None, command: c.Command, actor: Actor, at: datetime) -> tuple[Case, Step]:
    """The case after ``command`` by ``actor`` at ``at``, and the step recorded in its file.
    ``case`` is ``None`` for the commands that open one (``open``, ``relapse``)."""
    c.require_aware("at", at)
    if case is not None and at < case.updated_at:
        raise InvalidCommand("at", "before the case's last step; steps are recorded in order")
    state = case.state if case is not None else None
    after = next_state(state, command.event)
    check_permitted(actor, command.event, case.inspector if case is not None else None)
    check = _CHECKS.get(type(command))
    problem = check(command, case, at) if check is not None else None
    if problem is not None:
        field, _, rule = problem.partition(": ")
        raise InvalidCommand(field, rule)
    step = Step(command.event, state, after, actor, at, command.note, command)
    changes = _EFFECTS[type(command)](command, at)
    if after in TERMINAL_STATES:
        changes["ended_at"] = at
    if case is None:
        changes.setdefault("opened_at", at)
        new = Case(state=after, updated_at=at, **changes, steps=(step,))
    else:
        new = replace(case, **changes, state=after, updated_at=at, steps=(*case.steps, step))
    return new, step


def replay(steps: Iterable[Step]) -> Case:
    """The case its recorded ``steps`` build, checking each one again; :class:`CaseError` if the
    file is empty or a step no longer follows (a tampered or corrupt history)."""
    case: Case | None = None
    for index, recorded in enumerate(steps):
        case, step = apply(case, recorded.command, recorded.actor, recorded.at)
        if step != recorded:
            raise CaseError(f"step {index} ({recorded.event}) does not replay as recorded")
    if case is None:
        raise CaseError("an empty case file: the first step must open the case")
    return case

"""The commands that move a case, one frozen dataclass per lifecycle event.

A command carries everything its event needs, already resolved: due dates are computed by
:mod:`~cloud_bridge.cases.deadlines` before the command is built, so applying a command needs no
policy, no clock and no time zone, and a recorded command replays to the same case forever.
Construction checks what can be checked without the case (aware datetimes, non-empty ids, a
note for the ``other`` dismissal); :func:`~cloud_bridge.cases.case_file.apply` checks the rest
against the case. ``note`` is the free text the actor adds to the case file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Final

from cloud_bridge.cases.errors import InvalidCommand
from cloud_bridge.cases.findings import Findings
from cloud_bridge.cases.lifecycle import TERMINAL_STATES, Event, TicketState

__all__ = [
    "Assign",
    "Command",
    "Confirm",
    "Dismiss",
    "DismissReason",
    "Dispatch",
    "ExtendRectification",
    "Open",
    "OrderRectification",
    "Reassign",
    "RecordVisit",
    "Relapse",
    "ReportRectification",
    "Reroute",
    "RevisitFailed",
    "RevisitFallsDue",
    "RevisitPassed",
    "ScheduleVisit",
    "require_aware",
]

MAX_NOTE: Final = 4000
MAX_ID: Final = 200


class DismissReason(StrEnum):
    VERIFIED_LARGE_FAMILY = "verified_large_family"
    GUESTS = "guests"
    VACANT = "vacant"
    METER_FAULT = "meter_fault"
    OTHER = "other"


def require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidCommand(name, "an aware datetime (with a UTC offset)")


def _require_id(name: str, value: str) -> None:
    if not isinstance(value, str) or not value or value != value.strip() or len(value) > MAX_ID:
        raise InvalidCommand(name, f"an id of 1-{MAX_ID} characters, no outer spaces")


@dataclass(frozen=True, kw_only=True)
class _Base:
    event: ClassVar[Event]
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.note, str) or len(self.note) > MAX_NOTE:
            raise InvalidCommand("note", f"text of at most {MAX_NOTE} characters")


@dataclass(frozen=True, kw_only=True)
class Open(_Base):
    """A verified alert (or a complaint, a patrol) starts a case for ``unit_id``."""

    event: ClassVar[Event] = Event.OPEN
    unit_id: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_id("unit_id", self.unit_id)


@dataclass(frozen=True, kw_only=True)
class Relapse(_Base):
    """An alert within the relapse watch of ticket ``relapse_of`` (which ended in
    ``previous_state``) starts a linked case; see :mod:`~cloud_bridge.cases.relapse`."""

    event: ClassVar[Event] = Event.RELAPSE
    unit_id: str
    relapse_of: int
    previous_state: TicketState

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_id("unit_id", self.unit_id)
        if type(self.relapse_of) is not int or self.relapse_of < 1:
            raise InvalidCommand("relapse_of", "the id of the earlier ticket")
        if self.previous_state not in TERMINAL_STATES:
            raise InvalidCommand("previous_state", "closed or false_alarm")


@dataclass(frozen=True, kw_only=True)
class Dispatch(_Base):
    event: ClassVar[Event] = Event.DISPATCH
    street_office: str
    visit_due: datetime

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_id("street_office", self.street_office)
        require_aware("visit_due", self.visit_due)


@dataclass(frozen=True, kw_only=True)
class Reroute(_Base):
    """Move the case to another street office; its inspector and booked visit are dropped."""

    event: ClassVar[Event] = Event.REROUTE
    street_office: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_id("street_office", self.street_office)


@dataclass(frozen=True, kw_only=True)
class Assign(_Base):
    event: ClassVar[Event] = Event.ASSIGN
    inspector: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_id("inspector", self.inspector)


@dataclass(frozen=True, kw_only=True)
class Reassign(_Base):
    event: ClassVar[Event] = Event.REASSIGN
    inspector: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_id("inspector", self.inspector)


@dataclass(frozen=True, kw_only=True)
class ScheduleVisit(_Base):
    """Book the visit for ``visit_at`` (again, to move it)."""

    event: ClassVar[Event] = Event.SCHEDULE_VISIT
    visit_at: datetime

    def __post_init__(self) -> None:
        super().__post_init__()
        require_aware("visit_at", self.visit_at)


@dataclass(frozen=True, kw_only=True)
class RecordVisit(_Base):
    event: ClassVar[Event] = Event.RECORD_VISIT
    findings: Findings


@dataclass(frozen=True, kw_only=True)
class Confirm(_Base):
    event: ClassVar[Event] = Event.CONFIRM


@dataclass(frozen=True, kw_only=True)
class Dismiss(_Base):
    """A false alarm, with a reason code; ``other`` needs a note saying what it was."""

    event: ClassVar[Event] = Event.DISMISS
    reason: DismissReason

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.reason, DismissReason):
            raise InvalidCommand("reason", f"one of {', '.join(DismissReason)}")
        if self.reason is DismissReason.OTHER and not self.note.strip():
            raise InvalidCommand("note", "required when the reason is 'other'")


@dataclass(frozen=True, kw_only=True)
class OrderRectification(_Base):
    event: ClassVar[Event] = Event.ORDER_RECTIFICATION
    due: datetime

    def __post_init__(self) -> None:
        super().__post_init__()
        require_aware("due", self.due)


@dataclass(frozen=True, kw_only=True)
class ExtendRectification(_Base):
    event: ClassVar[Event] = Event.EXTEND_RECTIFICATION
    due: datetime

    def __post_init__(self) -> None:
        super().__post_init__()
        require_aware("due", self.due)


@dataclass(frozen=True, kw_only=True)
class ReportRectification(_Base):
    """The owner reports the rectification done; the re-visit window is
    ``[revisit_opens, revisit_due)`` (see :func:`~cloud_bridge.cases.deadlines.revisit_window`)."""

    event: ClassVar[Event] = Event.REPORT_RECTIFICATION
    revisit_opens: datetime
    revisit_due: datetime

    def __post_init__(self) -> None:
        super().__post_init__()
        require_aware("revisit_opens", self.revisit_opens)
        require_aware("revisit_due", self.revisit_due)
        if self.revisit_due <= self.revisit_opens:
            raise InvalidCommand("revisit_due", "after revisit_opens")


@dataclass(frozen=True, kw_only=True)
class RevisitFallsDue(_Base):
    """Timed: the bridge applies it once the re-visit window opens."""

    event: ClassVar[Event] = Event.REVISIT_FALLS_DUE


@dataclass(frozen=True, kw_only=True)
class RevisitPassed(_Base):
    event: ClassVar[Event] = Event.REVISIT_PASSED
    findings: Findings


@dataclass(frozen=True, kw_only=True)
class RevisitFailed(_Base):
    event: ClassVar[Event] = Event.REVISIT_FAILED
    findings: Findings


Command = (
    Open
    | Relapse
    | Dispatch
    | Reroute
    | Assign
    | Reassign
    | ScheduleVisit
    | RecordVisit
    | Confirm
    | Dismiss
    | OrderRectification
    | ExtendRectification
    | ReportRectification
    | RevisitFallsDue
    | RevisitPassed
    | RevisitFailed
)

"""Commands and steps to and from plain data (JSON bodies, stored history), validated once.

The HTTP shell receives ``{"event": "schedule_visit", "visit_at": "2026-12-01T14:00+08:00"}``;
the store keeps each step of a case file as JSON. :data:`COMMAND_FIELDS` is the table of each
event's command class and the kind of each of its fields; :func:`command_from_mapping` and
:func:`step_from_mapping` accept exactly those fields (``note`` is always optional) and raise
:class:`~cloud_bridge.cases.errors.InvalidCommand` naming the field path
(``command.findings.photos[0]: ...``). The ``*_to_mapping`` functions are their inverses:
times as ISO 8601 with their offset, enums as their values, photos as hex digests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Literal

from cloud_bridge.cases import commands as c
from cloud_bridge.cases.case_file import Step
from cloud_bridge.cases.errors import InvalidCommand
from cloud_bridge.cases.findings import Findings, parse_findings
from cloud_bridge.cases.lifecycle import Event, TicketState
from cloud_bridge.cases.roles import Actor, Role

__all__ = [
    "COMMAND_FIELDS",
    "command_from_mapping",
    "command_to_mapping",
    "step_from_mapping",
    "step_to_mapping",
]

Kind = Literal["text", "time", "findings", "reason", "state", "ticket"]

COMMAND_FIELDS: Final[Mapping[Event, tuple[type[c.Command], Mapping[str, Kind]]]] = (
    MappingProxyType(
        {
            Event.OPEN: (c.Open, {"unit_id": "text"}),
            Event.RELAPSE: (
                c.Relapse,
                {"unit_id": "text", "relapse_of": "ticket", "previous_state": "state"},
            ),
            Event.DISPATCH: (c.Dispatch, {"street_office": "text", "visit_due": "time"}),
            Event.REROUTE: (c.Reroute, {"street_office": "text"}),
            Event.ASSIGN: (c.Assign, {"inspector": "text"}),
            Event.REASSIGN: (c.Reassign, {"inspector": "text"}),
            Event.SCHEDULE_VISIT: (c.ScheduleVisit, {"visit_at": "time"}),
            Event.RECORD_VISIT: (c.RecordVisit, {"findings": "findings"}),
            Event.CONFIRM: (c.Confirm, {}),
            Event.DISMISS: (c.Dismiss, {"reason": "reason"}),
            Event.ORDER_RECTIFICATION: (c.OrderRectification, {"due": "time"}),
            Event.EXTEND_RECTIFICATION: (c.ExtendRectification, {"due": "time"}),
            Event.REPORT_RECTIFICATION: (
                c.ReportRectification,
                {"revisit_opens": "time", "revisit_due": "time"},
            ),
            Event.REVISIT_FALLS_DUE: (c.RevisitFallsDue, {}),
            Event.REVISIT_PASSED: (c.RevisitPassed, {"findings": "findings"}),
            Event.REVISIT_FAILED: (c.RevisitFailed, {"findings": "findings"}),
        }
    )
)


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidCommand(path, "text")
    return value


def _time(value: Any, path: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(_text(value, path))
    except ValueError as err:
        raise InvalidCommand(path, "an ISO 8601 time with its UTC offset") from err
    if parsed.utcoffset() is None:
        raise InvalidCommand(path, "an ISO 8601 time with its UTC offset")
    return parsed


def _choice(enum: type[c.DismissReason] | type[TicketState]) -> Callable[[Any, str], Any]:
    def parse(value: Any, path: str) -> Any:
        try:
            return enum(_text(value, path))
        except ValueError as err:
            raise InvalidCommand(path, f"one of {', '.join(enum)}") from err

    return parse


def _ticket(value: Any, path: str) -> int:
    if type(value) is not int:
        raise InvalidCommand(path, "a ticket id")
    return value


_PARSE: Final[Mapping[Kind, Callable[[Any, str], Any]]] = MappingProxyType(
    {
        "text": _text,
        "time": _time,
        "findings": parse_findings,
        "reason": _choice(c.DismissReason),
        "state": _choice(TicketState),
        "ticket": _ticket,
    }
)


def command_from_mapping(data: Mapping[str, Any], path: str = "command") -> c.Command:
    """The command ``data`` describes: its ``event``, its fields, an optional ``note``."""
    if not isinstance(data, Mapping):
        raise InvalidCommand(path, "an object with an event")
    try:
        cls, kinds = COMMAND_FIELDS[Event(data.get("event", ""))]
    except ValueError as err:
        raise InvalidCommand(f"{path}.event", f"one of {', '.join(Event)}") from err
    unknown = sorted(set(data) - {"event", "note", *kinds})
    if unknown:
        raise InvalidCommand(f"{path}.{unknown[0]}", f"unknown field; known: {sorted(kinds)}")
    values: dict[str, Any] = {"note": _text(data.get("note", ""), f"{path}.note")}
    for name, kind in kinds.items():
        if name not in data:
            raise InvalidCommand(f"{path}.{name}", "required")
        values[name] = _PARSE[kind](data[name], f"{path}.{name}")
    try:
        return cls(**values)
    except InvalidCommand as err:
        raise InvalidCommand(f"{path}.{err.field}", err.rule) from err


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Findings):
        found = asdict(value)
        return found | {"photos": [photo.sha256 for photo in value.photos]}
    return str(value) if isinstance(value, str) else value


def command_to_mapping(command: c.Command) -> dict[str, Any]:
    """The inverse of :func:`command_from_mapping`."""
    _, kinds = COMMAND_FIELDS[command.event]
    fields = {name: _plain(getattr(command, name)) for name in kinds}
    return {"event": str(command.event), **fields, "note": command.note}


def step_to_mapping(step: Step) -> dict[str, Any]:
    """One line of the case file as JSON-ready data (what the store keeps)."""
    return {
        "at": step.at.isoformat(),
        "event": str(step.event),
        "from_state": None if step.from_state is None else str(step.from_state),
        "to_state": str(step.to_state),
        "actor": {"id": step.actor.id, "role": str(step.actor.role)},
        "note": step.note,
        "command": command_to_mapping(step.command),
    }


def step_from_mapping(data: Mapping[str, Any], path: str = "step") -> Step:
    """The inverse of :func:`step_to_mapping`; :func:`~cloud_bridge.cases.case_file.replay`
    then checks that the steps still follow."""
    if not isinstance(data, Mapping):
        raise InvalidCommand(path, "an object")
    actor = data.get("actor")
    if not isinstance(actor, Mapping):
        raise InvalidCommand(f"{path}.actor", "an object with id and role")
    role = _choice_role(actor.get("role"), f"{path}.actor.role")
    command = command_from_mapping(data.get("command", {}), f"{path}.command")
    from_state = data.get("from_state")
    return Step(
        Event(command.event),
        None if from_state is None else _PARSE["state"](from_state, f"{path}.from_state"),
        _PARSE["state"](data.get("to_state"), f"{path}.to_state"),
        Actor(_text(actor.get("id"), f"{path}.actor.id"), role),
        _time(data.get("at"), f"{path}.at"),
        _text(data.get("note", ""), f"{path}.note"),
        command,
    )


def _choice_role(value: Any, path: str) -> Role:
    try:
        return Role(_text(value, path))
    except ValueError as err:
        raise InvalidCommand(path, f"one of {', '.join(Role)}") from err

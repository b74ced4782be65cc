"""Who may do what to a case: the authenticated actor, and a literal role table.

An :class:`Actor` is what the auth layer hands over after checking a session or a token: an
account id and one :class:`Role`; never a free-text name typed into a form. :data:`PERMISSIONS`
lists, per role, the events it may perform; ``api_client`` (a city platform pulling tickets) is
read-only and may perform none. ``system`` is the bridge itself: it opens cases from verified
alerts, routes them by address, and applies the timed ``revisit_falls_due``.

One rule is not a table row, because it depends on the case: an inspector acts only on cases
assigned to them (admins and dispatchers act on any case of their bridge).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from cloud_bridge.cases.errors import InvalidCommand, NotPermitted
from cloud_bridge.cases.lifecycle import Event

__all__ = ["PERMISSIONS", "Actor", "Role", "check_permitted", "roles_allowed"]


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    INSPECTOR = "inspector"
    API_CLIENT = "api_client"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated account: its id and its role."""

    id: str
    role: Role

    def __post_init__(self) -> None:
        if not self.id or self.id != self.id.strip() or len(self.id) > 200:
            raise InvalidCommand("actor.id", "an account id: 1-200 characters, no outer spaces")
        if not isinstance(self.role, Role):
            raise InvalidCommand("actor.role", f"one of {', '.join(Role)}")

    def __str__(self) -> str:
        return f"{self.role}:{self.id}"


E = Event
_TRIAGE = frozenset({E.DISPATCH, E.REROUTE, E.ASSIGN, E.REASSIGN, E.DISMISS})
_FIELD_WORK = frozenset(
    {
        E.SCHEDULE_VISIT,
        E.RECORD_VISIT,
        E.CONFIRM,
        E.DISMISS,
        E.ORDER_RECTIFICATION,
        E.REPORT_RECTIFICATION,
        E.REVISIT_PASSED,
        E.REVISIT_FAILED,
    }
)

PERMISSIONS: Final[Mapping[Role, frozenset[Event]]] = MappingProxyType(
    {
        Role.ADMIN: frozenset(Event),
        Role.DISPATCHER: frozenset(
            _TRIAGE
            | {
                E.OPEN,
                E.SCHEDULE_VISIT,
                E.CONFIRM,
                E.ORDER_RECTIFICATION,
                E.EXTEND_RECTIFICATION,
                E.REPORT_RECTIFICATION,
            }
        ),
        Role.INSPECTOR: _FIELD_WORK,
        Role.API_CLIENT: frozenset(),
        Role.SYSTEM: frozenset({E.OPEN, E.RELAPSE, E.DISPATCH, E.REVISIT_FALLS_DUE}),
    }
)


def roles_allowed(event: Event) -> tuple[Role, ...]:
    """The roles that may perform ``event``, in :class:`Role` order."""
    return tuple(role for role in Role if event in PERMISSIONS[role])


def check_permitted(actor: Actor, event: Event, assigned_inspector: str | None) -> None:
    """Nothing if ``actor`` may perform ``event`` on a case assigned to ``assigned_inspector``;
    :class:`NotPermitted` otherwise."""
    allowed = tuple(str(role) for role in roles_allowed(event))
    if event not in PERMISSIONS[actor.role]:
        raise NotPermitted(actor.id, actor.role, event, allowed, "not in the role table")
    if actor.role is Role.INSPECTOR and actor.id != assigned_inspector:
        whose = f"assigned to {assigned_inspector!r}" if assigned_inspector else "not assigned"
        raise NotPermitted(actor.id, actor.role, event, allowed, f"the case is {whose}")

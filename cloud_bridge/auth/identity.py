"""Who is asking, and which tickets they may see: pure data, no database, no web framework.

An :class:`Identity` is what :mod:`cloud_bridge.auth.web_identity` hands to a route after it
checked a session cookie or a bearer token: the :class:`~cloud_bridge.cases.roles.Actor` (the
account's name and role) and its :class:`Scope`. The scope rule:

- ``office`` scope: the tickets routed to that street office only;
- ``district`` scope: the tickets of every office of that district (``district`` of
  ``[[street_offices]]`` in the bridge's configuration);
- ``city`` scope (admins only): every ticket.

Which role may do what is :data:`cloud_bridge.cases.roles.PERMISSIONS`; the legacy ticket events
of :mod:`cloud_bridge.ticket_states` are mapped onto it by :data:`LEGACY_EVENT_PERMISSION`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

from cloud_bridge.cases.lifecycle import Event
from cloud_bridge.cases.roles import PERMISSIONS, Actor, Role
from cloud_bridge.ticket_states import TicketEvent

__all__ = [
    "HUMAN_ROLES",
    "LEGACY_EVENT_PERMISSION",
    "Identity",
    "Scope",
    "ScopeKind",
    "may_apply",
]

HUMAN_ROLES: Final = (Role.ADMIN, Role.DISPATCHER, Role.INSPECTOR, Role.API_CLIENT)
"""The roles an account may have (``system`` is the bridge itself, never an account)."""


class ScopeKind(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    OFFICE = "office"


@dataclass(frozen=True, slots=True)
class Scope:
    """Where an account may look: a street office, a district, or the whole city."""

    kind: ScopeKind
    value: str = ""

    @classmethod
    def of(cls, street_office: str | None, district: str | None) -> Scope:
        if street_office:
            return cls(ScopeKind.OFFICE, street_office)
        if district:
            return cls(ScopeKind.DISTRICT, district)
        return cls(ScopeKind.CITY)

    def covers(self, office_id: str, district_of: Mapping[str, str | None]) -> bool:
        """Whether a ticket routed to ``office_id`` is inside this scope."""
        if self.kind is ScopeKind.CITY:
            return True
        if self.kind is ScopeKind.OFFICE:
            return office_id == self.value
        return district_of.get(office_id) == self.value

    def offices(self, district_of: Mapping[str, str | None]) -> tuple[str, ...] | None:
        """The offices inside this scope; None: all of them (city-wide)."""
        if self.kind is ScopeKind.CITY:
            return None
        if self.kind is ScopeKind.OFFICE:
            return (self.value,)
        return tuple(o for o, d in district_of.items() if d == self.value)

    def __str__(self) -> str:
        return "city-wide" if self.kind is ScopeKind.CITY else f"{self.kind} {self.value}"


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller. ``via`` says how (a UI session or an API token);
    ``csrf_token`` is the session's synchronizer token (empty for a bearer token)."""

    actor: Actor
    scope: Scope
    via: Literal["session", "token"]
    account_id: int
    csrf_token: str = ""

    @property
    def name(self) -> str:
        return self.actor.id

    @property
    def role(self) -> Role:
        return self.actor.role


E = Event
LEGACY_EVENT_PERMISSION: Final[Mapping[TicketEvent, Event]] = MappingProxyType(
    {
        TicketEvent.DISPATCH: E.DISPATCH,
        TicketEvent.VISIT: E.RECORD_VISIT,
        TicketEvent.CONFIRM: E.CONFIRM,
        TicketEvent.DISMISS: E.DISMISS,
        TicketEvent.ORDER_RECTIFICATION: E.ORDER_RECTIFICATION,
        TicketEvent.SCHEDULE_REVISIT: E.REPORT_RECTIFICATION,
        TicketEvent.REVISIT_OK: E.REVISIT_PASSED,
        TicketEvent.REVISIT_FAILED: E.REVISIT_FAILED,
        TicketEvent.CLOSE: E.REVISIT_PASSED,
        TicketEvent.REOPEN: E.RELAPSE,  # the bridge's own event: among accounts, admins only
    }
)
"""Each event of today's ticket lifecycle, as the case-model event whose permission it needs."""


def may_apply(role: Role, event: TicketEvent) -> bool:
    """Whether ``role`` may apply the legacy ``event`` (scope is checked separately)."""
    return LEGACY_EVENT_PERMISSION[event] in PERMISSIONS[role]

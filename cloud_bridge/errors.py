"""The cloud bridge's few error types. Library exceptions become one of these at each seam."""

from __future__ import annotations


class BridgeError(Exception):
    """Base of every error the cloud bridge raises on purpose."""


class ConfigError(BridgeError):
    """A configuration file is unusable; the message names the file, the field path and the rule."""


class StorageError(BridgeError):
    """The tickets database could not be read or written (unreachable, locked, corrupt)."""


class TicketNotFound(BridgeError):
    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"no ticket #{ticket_id}")
        self.ticket_id = ticket_id


class InvalidTransition(BridgeError):
    """An event that the ticket lifecycle does not allow in the ticket's current state."""

    def __init__(self, state: str, event: str, allowed: tuple[str, ...] = ()) -> None:
        hint = f" (allowed: {', '.join(allowed)})" if allowed else " (no event is allowed)"
        super().__init__(f"cannot apply '{event}' to a ticket in state '{state}'{hint}")
        self.state = state
        self.event = event
        self.allowed = allowed


class TicketConflict(BridgeError):
    """A change that would leave two open tickets for one case (gateway, unit, kind)."""

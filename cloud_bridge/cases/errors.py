"""The case model's errors: every refusal says what was refused and what would be accepted.

All derive from :class:`CaseError` (a :class:`~cloud_bridge.errors.BridgeError`).
:class:`IllegalTransition` is also an :class:`~cloud_bridge.errors.InvalidTransition`, so the
shell's existing handler (HTTP 409) keeps working when it switches to this package.
"""

from __future__ import annotations

from cloud_bridge.errors import BridgeError, InvalidTransition

__all__ = [
    "CaseError",
    "IllegalTransition",
    "InvalidCommand",
    "InvalidFindings",
    "InvalidPolicy",
    "NotPermitted",
]


class CaseError(BridgeError):
    """Base of every error the case model raises on purpose."""


class IllegalTransition(InvalidTransition, CaseError):
    """The lifecycle table has no row for ``(state, event)``; ``allowed`` names the events it
    does have for ``state``."""


class NotPermitted(CaseError):
    """The actor's role (or, for inspectors, the case's assignment) does not allow the event."""

    def __init__(self, actor: str, role: str, event: str, allowed_roles: tuple[str, ...], why: str):
        roles = ", ".join(allowed_roles) if allowed_roles else "nobody"
        super().__init__(f"{role} {actor!r} may not '{event}': {why} (roles allowed: {roles})")
        self.actor = actor
        self.role = role
        self.event = event
        self.allowed_roles = allowed_roles


class InvalidCommand(CaseError):
    """A command's content is unusable (a due date in the past, a missing note, a revisit that
    'passed' with partitions still standing); ``field`` names the offending field."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class InvalidFindings(InvalidCommand):
    """Visit findings that do not validate; ``field`` is the path inside the findings."""


class InvalidPolicy(CaseError):
    """A case policy value breaks its rule; ``field`` is the path in the configuration."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"case policy {field}: {rule}")
        self.field = field
        self.rule = rule

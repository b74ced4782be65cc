"""The auth package's errors: each says what was refused, never a secret."""

from __future__ import annotations

from datetime import datetime

from cloud_bridge.errors import BridgeError


class AuthError(BridgeError):
    """Base of every error raised on purpose by :mod:`cloud_bridge.auth`."""


class InvalidAccount(AuthError):
    """An account, token or gateway change is unusable; ``field`` names what is wrong."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class UnknownSubject(AuthError):
    """No such account, token, gateway or key."""


class LoginRefused(AuthError):
    """Wrong name or password, or a disabled account: one message for all, so a caller cannot
    tell which."""

    def __init__(self) -> None:
        super().__init__("unknown name or wrong password")


class LockedOut(AuthError):
    """Too many failed logins for this account or client address; try again after ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"too many failed logins; try again after {until:%H:%M:%S} UTC")
        self.until = until

"""How long a run of failed logins locks an account or a client address out: a pure rule.

After ``max_failures`` failures in a row, each further failure locks the key for
``base_s * 2 ** (failures - max_failures)`` seconds, at most ``max_s``; a successful login
clears the account's count (not the address's: one good password does not excuse a guessing
address). The counts are kept in the ``login_throttle`` table, so every bridge instance sees
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_failures: int = 5
    base_s: float = 60.0
    max_s: float = 3600.0

    def locked_until(self, failures: int, now: datetime) -> datetime | None:
        """When a key with ``failures`` consecutive failures may try again (None: at once)."""
        if failures < self.max_failures:
            return None
        seconds = min(self.base_s * 2 ** (failures - self.max_failures), self.max_s)
        return now + timedelta(seconds=seconds)


def account_key(name: str) -> str:
    return f"account:{name}"


def address_key(address: str) -> str:
    return f"address:{address[:200]}"

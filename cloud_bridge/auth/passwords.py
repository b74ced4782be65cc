"""Password hashes: argon2id (argon2-cffi), with the parameters of :data:`HASHER`.

:func:`check_password` verifies a password against a stored PHC string and says whether the
hash should be replaced (its parameters are not today's); the caller stores the new hash in
the same transaction as the successful login (rehash on login). Passwords are never logged
and never leave this module except as hashes.
"""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["HASHER", "MIN_PASSWORD_CHARS", "PasswordCheck", "check_password", "hash_password"]

MIN_PASSWORD_CHARS = 12
HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=2, type=Type.ID)
# Verifying against this makes an unknown account cost as much time as a known one.
_DUMMY_HASH = HASHER.hash("not a password of anyone's")


def hash_password(password: str, hasher: PasswordHasher = HASHER) -> str:
    return hasher.hash(password)


class PasswordCheck:
    """The result of :func:`check_password`: ``ok``, and ``new_hash`` when it should be stored."""

    __slots__ = ("new_hash", "ok")

    def __init__(self, ok: bool, new_hash: str | None = None) -> None:
        self.ok = ok
        self.new_hash = new_hash


def check_password(
    stored_hash: str | None, password: str, hasher: PasswordHasher = HASHER
) -> PasswordCheck:
    """Verify ``password``; ``stored_hash`` None (no such account, or no password) still costs
    one verification and fails."""
    if stored_hash is None:
        _burn(password, hasher)
        return PasswordCheck(False)
    try:
        hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return PasswordCheck(False)
    if hasher.check_needs_rehash(stored_hash):
        return PasswordCheck(True, hasher.hash(password))
    return PasswordCheck(True)


def _burn(password: str, hasher: PasswordHasher) -> None:
    with contextlib.suppress(VerificationError):
        hasher.verify(_DUMMY_HASH, password)

"""Random secrets and their digests: session tokens, CSRF tokens and API tokens.

Only :func:`digest` of a session or API token is stored; the token itself exists in the
browser's cookie or the city platform's configuration. An API token reads
``qzw_<prefix>_<secret>``: the prefix (8 hex characters, stored in clear) names the token in
lists and logs and makes a leaked one recognisable (secret scanners match ``qzw_``); the whole
token is what is hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final

__all__ = ["API_TOKEN", "digest", "new_api_token", "new_secret", "same"]

API_TOKEN_MARK: Final = "qzw_"
API_TOKEN: Final = re.compile(r"^qzw_([0-9a-f]{8})_[A-Za-z0-9_-]{32,64}$")


def new_secret() -> str:
    """32 random bytes, URL-safe: a session or CSRF token."""
    return secrets.token_urlsafe(32)


def new_api_token() -> tuple[str, str]:
    """A fresh API token and its prefix."""
    prefix = secrets.token_hex(4)
    return f"{API_TOKEN_MARK}{prefix}_{secrets.token_urlsafe(32)}", prefix


def digest(token: str) -> str:
    """SHA-256 (hex) of a token: what the database keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two tokens."""
    return hmac.compare_digest(a.encode(), b.encode())

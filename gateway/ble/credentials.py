"""Pseudonymises lock credentials at the gateway's edge: raw ones never go further.

A credential (a fingerprint slot, a card number, a PIN id, an app account) is replaced by a keyed
hash, HMAC-SHA-256 under a secret that never leaves the gateway, cut to 16 hex digits. The same
credential always gives the same pseudonym on one gateway, so distinct residents can still be
counted; without the key nobody can tell which credential it was, or link pseudonyms across
buildings. An empty credential (a mechanical key) stays empty.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_BYTES = 32
PSEUDONYM_HEX_DIGITS = 16


def new_pseudonym_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


class CredentialPseudonymiser:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a pseudonymisation key needs at least 16 bytes")
        self._key = key

    def pseudonym(self, credential: str) -> str:
        if not credential:
            return ""
        digest = hmac.new(self._key, credential.encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_HEX_DIGITS]

"""The protected header of a JWS compact serialization, read safely before any JOSE library.

JOSE libraries parse the header with a plain ``json.loads``, which a hostile header nested a few
thousand levels deep turns into ``RecursionError``. Both the bridge (alerts) and the gateway
(signed acks) first read the header here, within tight :mod:`qunzu_common.bounded_json` limits,
and pick the key from its ``kid``; only then does the library verify the signature.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from qunzu_common.bounded_json import JsonLimitError, JsonLimits, loads_bounded

__all__ = ["HEADER_LIMITS", "JwsFormatError", "read_protected_header"]

# A header holds alg, kid and typ.
HEADER_LIMITS = JsonLimits(max_bytes=1024, max_depth=2, max_items=16, max_string_chars=256)


class JwsFormatError(ValueError):
    """Not a compact JWS with a readable header; ``kind`` counts it (``jws``, ``json depth``...)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def read_protected_header(token: bytes, limits: JsonLimits = HEADER_LIMITS) -> dict[str, Any]:
    """The header object of ``token`` (``header.payload.signature``), or JwsFormatError."""
    parts = token.split(b".")
    if len(parts) != 3 or not parts[0]:
        raise JwsFormatError("jws", "not a JWS compact serialization")
    segment = parts[0]
    if len(segment) > 4 * limits.max_bytes // 3 + 4:
        raise JwsFormatError("json bytes", "protected header too large")
    try:
        raw = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as err:
        raise JwsFormatError("jws", "protected header is not base64url") from err
    try:
        header = loads_bounded(raw, limits)
    except JsonLimitError as err:
        raise JwsFormatError(f"json {err.limit}", f"protected header: {err}") from err
    if not isinstance(header, dict):
        raise JwsFormatError("jws", "protected header is not a JSON object")
    return header

"""Signed envelopes: the claims of an uplink message as a JWS compact serialization.

Protected header ``{"alg": "Ed25519", "kid": <thumbprint>, "typ": "bldg-alert+jws"}``; the
payload is the claims object of ``envelope-claims.schema.json``: issuer, topic, issue time and the
per-gateway sequence inside the signature, the alert body under ``alert``. Any JOSE library can
verify it with the gateway's public key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.jwk import OKPKey

from gateway.wire.contract import require_valid
from gateway.wire.keys import key_id

ALGORITHM = "Ed25519"
TOKEN_TYPE = "bldg-alert+jws"


@dataclass(frozen=True, slots=True)
class Sequence:
    """Identifies and orders every message of one gateway: ``boot_epoch`` grows at each start,
    ``counter`` within one boot, and ``boot_id`` is drawn at random at each start, so a wiped
    or restored store never repeats an identity (``gateway.store.sequence``). Messages queued
    by a gateway older than ``boot_id`` have it empty."""

    boot_epoch: int
    counter: int
    boot_id: str = ""

    def as_dict(self) -> dict[str, int | str]:
        out: dict[str, int | str] = {"boot_epoch": self.boot_epoch, "counter": self.counter}
        if self.boot_id:
            out["boot_id"] = self.boot_id
        return out


class EnvelopeSigner:
    def __init__(self, gateway_id: str, key: OKPKey) -> None:
        self.gateway_id = gateway_id
        self._key = key
        self._header = {"alg": ALGORITHM, "kid": key_id(key), "typ": TOKEN_TYPE}

    @property
    def kid(self) -> str:
        return str(self._header["kid"])

    def sign_alert(self, topic: str, iat: int, seq: Sequence, alert: dict[str, Any]) -> str:
        claims = {
            "iss": self.gateway_id,
            "topic": topic,
            "iat": iat,
            "seq": seq.as_dict(),
            "alert": alert,
        }
        require_valid("envelope-claims", claims)
        payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
        return jws.serialize_compact(self._header, payload, self._key, algorithms=[ALGORITHM])

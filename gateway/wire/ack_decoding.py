"""Acks from the cloud, bytes in, a typed ack or a refusal out; no I/O.

Anyone who can publish on ``<prefix>/<gateway>/ack`` (or leave a retained message there) reaches
this function, so it must survive any bytes: the size is checked before anything else, the JSON
is parsed by :mod:`qunzu_common.bounded_json` (no recursion, bounded depth and lengths), the
result is checked against ``ack.schema.json``, and the numbers must fit the outbox's SQLite
integers (JSON Schema's "integer" also admits ``1.0`` and ``10**400``). Anything else is an
:class:`AckRefused` whose ``kind`` counts it; this function never raises.

Signed acks (:mod:`cloud_bridge.ingest.ack_signing` on the other side) are a JWS whose claims carry
the ack topic and the ack. With the bridge's public keys configured (``[mqtt]
bridge_public_key_files``), only an ack signed by one of them, for this gateway's own ack topic,
counts; plain JSON is refused. Without keys, plain JSON and the claims of a signed ack are both
read unverified (the broker's ACL is then the only guard), so the bridge can start signing
before every gateway has its key.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import OKPKey

from gateway.wire.contract import contract_errors
from qunzu_common.bounded_json import JsonLimitError, JsonLimits, loads_bounded
from qunzu_common.compact_jws import JwsFormatError, read_protected_header

__all__ = ["AckRefused", "DecodedAck", "decode_ack"]

MAX_SQLITE_INTEGER = 2**63 - 1
ALGORITHM = "Ed25519"


@dataclass(frozen=True, slots=True)
class DecodedAck:
    alert_id: str
    boot_epoch: int
    counter: int
    status: str
    ticket_id: int | None
    reason: str
    boot_id: str = ""  # empty from a bridge that does not echo it


@dataclass(frozen=True, slots=True)
class AckRefused:
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def decode_ack(
    payload: object,
    max_bytes: int,
    *,
    topic: str = "",
    bridge_keys: Mapping[str, OKPKey] | None = None,
) -> DecodedAck | AckRefused:
    """The ack in ``payload`` (an MQTT payload: bytes, or whatever the client handed over),
    received on ``topic``; with ``bridge_keys``, only a signed ack for ``topic`` counts."""
    if not isinstance(payload, bytes | bytearray):
        return AckRefused("type", f"payload is {type(payload).__name__}, not bytes")
    if len(payload) > max_bytes:
        return AckRefused("bytes", f"{len(payload)} bytes, more than {max_bytes}")
    limits = JsonLimits(max_bytes=max_bytes, max_depth=5, max_items=16, max_string_chars=1024)
    data = bytes(payload)
    signed = data.startswith(b"ey")  # a compact JWS: base64url of '{"' opens its header
    if bridge_keys and not signed:
        return AckRefused("unsigned", "a plain ack, but only acks signed by the bridge count")
    if signed:
        opened = _signed_ack(data, limits, topic, bridge_keys)
        if isinstance(opened, AckRefused):
            return opened
        ack = opened
    else:
        try:
            ack = loads_bounded(data, limits)
        except JsonLimitError as err:
            return AckRefused(f"json {err.limit}", err.detail)
    return _checked(ack)


def _signed_ack(
    token: bytes, limits: JsonLimits, topic: str, keys: Mapping[str, OKPKey] | None
) -> Any:
    """The ack inside a signed ack (verified when ``keys`` are given), or AckRefused."""
    try:
        header = read_protected_header(token)
    except JwsFormatError as err:
        return AckRefused(err.kind, str(err))
    if keys:
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or kid not in keys:
            return AckRefused("kid", f"not signed by a configured bridge key (kid {kid!r})")
        try:
            payload = jws.deserialize_compact(token, keys[kid], algorithms=[ALGORITHM]).payload
        except BadSignatureError:
            return AckRefused("signature", "bad signature")
        except (JoseError, ValueError, TypeError) as err:
            return AckRefused("jws", f"unreadable JWS: {err}"[:200])
    else:
        segment = token.split(b".")[1]
        try:
            payload = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
        except (binascii.Error, ValueError):
            return AckRefused("jws", "payload is not base64url")
    try:
        claims = loads_bounded(payload, limits)
    except JsonLimitError as err:
        return AckRefused(f"json {err.limit}", err.detail)
    problems = contract_errors("ack-claims", claims)
    if problems:
        return AckRefused("schema", "; ".join(problems)[:300])
    if claims["topic"] != topic:
        return AckRefused("topic", f"signed for {claims['topic']!r}, received on {topic!r}")
    return claims["ack"]


def _checked(ack: Any) -> DecodedAck | AckRefused:
    problems = contract_errors("ack", ack)
    if problems:
        return AckRefused("schema", "; ".join(problems)[:300])
    seq = ack["seq"]
    numbers = (seq["boot_epoch"], seq["counter"], ack.get("ticket_id"))
    if any(
        n is not None and (type(n) is not int or not 0 <= n <= MAX_SQLITE_INTEGER) for n in numbers
    ):
        return AckRefused("schema", "seq and ticket_id must be integers from 0 to 2**63-1")
    return DecodedAck(
        alert_id=ack["alert_id"],
        boot_epoch=seq["boot_epoch"],
        counter=seq["counter"],
        status=ack["status"],
        ticket_id=ack.get("ticket_id"),
        reason=ack.get("reason", ""),
        boot_id=seq.get("boot_id", ""),
    )

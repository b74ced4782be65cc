"""Is this MQTT message a genuine, current alert from a registered gateway? Bytes in, verdict out.

:func:`verify_alert` runs the checks of the wire contract (docs/wire-contract.md) in its order:

1. the topic names a registered gateway;
2. the protected header's ``alg`` is ``Ed25519`` and its ``kid`` is one of that gateway's keys;
3. the signature verifies;
4. the claims validate against ``envelope-claims.schema.json``;
5. ``iss``, the topic's gateway and ``alert.gateway_id`` agree, and the signed topic is this one;
6. ``iat`` lies inside the replay window and not too far in the future.

Before any of them the size is checked, and every JSON document (header, claims) is parsed by
:mod:`qunzu_common.bounded_json` within fixed limits, so no input can raise past this function.
The first failing check gives the verdict: a :class:`RejectedMessage` with a short reason a
person can read in a log. Whether a sequence was seen before (check 7) is the database's job.
No I/O here: keys, time and limits are passed in.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import OKPKey

from cloud_bridge.ingest.contract import contract_errors
from qunzu_common.bounded_json import JsonLimitError, JsonLimits, loads_bounded
from qunzu_common.compact_jws import JwsFormatError, read_protected_header

ALGORITHM = "Ed25519"
BOOT_ID = re.compile(r"[0-9a-f]{16,32}")
MAX_REASON_CHARS = 300
# Claims hold an alert body (a few levels, tens of days).
CLAIMS_LIMITS = JsonLimits(max_bytes=128 * 1024, max_depth=12, max_items=1024)


@dataclass(frozen=True, slots=True)
class KnownGateway:
    """A registered gateway: its public keys by key id (RFC 7638 thumbprint) and its office."""

    gateway_id: str
    street_office: str
    keys: Mapping[str, OKPKey]


GatewayRegistry = Mapping[str, KnownGateway]


@dataclass(frozen=True, slots=True)
class VerificationLimits:
    max_clock_skew_s: float = 300.0
    max_message_age_s: float = 30 * 86400.0
    max_message_bytes: int = 64 * 1024


@dataclass(frozen=True, slots=True)
class VerifiedAlert:
    """An alert whose signature, claims and time checked out. ``token`` is the message as
    received (the proof a third party can verify again); ``payload_sha256`` identifies this
    send, ``alert_sha256`` the alert it carries, and ``seq`` the message."""

    gateway_id: str
    topic: str
    kid: str
    iat: int
    boot_epoch: int
    counter: int
    alert: Mapping[str, Any]
    token: str
    payload_sha256: str
    # The gateway's id of this boot ("" from gateways that send none): part of the sequence.
    boot_id: str
    # Identifies the alert body: a re-send (signed again, fresh iat) has another token but the
    # same body and sequence. See alert_body_sha256.
    alert_sha256: str

    @property
    def alert_id(self) -> str:
        return str(self.alert["alert_id"])

    @property
    def revision(self) -> int:
        return int(self.alert["revision"])

    @property
    def unit_id(self) -> str:
        return str(self.alert["unit_id"])

    @property
    def kind(self) -> str:
        return str(self.alert["kind"])

    @property
    def seq(self) -> dict[str, int | str]:
        """The sequence as the gateway sent it (``boot_id`` only when it sent one)."""
        seq: dict[str, int | str] = {"boot_epoch": self.boot_epoch, "counter": self.counter}
        if self.boot_id:
            seq["boot_id"] = self.boot_id
        return seq

    @property
    def seq_text(self) -> str:
        """``boot_id/boot_epoch/counter`` (``boot_epoch/counter`` without a boot id), for logs."""
        numbers = f"{self.boot_epoch}/{self.counter}"
        return f"{self.boot_id}/{numbers}" if self.boot_id else numbers


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    """Why a message was refused. ``gateway_id``, ``alert_id`` and ``seq`` are set only when the
    signature verified: then the gateway really sent it and may be told which of its messages
    was refused. Before that nothing in a message is echoed, so a forger cannot make the bridge
    answer on a gateway's behalf. ``kind`` is a short fixed word to count refusals by."""

    reason: str
    gateway_id: str | None = None
    alert_id: str | None = None
    seq: dict[str, int | str] | None = None
    kind: str = "other"


def verify_alert(
    topic: str,
    payload: bytes,
    registry: GatewayRegistry,
    now_unix: float,
    limits: VerificationLimits,
) -> VerifiedAlert | RejectedMessage:
    """The verdict on one message; never raises, whatever the bytes."""
    # 0. Size first: nothing bigger than the limit is looked at.
    if len(payload) > limits.max_message_bytes:
        return RejectedMessage(
            f"{len(payload)} bytes, more than max_message_bytes ({limits.max_message_bytes})",
            kind="bytes",
        )

    # 1. The topic names a registered gateway.
    parts = topic.split("/")
    if len(parts) < 3 or parts[-1] != "alert":
        return RejectedMessage(_short(f"not an alert topic: {topic!r}"), kind="topic")
    gateway_id = parts[-2]
    gateway = registry.get(gateway_id)
    if gateway is None:
        return RejectedMessage(_short(f"unknown gateway {gateway_id!r}"), kind="unknown gateway")

    # 2. The header names the algorithm and one of the gateway's keys. Until the signature
    # verifies, nothing in the message is believed or echoed back: no gateway, no sequence.
    header = _protected_header(payload)
    if isinstance(header, RejectedMessage):
        return header
    if header.get("alg") != ALGORITHM:
        return RejectedMessage(
            _short(f"unsupported alg {header.get('alg')!r} (expected {ALGORITHM!r})"), kind="alg"
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in gateway.keys:
        return RejectedMessage(
            _short(f"unknown key id {kid!r} for gateway {gateway_id!r}"), kind="kid"
        )
    key = gateway.keys[kid]

    # 3. The signature verifies.
    try:
        verified = jws.deserialize_compact(payload, key, algorithms=[ALGORITHM])
    except BadSignatureError:
        return RejectedMessage("bad signature", kind="signature")
    except (JoseError, ValueError, TypeError) as err:
        return RejectedMessage(_short(f"unreadable JWS: {err}"), kind="jws")

    # From here on the gateway signed what we read, so a refusal can be acknowledged to it.
    try:
        claims = loads_bounded(verified.payload, CLAIMS_LIMITS)
    except JsonLimitError as err:
        reason = "payload is not a JSON object" if err.limit == "syntax" else f"payload: {err}"
        return RejectedMessage(_short(reason), gateway_id, kind=f"json {err.limit}")
    if not isinstance(claims, dict):
        return RejectedMessage("payload is not a JSON object", gateway_id, kind="schema")
    alert_id, seq = _identity(claims)

    def reject(reason: str, kind: str) -> RejectedMessage:
        return RejectedMessage(_short(reason), gateway_id, alert_id, seq, kind=kind)

    # 4. The claims follow the schema.
    problems = contract_errors("envelope-claims", claims)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return reject(f"schema: {problems[0]}{more}", "schema")
    alert = claims["alert"]

    # 5. Issuer, topic and body agree.
    if claims["iss"] != gateway_id:
        return reject(
            f"iss {claims['iss']!r} does not match the topic's gateway {gateway_id!r}", "iss"
        )
    if alert["gateway_id"] != gateway_id:
        return reject(
            f"alert.gateway_id {alert['gateway_id']!r} does not match the topic's gateway"
            f" {gateway_id!r}",
            "iss",
        )
    if claims["topic"] != topic:
        return reject(
            f"topic mismatch: signed for {claims['topic']!r}, received on {topic!r}", "topic"
        )

    # 6. Neither too old nor from the future.
    iat = int(claims["iat"])
    age = now_unix - iat
    if age > limits.max_message_age_s:
        return reject(f"stale: iat is {_duration(age)} old", "stale")
    if -age > limits.max_clock_skew_s:
        return reject(f"from the future: iat is {_duration(-age)} ahead", "future")

    return VerifiedAlert(
        gateway_id=gateway_id,
        topic=topic,
        kid=kid,
        iat=iat,
        boot_epoch=int(claims["seq"]["boot_epoch"]),
        counter=int(claims["seq"]["counter"]),
        alert=alert,
        token=payload.decode("ascii"),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        boot_id=str(claims["seq"].get("boot_id", "")),
        alert_sha256=alert_body_sha256(alert),
    )


def alert_body_sha256(alert: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an alert body's canonical JSON (sorted keys, no spaces): the same for
    every send of one alert, whatever its token."""
    canonical = json.dumps(alert, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _protected_header(token: bytes) -> dict[str, Any] | RejectedMessage:
    """The protected header, read within tight limits before the JOSE library parses it."""
    try:
        return read_protected_header(token)
    except JwsFormatError as err:
        return RejectedMessage(_short(str(err)), kind=err.kind)


def _identity(claims: Mapping[str, Any]) -> tuple[str | None, dict[str, int | str] | None]:
    """The alert id and sequence of a verified message, when they have the shapes an ack needs
    (a message that breaks the schema may still say which of the gateway's messages it is)."""
    alert = claims.get("alert")
    alert_id = alert.get("alert_id") if isinstance(alert, dict) else None
    raw_seq = claims.get("seq")
    seq = None
    if isinstance(raw_seq, dict):
        numbers = {name: raw_seq.get(name) for name in ("boot_epoch", "counter")}
        if all(type(n) is int and n >= 0 for n in numbers.values()):
            seq = {name: int(n) for name, n in numbers.items() if isinstance(n, int)}
            boot_id = raw_seq.get("boot_id")
            if isinstance(boot_id, str) and BOOT_ID.fullmatch(boot_id):
                seq["boot_id"] = boot_id
    return (alert_id if isinstance(alert_id, str) else None), seq


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(seconds)} s"


def _short(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"

"""Fuzz targets: one function per entry point that reads bytes from outside, each asserting the
contract (a typed result or the typed error, never another exception).

Shared by the coverage-guided atheris runner (``run.py``) and the seed writer
(``make_seeds.py``). The signing key is derived from a fixed phrase, so the seed corpus holds
genuinely signed alerts without a private key file in the repository; it signs nothing real.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import contextlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OKPKey

from cloud_bridge.ingest.verification import (
    KnownGateway,
    RejectedMessage,
    VerificationLimits,
    VerifiedAlert,
    verify_alert,
)
from gateway.core.bthome_lock import decode_bthome
from gateway.core.lock_adverts import Decoded, DecodedLockEvent, Refused
from gateway.core.lock_log_record import decode_log_record
from gateway.core.mibeacon import decode_mibeacon
from gateway.wire.ack_decoding import AckRefused, DecodedAck, decode_ack
from qunzu_common.bounded_json import JsonLimitError, JsonLimits, loads_bounded

GATEWAY_ID = "gw-fuzz"
TOPIC = f"bldg/v1/{GATEWAY_ID}/alert"
NOW = 1_772_600_000
MAC = "A4:C1:38:12:34:56"
BIND_KEY = bytes.fromhex("b0a1c2d3e4f5061728394a5b6c7d8e9f")


def fuzz_signing_key() -> OKPKey:
    """The fuzz gateway's private key, the same on every run (never used outside fuzzing)."""
    seed = hashlib.sha256(b"qunzu-watch fuzzing key, not a secret").digest()
    pem = Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return OKPKey.import_key(pem)


def _registry() -> MappingProxyType[str, KnownGateway]:
    public = OKPKey.import_key(fuzz_signing_key().as_pem(private=False))
    gateway = KnownGateway(GATEWAY_ID, "office", MappingProxyType({public.thumbprint(): public}))
    return MappingProxyType({GATEWAY_ID: gateway})


REGISTRY = _registry()
LIMITS = VerificationLimits()
JSON_LIMITS = JsonLimits(max_bytes=16 * 1024, max_depth=16)


def alert(data: bytes) -> None:
    verdict = verify_alert(TOPIC, data, REGISTRY, NOW, LIMITS)
    assert isinstance(verdict, VerifiedAlert | RejectedMessage)
    if isinstance(verdict, RejectedMessage) and verdict.kind == "signature":
        assert verdict.gateway_id is None and verdict.seq is None


def ack(data: bytes) -> None:
    assert isinstance(decode_ack(data, 16 * 1024), DecodedAck | AckRefused)


def bounded_json(data: bytes) -> None:
    with contextlib.suppress(JsonLimitError):
        loads_bounded(data, JSON_LIMITS)


def lock_adverts(data: bytes) -> None:
    assert isinstance(decode_mibeacon(data, MAC, BIND_KEY), Decoded | Refused)
    assert isinstance(decode_bthome(data, MAC), Decoded | Refused)
    assert isinstance(decode_log_record(data, MAC), DecodedLockEvent | Refused)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "alert": alert,
    "ack": ack,
    "bounded_json": bounded_json,
    "lock_adverts": lock_adverts,
}

"""What the bridge accepts and refuses, check by check, in the order of the wire contract.

Alerts are signed by the gateway's own signer and key files; anything the signer would refuse
to produce (a wrong algorithm, a payload that is not JSON, claims that break the schema) is
signed by hand with the same key, as a forger or a buggy gateway could."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import OKPKey

from cloud_bridge.config import BridgeConfig, load_bridge_config
from cloud_bridge.ingest.verification import (
    KnownGateway,
    RejectedMessage,
    VerificationLimits,
    VerifiedAlert,
    verify_alert,
)
from tests.cloud_bridge.signed_alerts import (
    NOW,
    FakeGateway,
    alert_body,
    make_gateway,
    write_bridge_config,
)

LIMITS = VerificationLimits(max_clock_skew_s=300, max_message_age_s=30 * 86400)
TOPIC = "bldg/v1/gw-1/alert"


def verify(config: BridgeConfig, payload: bytes, topic: str = TOPIC, now: float = NOW) -> Any:
    return verify_alert(topic, payload, config.registry, now, LIMITS)


def sign_raw(gateway: FakeGateway, payload: bytes, **header: Any) -> bytes:
    key = OKPKey.import_key(gateway.private_key.read_bytes())
    protected = {"alg": "Ed25519", "kid": gateway.kid, "typ": "bldg-alert+jws", **header}
    token = jws.serialize_compact(protected, payload, key, algorithms=[protected["alg"]])
    return token.encode()


def claims(gateway_id: str = "gw-1", **changes: Any) -> dict[str, Any]:
    return {
        "iss": gateway_id,
        "topic": f"bldg/v1/{gateway_id}/alert",
        "iat": NOW,
        "seq": {"boot_epoch": 1, "counter": 5},
        "alert": alert_body(gateway_id),
        **changes,
    }


def rejected(result: object) -> RejectedMessage:
    assert isinstance(result, RejectedMessage), result
    return result


def test_good_alert_is_verified(bridge_config: BridgeConfig, gateway: FakeGateway) -> None:
    token = gateway.sign(alert_body(revision=2))
    result = verify(bridge_config, token)
    assert isinstance(result, VerifiedAlert)
    assert (result.gateway_id, result.kid, result.iat) == ("gw-1", gateway.kid, NOW)
    assert result.seq == {"boot_epoch": 1, "counter": 1}
    assert (result.alert_id, result.revision) == ("gw-1.0302.overcrowding.20260302", 2)
    assert (result.unit_id, result.kind) == ("0302", "overcrowding")
    assert result.token == token.decode()
    assert len(result.payload_sha256) == 64


def test_unknown_gateway(bridge_config: BridgeConfig, tmp_path: Path) -> None:
    stranger = make_gateway(tmp_path / "elsewhere", "gw-x")
    result = rejected(verify(bridge_config, stranger.sign(), topic=stranger.topic))
    assert result.reason == "unknown gateway 'gw-x'"
    assert result.gateway_id is None  # nobody to acknowledge


def test_wrong_key_id(bridge_config: BridgeConfig, tmp_path: Path) -> None:
    impostor = make_gateway(tmp_path / "elsewhere", "gw-1")
    result = rejected(verify(bridge_config, impostor.sign()))
    assert result.reason == f"unknown key id '{impostor.kid}' for gateway 'gw-1'"
    # Unverified: nothing is echoed, so no ack can answer for the gateway.
    assert (result.gateway_id, result.alert_id, result.seq) == (None, None, None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_wrong_algorithm(bridge_config: BridgeConfig, gateway: FakeGateway) -> None:
    # The algorithm is checked before the signature, so the signature need not be valid.
    _, payload, signature = gateway.sign().decode().split(".")
    header = b64(json.dumps({"alg": "EdDSA", "kid": gateway.kid}).encode())
    token = f"{header}.{payload}.{signature}".encode()
    assert rejected(verify(bridge_config, token)).reason == (
        "unsupported alg 'EdDSA' (expected 'Ed25519')"
    )


def test_bad_signature(bridge_config: BridgeConfig, gateway: FakeGateway) -> None:
    header, payload, signature = gateway.sign().decode().split(".")
    forged_claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_claims["alert"]["estimated_occupancy"]["point"] = 30
    forged = f"{header}.{b64(json.dumps(forged_claims).encode())}.{signature}".encode()
    result = rejected(verify(bridge_config, forged))
    assert result.reason == "bad signature"
    assert (result.gateway_id, result.alert_id, result.seq) == (None, None, None)


def test_other_keys_signature_under_the_right_kid(
    bridge_config: BridgeConfig, gateway: FakeGateway, tmp_path: Path
) -> None:
    other = make_gateway(tmp_path / "elsewhere", "gw-1")
    other.kid = gateway.kid  # claims to be the registered key
    token = sign_raw(other, json.dumps(claims()).encode())
    assert rejected(verify(bridge_config, token)).reason == "bad signature"


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"hello",
        b"a.b",
        b"a.b.c.d",
        "ünïcode.x.y".encode(),
        b"\xff\xfe.\x00.\x01",
        b"WzFd.e30.c2ln",  # header [1]
        b"bnVsbA.e30.c2ln",  # header null
    ],
)
def test_not_a_jws(bridge_config: BridgeConfig, payload: bytes) -> None:
    result = rejected(verify(bridge_config, payload))
    assert result.reason in (
        "not a JWS compact serialization",
        "protected header is not base64url",
        "protected header is not a JSON object",
        "protected header: utf8: not UTF-8 at byte 0",
    ) or result.reason.startswith("protected header: syntax")
    assert (result.gateway_id, result.alert_id, result.seq) == (None, None, None)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"'])
def test_payload_that_is_not_a_json_object(
    bridge_config: BridgeConfig, gateway: FakeGateway, body: bytes
) -> None:
    assert rejected(verify(bridge_config, sign_raw(gateway, body))).reason == (
        "payload is not a JSON object"
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda c: c["alert"].update(unit_id="03 02"),
            "schema: alert.unit_id: '03 02' does not match",
        ),
        (lambda c: c.pop("seq"), "schema: (root): 'seq' is a required property"),
        (lambda c: c.update(iat=-1), "schema: iat: -1 is less than the minimum of 0"),
        (lambda c: c["alert"].update(kind="noise"), "schema: alert.kind: 'noise' is not one of"),
        (
            lambda c: c["alert"]["estimated_occupancy"].pop("low"),
            "schema: alert.estimated_occupancy: 'low' is a required property",
        ),
    ],
)
def test_claims_that_break_the_schema(
    bridge_config: BridgeConfig, gateway: FakeGateway, change: Any, reason: str
) -> None:
    bad = claims()
    change(bad)
    result = rejected(verify(bridge_config, sign_raw(gateway, json.dumps(bad).encode())))
    assert result.reason.startswith(reason), result.reason


def test_several_schema_problems_are_counted(
    bridge_config: BridgeConfig, gateway: FakeGateway
) -> None:
    bad = claims(iat="soon", extra=1)
    result = rejected(verify(bridge_config, sign_raw(gateway, json.dumps(bad).encode())))
    assert result.reason.endswith("(+1 more)")


def test_signed_topic_must_be_the_topic_received_on(
    bridge_config: BridgeConfig, gateway: FakeGateway
) -> None:
    token = gateway.sign(topic="bldg/v1/gw-1/status")
    assert rejected(verify(bridge_config, token)).reason == (
        "topic mismatch: signed for 'bldg/v1/gw-1/status', received on 'bldg/v1/gw-1/alert'"
    )


def test_issuer_must_be_the_topics_gateway(tmp_path: Path, gateway: FakeGateway) -> None:
    # A second gateway registered (by mistake) with the first one's key.
    twin = make_gateway(tmp_path, "gw-2")
    twin.public_key.write_bytes(gateway.public_key.read_bytes())
    config = load_bridge_config(write_bridge_config(tmp_path, [gateway, twin]))
    token = gateway.sign(topic="bldg/v1/gw-2/alert")
    result = rejected(verify(config, token, topic="bldg/v1/gw-2/alert"))
    assert result.reason == "iss 'gw-1' does not match the topic's gateway 'gw-2'"


def test_alert_body_must_name_the_same_gateway(
    bridge_config: BridgeConfig, gateway: FakeGateway
) -> None:
    token = gateway.sign(alert_body("gw-9"))
    assert rejected(verify(bridge_config, token)).reason == (
        "alert.gateway_id 'gw-9' does not match the topic's gateway 'gw-1'"
    )


@pytest.mark.parametrize(
    ("iat", "reason"),
    [
        (NOW - 31 * 86400, "stale: iat is 31 days old"),
        (NOW - 30 * 86400 - 1, "stale: iat is 30 days old"),
        (NOW + 301, "from the future: iat is 5 minutes ahead"),
        (NOW + 3 * 3600, "from the future: iat is 3 hours ahead"),
    ],
)
def test_iat_outside_the_window(
    bridge_config: BridgeConfig, gateway: FakeGateway, iat: int, reason: str
) -> None:
    assert rejected(verify(bridge_config, gateway.sign(iat=iat))).reason == reason


@pytest.mark.parametrize("iat", [NOW - 30 * 86400, NOW + 300, NOW - 3 * 86400])
def test_iat_at_the_edges_of_the_window(
    bridge_config: BridgeConfig, gateway: FakeGateway, iat: int
) -> None:
    assert isinstance(verify(bridge_config, gateway.sign(iat=iat)), VerifiedAlert)


@pytest.mark.parametrize("topic", ["bldg/v1/gw-1/status", "alert", "gw-1/alert/x"])
def test_not_an_alert_topic(bridge_config: BridgeConfig, gateway: FakeGateway, topic: str) -> None:
    assert rejected(verify(bridge_config, gateway.sign(), topic=topic)).reason.startswith(
        "not an alert topic"
    )


_FUZZ_KEY = OKPKey.generate_key("Ed25519")
_FUZZ_REGISTRY = {"gw-1": KnownGateway("gw-1", "linfen-road", {_FUZZ_KEY.thumbprint(): _FUZZ_KEY})}


@given(payload=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_arbitrary_bytes_are_refused_never_raise(payload: bytes) -> None:
    result = verify_alert(TOPIC, payload, _FUZZ_REGISTRY, NOW, LIMITS)
    assert isinstance(result, RejectedMessage)
    assert result.reason


@given(
    segments=st.lists(
        st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")),
        min_size=3,
        max_size=3,
    )
)
def test_arbitrary_base64_segments_are_refused(segments: list[bytes]) -> None:
    result = verify_alert(TOPIC, b".".join(segments), _FUZZ_REGISTRY, NOW, LIMITS)
    assert isinstance(result, RejectedMessage)

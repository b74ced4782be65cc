"""The bridge's alert verification on arbitrary bytes and on near-valid JWS: a VerifiedAlert or
a RejectedMessage, never an exception; and no refusal names a gateway, an alert or a sequence
unless the signature verified."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import OKPKey

from cloud_bridge.config import BridgeConfig, load_bridge_config
from cloud_bridge.ingest.verification import (
    RejectedMessage,
    VerificationLimits,
    VerifiedAlert,
    verify_alert,
)
from tests.cloud_bridge.signed_alerts import NOW, FakeGateway, make_gateway, write_bridge_config

LIMITS = VerificationLimits(max_message_bytes=64 * 1024)
TOPIC = "bldg/v1/gw-1/alert"


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BridgeConfig, FakeGateway]]:
    directory = tmp_path_factory.mktemp("fuzz-bridge")
    gateway = make_gateway(directory, "gw-1")
    yield load_bridge_config(write_bridge_config(directory, [gateway])), gateway


@pytest.fixture(scope="module")
def genuine(bridge: tuple[BridgeConfig, FakeGateway]) -> bytes:
    return bridge[1].sign(counter=1)


def sign_raw(gateway: FakeGateway, payload: bytes) -> bytes:
    key = OKPKey.import_key(gateway.private_key.read_bytes())
    header = {"alg": "Ed25519", "kid": gateway.kid, "typ": "bldg-alert+jws"}
    return jws.serialize_compact(header, payload, key, algorithms=["Ed25519"]).encode()


def b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def check(
    config: BridgeConfig, payload: bytes, topic: str = TOPIC
) -> VerifiedAlert | RejectedMessage:
    verdict = verify_alert(topic, payload, config.registry, NOW, LIMITS)
    assert isinstance(verdict, VerifiedAlert | RejectedMessage)
    if isinstance(verdict, RejectedMessage) and verdict.kind in (
        "bytes",
        "topic",
        "unknown gateway",
        "jws",
        "alg",
        "kid",
        "signature",
    ):
        assert (verdict.gateway_id, verdict.alert_id, verdict.seq) == (None, None, None)
    return verdict


@settings(max_examples=1500)
@given(payload=st.binary(max_size=400), topic=st.sampled_from([TOPIC, "bldg/v1/x/alert", "a"]))
def test_arbitrary_bytes(
    bridge: tuple[BridgeConfig, FakeGateway], payload: bytes, topic: str
) -> None:
    check(bridge[0], payload, topic)


segments = st.one_of(
    st.binary(max_size=60).map(b64),
    st.binary(max_size=60),
    st.sampled_from([b"", b"e30", b"W10", b"bnVsbA", b"IiI", b"MQ", b"Wzld"]),
    st.dictionaries(
        st.sampled_from(["iss", "topic", "iat", "seq", "alert"]),
        st.none() | st.integers() | st.text(max_size=8) | st.just({"boot_epoch": 1}),
        max_size=5,
    ).map(lambda v: b64(json.dumps(v).encode())),
)


@settings(max_examples=600)
@given(data=st.data())
def test_near_valid_tokens(
    bridge: tuple[BridgeConfig, FakeGateway], genuine: bytes, data: st.DataObject
) -> None:
    """A genuine token with one, two or three of its segments replaced or altered."""
    config, gateway = bridge
    header, claims, signature = genuine.split(b".")
    parts = [header, claims, signature]
    for index in data.draw(st.sets(st.integers(0, 2), min_size=1)):
        how = data.draw(st.sampled_from(["replace", "flip", "truncate", "header"]))
        if how == "replace":
            parts[index] = data.draw(segments)
        elif how == "flip" and parts[index]:
            at = data.draw(st.integers(0, len(parts[index]) - 1))
            parts[index] = (
                parts[index][:at] + bytes([parts[index][at] ^ 1]) + parts[index][at + 1 :]
            )
        elif how == "truncate":
            parts[index] = parts[index][: data.draw(st.integers(0, len(parts[index])))]
        else:
            fields = data.draw(
                st.dictionaries(
                    st.sampled_from(["alg", "kid", "typ", "b64", "crit", "jwk"]),
                    st.sampled_from(["Ed25519", "EdDSA", "none", gateway.kid, None, 1, [], {}]),
                )
            )
            parts[0] = b64(json.dumps(fields).encode())
    separator = data.draw(st.sampled_from([b".", b"..", b""]))
    verdict = check(config, separator.join(parts))
    if isinstance(verdict, VerifiedAlert):
        assert parts[1] == claims  # only the genuine claims can verify


@settings(max_examples=300)
@given(body=st.binary(max_size=300) | st.text(max_size=100).map(str.encode))
def test_signed_garbage_is_refused_as_signed(
    bridge: tuple[BridgeConfig, FakeGateway], body: bytes
) -> None:
    """Signed by the gateway's own key: attributable, but still only a RejectedMessage."""
    config, gateway = bridge
    verdict = check(config, sign_raw(gateway, body))
    assert isinstance(verdict, RejectedMessage)
    assert verdict.gateway_id == "gw-1"

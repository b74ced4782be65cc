"""The gateway's ack decoding on arbitrary payloads, near-valid acks and near-valid signed
acks: a DecodedAck or an AckRefused, never an exception; a DecodedAck only with numbers the
outbox can store and, when the bridge's keys are configured, only for an untouched signature."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc.jwk import OKPKey

from cloud_bridge.ingest.ack_signing import AckSigner
from gateway.wire.ack_decoding import MAX_SQLITE_INTEGER, AckRefused, DecodedAck, decode_ack

GENUINE = {
    "alert_id": "gw-1.0302.overcrowding.20260302",
    "seq": {"boot_epoch": 1, "counter": 1},
    "status": "accepted",
    "ticket_id": 7,
}
PATHS = [("alert_id",), ("status",), ("ticket_id",), ("reason",), ("seq",), ("extra",)]
PATHS += [("seq", "boot_epoch"), ("seq", "counter"), ("seq", "x")]
odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.sampled_from(["accepted", "duplicate", "rejected"]),
)


def check(payload: object, max_bytes: int = 16 * 1024) -> DecodedAck | AckRefused:
    result = decode_ack(payload, max_bytes)
    assert isinstance(result, DecodedAck | AckRefused)
    if isinstance(result, DecodedAck):
        for number in (result.boot_epoch, result.counter):
            assert type(number) is int and 0 <= number <= MAX_SQLITE_INTEGER
    return result


@settings(max_examples=900)
@given(st.binary(max_size=500) | st.none() | st.integers() | st.text(max_size=50))
def test_arbitrary_payloads(payload: object) -> None:
    check(payload)


@settings(max_examples=600)
@given(
    path=st.sampled_from(PATHS),
    value=odd_values,
    delete=st.booleans(),
    max_bytes=st.sampled_from([256, 16 * 1024]),
)
def test_near_valid_acks(
    path: tuple[str, ...], value: object, delete: bool, max_bytes: int
) -> None:
    ack = json.loads(json.dumps(GENUINE))
    target = ack
    for key in path[:-1]:
        target = target[key]
    if delete:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    check(json.dumps(ack, allow_nan=True).encode(), max_bytes)


PRIVATE = OKPKey.generate_key("Ed25519")
SIGNER = AckSigner(PRIVATE)
KEYS = {SIGNER.kid: OKPKey.import_key(PRIVATE.as_pem(private=False))}
GENUINE_SIGNED = SIGNER.sign("bldg/v1/gw-1/ack", 1_772_600_000, GENUINE)


@settings(max_examples=500)
@given(data=st.data(), verify=st.booleans())
def test_near_valid_signed_acks(data: st.DataObject, verify: bool) -> None:
    """The genuine signed ack with bytes flipped, cut or a segment replaced: only the untouched
    token decodes when the keys are configured."""
    token = bytearray(GENUINE_SIGNED)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(token) - 1))
        how = data.draw(st.sampled_from(["flip", "cut", "dot"]))
        if how == "flip":
            token[at] ^= data.draw(st.integers(1, 255))
        elif how == "cut":
            del token[at:]
            if not token:
                token = bytearray(b"ey")
        else:
            token[at] = ord(".")
    result = decode_ack(
        bytes(token), 16 * 1024, topic="bldg/v1/gw-1/ack", bridge_keys=KEYS if verify else None
    )
    assert isinstance(result, DecodedAck | AckRefused)
    if verify and isinstance(result, DecodedAck):
        assert result == decode_ack(
            GENUINE_SIGNED, 16 * 1024, topic="bldg/v1/gw-1/ack", bridge_keys=KEYS
        )

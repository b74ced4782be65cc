"""BLE lock payloads as heard over the air: MiBeacon (also correctly encrypted frames holding
arbitrary objects), BTHome v2 and GATT event-log records. Each decoder returns Decoded,
DecodedLockEvent or Refused for any bytes; MAC normalisation returns a MAC or ValueError."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.bthome_lock import decode_bthome
from gateway.core.lock_adverts import Decoded, DecodedLockEvent, Refused, normalise_mac
from gateway.core.lock_log_record import decode_log_record
from gateway.core.mibeacon import decode_mibeacon

MAC = "A4:C1:38:12:34:56"
KEY = bytes.fromhex("b0a1c2d3e4f5061728394a5b6c7d8e9f")


@settings(max_examples=800)
@given(frame=st.binary(max_size=40), key=st.sampled_from([KEY, bytes(16)]))
def test_mibeacon_arbitrary_frames(frame: bytes, key: bytes) -> None:
    assert isinstance(decode_mibeacon(frame, MAC, key), Decoded | Refused)


def sealed_frame(control: int, counter: int, objects: bytes) -> bytes:
    """An encrypted MiBeacon frame as a lock with ``KEY`` would build it around ``objects``."""
    header = struct.pack("<HHB", control, 0x0B01, counter)
    extended = b"\x00\x00\x00"
    nonce = bytes.fromhex(MAC.replace(":", ""))[::-1] + header[2:5] + extended
    sealed = AESCCM(KEY, tag_length=4).encrypt(nonce, objects, b"\x11")
    return header + sealed[:-4] + extended + sealed[-4:]


objects = st.lists(
    st.tuples(
        st.sampled_from([0x000B, 0x0006, 0x1234]),
        st.binary(max_size=12),
        st.integers(-2, 2),
    ).map(lambda o: struct.pack("<HB", o[0], max(0, len(o[1]) + o[2]) & 0xFF) + o[1]),
    max_size=4,
).map(b"".join)


@settings(max_examples=700)
@given(objects=objects, counter=st.integers(0, 255))
def test_mibeacon_sealed_frames_with_arbitrary_objects(objects: bytes, counter: int) -> None:
    result = decode_mibeacon(sealed_frame(0x5848, counter, objects), MAC, KEY)
    assert isinstance(result, Decoded | Refused)


@settings(max_examples=800)
@given(
    frame=st.binary(max_size=32)
    | st.lists(st.sampled_from([0x00, 0x01, 0x1F, 0x53, 0x54, 0x2D, 0x40]) | st.integers(0, 255))
    .map(bytes)
    .map(lambda b: b"\x40" + b)
)
def test_bthome_adverts(frame: bytes) -> None:
    assert isinstance(decode_bthome(frame, MAC), Decoded | Refused)


@settings(max_examples=800)
@given(st.binary(min_size=15, max_size=17) | st.binary(max_size=20))
def test_event_log_records(record: bytes) -> None:
    assert isinstance(decode_log_record(record, MAC), DecodedLockEvent | Refused)


@settings(max_examples=300)
@given(st.text(max_size=20) | st.sampled_from(["a4-c1-38-12-34-56", "A4C138123456"]))
def test_mac_normalisation(mac: str) -> None:
    try:
        normalised = normalise_mac(mac)
    except ValueError:
        return
    assert len(normalised) == 17
    with pytest.raises(ValueError):
        normalise_mac(normalised + "0")

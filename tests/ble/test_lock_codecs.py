"""Bytes in, lock events out: the gateway's pure decoders, as tables, and checked against the
reference libraries (xiaomi-ble, bthome-ble) on the simulator's frames.

The frames are built by the simulator's own encoder (``firmware_sim.ble.lock_frames``), which
shares no code with the gateway's decoders, plus hand-written byte strings for what the
simulator never sends.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from bleak.backends.device import BLEDevice
from bthome_ble import BTHomeBluetoothDeviceData
from habluetooth import BluetoothServiceInfoBleak
from home_assistant_bluetooth import BluetoothServiceInfo
from xiaomi_ble import XiaomiBluetoothDeviceData

from firmware_sim.ble.lock_frames import (
    LockAction,
    OversizedAdvertError,
    advertising_data,
    bthome_lock_frame,
    log_record,
    mibeacon_lock_frame,
    service_data_16,
)
from gateway.core.bthome_lock import decode_bthome
from gateway.core.lock_adverts import (
    BTHOME_SERVICE_UUID,
    MIBEACON_SERVICE_UUID,
    Decoded,
    DecodedLockEvent,
    Refused,
    RepeatFilter,
    normalise_mac,
)
from gateway.core.lock_log_record import decode_log_record
from gateway.core.mibeacon import decode_mibeacon

MAC = "A4:C1:38:12:34:56"
KEY = bytes.fromhex("b0a1c2d3e4f5061728394a5b6c7d8e9f")
T = datetime(2026, 3, 4, 0, 15, tzinfo=UTC)
LOCK_PRODUCT = 0x0E39


def event(seq: int, kind: str, method: str, key: str, ts: datetime | None = T) -> DecodedLockEvent:
    return DecodedLockEvent(MAC, seq, kind, method, key, ts)


FP3 = 0x80010003  # fingerprint slot 3, as Xiaomi numbers it
MIBEACON_CASES = [
    # (what the lock did, the event the gateway must decode, or None: nothing to count)
    (LockAction(T, "unlock", "fingerprint", FP3), event(7, "unlock", "fingerprint", "80010003")),
    (LockAction(T, "lock", "fingerprint", FP3), event(7, "lock", "fingerprint", "80010003")),
    (LockAction(T, "unlock", "pin", 0x80020001), event(7, "unlock", "pin", "80020001")),
    (LockAction(T, "unlock", "card", 0x80040002), event(7, "unlock", "card", "80040002")),
    (LockAction(T, "unlock", "bluetooth", 12345), event(7, "unlock", "bluetooth", "00003039")),
    (LockAction(T, "unlock", "key", 0x80030001), event(7, "unlock", "key", "")),
    (LockAction(T, "unlock", "fingerprint", 0xFFFFFFFF), event(7, "unlock", "fingerprint", "")),
    (LockAction(T, "failed", "pin", 0), event(7, "failed", "pin", "")),
    (LockAction(T, "unlock_inside", "key", 0), None),
]  # fmt: skip


@pytest.mark.parametrize(("action", "expected"), MIBEACON_CASES)
def test_mibeacon_lock_events(action: LockAction, expected: DecodedLockEvent | None) -> None:
    frame = mibeacon_lock_frame(MAC, LOCK_PRODUCT, 7, KEY, action)
    decoded = decode_mibeacon(frame, MAC, KEY)
    assert decoded == Decoded(MAC, () if expected is None else (expected,), LOCK_PRODUCT)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x48\x50\x39", "too short"),
        (bytes.fromhex("4830390e07"), "MiBeacon v3 frame"),  # v3: legacy encryption, no MIC
        (bytes.fromhex("c850390e07"), "v5 mesh frame"),
        (bytes.fromhex("4850390e07") + b"\x00" * 9, "too short for its counter and MIC"),
        (bytes.fromhex("4050390e07") + bytes.fromhex("0b000901"), "unencrypted MiBeacon"),
        (bytes.fromhex("5850390e07") + bytes.fromhex("112233445566") + b"\x00" * 16, "another"),
    ],
)
def test_mibeacon_frames_that_are_refused(frame: bytes, reason: str) -> None:
    outcome = decode_mibeacon(frame, MAC, KEY)
    assert isinstance(outcome, Refused)
    assert reason in outcome.reason


def test_a_frame_without_objects_decodes_to_no_event() -> None:
    assert decode_mibeacon(bytes.fromhex("0050390e07"), MAC, KEY) == Decoded(MAC, (), LOCK_PRODUCT)


def test_a_wrong_key_and_a_tampered_frame_fail_the_mic() -> None:
    frame = mibeacon_lock_frame(MAC, LOCK_PRODUCT, 7, KEY, MIBEACON_CASES[0][0])
    tampered = frame[:6] + bytes([frame[6] ^ 1]) + frame[7:]
    for data, key in ((frame, bytes(16)), (tampered, KEY)):
        outcome = decode_mibeacon(data, MAC, key)
        assert isinstance(outcome, Refused) and "MIC check failed" in outcome.reason
    heard_from_another_mac = decode_mibeacon(frame, "A4:C1:38:00:00:00", KEY)
    assert isinstance(heard_from_another_mac, Refused)  # the MAC is part of the nonce


XIAOMI_NAMES = {"unlock": "unlock_outside_the_door", "lock": "locked"}
XIAOMI_METHODS = {"fingerprint": "biometrics", "pin": "password", "card": "nfc_method"}


@pytest.mark.parametrize("action", [case[0] for case in MIBEACON_CASES[:4]])
def test_xiaomi_ble_reads_the_simulated_frames_as_our_decoder_does(action: LockAction) -> None:
    frame = mibeacon_lock_frame(MAC, LOCK_PRODUCT, 9, KEY, action)
    info = BluetoothServiceInfo(
        name="lock",
        address=MAC,
        rssi=-60,
        manufacturer_data={},
        service_data={MIBEACON_SERVICE_UUID: frame},
        service_uuids=[],
        source="test",
    )
    update = XiaomiBluetoothDeviceData(bindkey=KEY).update(info)
    ours = decode_mibeacon(frame, MAC, KEY)
    assert isinstance(ours, Decoded)
    [decoded] = ours.events
    [lock_event] = [e.event_type for k, e in update.events.items() if k.key == "lock"]
    values = {
        str(getattr(k.key, "value", k.key)): v.native_value for k, v in update.entity_values.items()
    }
    assert lock_event == XIAOMI_NAMES[decoded.event]
    assert values["lock_method"] == XIAOMI_METHODS[decoded.method]
    assert str(values["key_id"]).endswith(f" {int(decoded.key_id, 16) & 0xFFFF}")
    assert update.devices[None].model == "XMZNMS08LM"


BTHOME_CASES = [
    (bthome_lock_frame(3, True, "00000001"), (event(3, "unlock", "unknown", "00000001", None),)),
    (bthome_lock_frame(4, False), (event(4, "lock", "key", "", None),)),
    (bytes.fromhex("4400050164"), ()),  # packet id and battery only: no lock state, no event
    (bytes.fromhex("40000601551f01"), (event(6, "unlock", "key", "", None),)),  # battery first
]


@pytest.mark.parametrize(("frame", "events"), BTHOME_CASES)
def test_bthome_lock_adverts(frame: bytes, events: tuple[DecodedLockEvent, ...]) -> None:
    assert decode_bthome(frame, MAC) == Decoded(MAC, events)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", "empty"),
        (bytes.fromhex("2000011f01"), "version 1"),
        (bytes.fromhex("4500011f01"), "encrypted"),
        (bytes.fromhex("44000199"), "0x99 is unknown"),
        (bytes.fromhex("4400011f"), "truncated"),
        (bytes.fromhex("441f01"), "without a packet id"),
        (bytes.fromhex("440001530a41"), "truncated"),
    ],
)
def test_bthome_adverts_that_are_refused(frame: bytes, reason: str) -> None:
    outcome = decode_bthome(frame, MAC)
    assert isinstance(outcome, Refused) and reason in outcome.reason


@pytest.mark.parametrize(("unlocked", "key"), [(True, "00000001"), (False, "")])
def test_bthome_ble_reads_the_simulated_frames_as_our_decoder_does(
    unlocked: bool, key: str
) -> None:
    frame = bthome_lock_frame(11, unlocked, key)
    info = BluetoothServiceInfoBleak(
        name="lock",
        address=MAC,
        rssi=-60,
        manufacturer_data={},
        service_data={BTHOME_SERVICE_UUID: frame},
        service_uuids=[],
        source="test",
        device=BLEDevice(MAC, "lock", None),
        advertisement=None,
        connectable=False,
        time=time.monotonic(),
        tx_power=None,
    )
    update = BTHomeBluetoothDeviceData().update(info)
    theirs = {k.key: v.native_value for k, v in update.binary_entity_values.items()}
    sensors = {k.key: v.native_value for k, v in update.entity_values.items()}
    ours = decode_bthome(frame, MAC)
    assert isinstance(ours, Decoded)
    [decoded] = ours.events
    assert theirs["lock"] is (decoded.event == "unlock")  # Home Assistant: on = unlocked
    assert sensors["packet_id"] == decoded.seq
    assert sensors.get("text", "") == decoded.key_id


LOG_CASES = [
    (1, LockAction(T, "unlock", "fingerprint", 3), event(1, "unlock", "fingerprint", "00000003")),
    (2, LockAction(T, "lock", "key", 0), event(2, "lock", "key", "")),
    (70000, LockAction(T, "failed", "pin", 0x1234), event(70000, "failed", "pin", "00001234")),
    (4, LockAction(T, "unlock", "card", 0), event(4, "unlock", "card", "")),
]


@pytest.mark.parametrize(("seq", "action", "expected"), LOG_CASES)
def test_event_log_records(seq: int, action: LockAction, expected: DecodedLockEvent) -> None:
    record = log_record(seq, action)
    assert len(record) <= 20  # one notification at the default ATT MTU
    assert decode_log_record(record, MAC) == expected


def test_the_record_example_of_the_docs_reads_as_the_docs_say() -> None:
    record = bytes.fromhex("01 00 01 00 05000000 c45b0f6a 03000000".replace(" ", ""))
    decoded = decode_log_record(record, MAC)
    assert isinstance(decoded, DecodedLockEvent)
    assert (decoded.seq, decoded.event, decoded.method, decoded.key_id) == (
        5, "unlock", "fingerprint", "00000003"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (b"\x01" * 15, "15 bytes"),
        (bytes([2]) + bytes(15), "version 2"),
        (bytes([1, 9]) + bytes(14), "unknown event code 9"),
    ],
)
def test_event_log_records_that_are_refused(record: bytes, reason: str) -> None:
    outcome = decode_log_record(record, MAC)
    assert isinstance(outcome, Refused) and reason in outcome.reason


def test_repeats_of_one_event_pass_once_and_a_new_packet_passes() -> None:
    repeats = RepeatFilter(memory=4)
    first, same, next_one = (
        event(7, "unlock", "pin", "1"),
        event(7, "unlock", "pin", "1"),
        event(8, "lock", "pin", "1"),
    )
    assert [repeats.first_time(e) for e in (first, same, same, next_one, first)] == [
        True, False, False, True, False
    ]  # fmt: skip
    other_lock = DecodedLockEvent("A4:C1:38:00:00:09", 7, "unlock", "pin", "1", T)
    assert repeats.first_time(other_lock)
    for seq in range(9, 13):  # four newer events push #7 out of a memory of four
        repeats.first_time(event(seq, "lock", "pin", "1"))
    assert repeats.first_time(first)  # the 8-bit counter came round again: a new event


def test_mac_addresses_are_normalised_or_refused() -> None:
    assert normalise_mac("a4-c1-38-12-34-56") == MAC
    assert normalise_mac("a4c138123456") == MAC
    with pytest.raises(ValueError, match="not a MAC"):
        normalise_mac("a4:c1:38:12:34")


def test_the_simulator_builds_adverts_up_to_31_bytes_and_refuses_longer() -> None:
    fits = mibeacon_lock_frame(MAC, LOCK_PRODUCT, 1, KEY, MIBEACON_CASES[0][0])
    assert len(advertising_data(service_data_16(0xFE95, fits))) == 31
    too_long = mibeacon_lock_frame(MAC, LOCK_PRODUCT, 1, KEY, MIBEACON_CASES[0][0], True)
    with pytest.raises(OversizedAdvertError, match="37 bytes"):
        advertising_data(service_data_16(0xFE95, too_long))
    assert decode_mibeacon(too_long, MAC, KEY) == decode_mibeacon(fits, MAC, KEY)

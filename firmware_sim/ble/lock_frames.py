"""What a simulated lock puts on the air, as bytes (pure; no radio here).

The simulator encodes independently of the gateway (the two packages never import each other),
so a test that decodes these frames with the gateway, and with the reference libraries, checks
both sides against the formats in docs/ble-locks.md.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from firmware_sim import FirmwareSimError

LEGACY_ADVERTISING_MAX = 31  # bytes of legacy advertising data; controllers drop longer ones
AD_FLAGS, AD_COMPLETE_NAME, AD_SERVICE_DATA_16 = 0x01, 0x09, 0x16
AD_COMPLETE_128_BIT_UUIDS = 0x07
FLAGS_LE_GENERAL_NO_BREDR = 0x06

MIBEACON_UUID16, BTHOME_UUID16 = 0xFE95, 0xFCD2
MIBEACON_LOCK_EVENT = 0x000B
# Frame control: version 5, objects included, encrypted; MAC_INCLUDED is optional.
MIBEACON_V5_ENCRYPTED_OBJECTS = 0x5048
MIBEACON_MAC_INCLUDED = 0x0010
MIBEACON_ACTIONS = {"unlock": 0b0000, "lock": 0b0001, "unlock_inside": 0b0100}
MIBEACON_METHODS = {"bluetooth": 0, "pin": 1, "fingerprint": 2, "key": 3, "card": 5}
MIBEACON_WRONG_PIN_ALARM = 0xC0DE0000

LOG_EVENTS = {"unlock": 0, "lock": 1, "failed": 2}
LOG_METHODS = {"unknown": 0, "fingerprint": 1, "pin": 2, "card": 3, "key": 4, "bluetooth": 5}
LOG_RECORD = struct.Struct("<BBBBIII")


class OversizedAdvertError(FirmwareSimError):
    """Legacy advertising data over 31 bytes: real controllers (and Linux) drop it."""


@dataclass(frozen=True, slots=True)
class LockAction:
    """One thing that happened at a simulated door."""

    ts: datetime
    event: str  # unlock, lock, unlock_inside (MiBeacon only) or failed
    method: str = "fingerprint"
    key_id: int = 0  # 0: no credential (mechanical key)


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def mibeacon_lock_frame(
    mac: str,
    product_id: int,
    counter: int,
    bind_key: bytes,
    action: LockAction,
    include_mac: bool = False,
) -> bytes:
    """Service data (UUID 0xFE95) of an encrypted MiBeacon v5 advert of one lock event."""
    if action.event == "failed":
        head, key_id = MIBEACON_METHODS["pin"] << 4, MIBEACON_WRONG_PIN_ALARM
    else:
        head = MIBEACON_ACTIONS[action.event] | MIBEACON_METHODS[action.method] << 4
        key_id = action.key_id
    body = bytes([head]) + struct.pack("<II", key_id, int(action.ts.timestamp()))
    objects = struct.pack("<HB", MIBEACON_LOCK_EVENT, len(body)) + body
    control = MIBEACON_V5_ENCRYPTED_OBJECTS | (MIBEACON_MAC_INCLUDED if include_mac else 0)
    header = struct.pack("<HHB", control, product_id, counter & 0xFF)
    if include_mac:
        header += mac_bytes(mac)[::-1]
    extended = struct.pack("<I", counter >> 8)[:3]
    nonce = mac_bytes(mac)[::-1] + header[2:5] + extended
    sealed = AESCCM(bind_key, tag_length=4).encrypt(nonce, objects, b"\x11")
    return header + sealed[:-4] + extended + sealed[-4:]


def bthome_lock_frame(packet_id: int, unlocked: bool, key_text: str = "") -> bytes:
    """Service data (UUID 0xFCD2) of an unencrypted BTHome v2 lock advert."""
    frame = bytes([0x44, 0x00, packet_id & 0xFF, 0x1F, int(unlocked)])
    if key_text:
        text = key_text.encode("utf-8")
        frame += bytes([0x53, len(text)]) + text
    return frame


def log_record(seq: int, action: LockAction) -> bytes:
    """One notification of the event-log characteristic."""
    return LOG_RECORD.pack(
        1,
        LOG_EVENTS[action.event],
        LOG_METHODS[action.method],
        0,
        seq,
        int(action.ts.timestamp()),
        action.key_id,
    )


def ad_structure(ad_type: int, value: bytes) -> bytes:
    return bytes([len(value) + 1, ad_type]) + value


def advertising_data(*structures: bytes) -> bytes:
    """Legacy advertising data: the flags and ``structures``; refuses what no radio would send."""
    data = ad_structure(AD_FLAGS, bytes([FLAGS_LE_GENERAL_NO_BREDR])) + b"".join(structures)
    if len(data) > LEGACY_ADVERTISING_MAX:
        raise OversizedAdvertError(
            f"advertising data of {len(data)} bytes is over the {LEGACY_ADVERTISING_MAX}-byte"
            " legacy limit; a real controller would drop it (shorten the frame, e.g. leave the"
            " MAC out of a MiBeacon frame)"
        )
    return data


def service_data_16(uuid16: int, payload: bytes) -> bytes:
    return ad_structure(AD_SERVICE_DATA_16, struct.pack("<H", uuid16) + payload)

"""MiBeacon lock adverts (Xiaomi, Aqara and their OEMs): service data in, lock events out.

A MiBeacon v4/v5 frame (service data of UUID 0xFE95), all integers little endian::

    frame control u16 | product id u16 | packet counter u8 | [MAC, reversed, 6] |
    [capability u8 [, I/O u8]] | objects (AES-CCM encrypted) | extended counter u24 | MIC 4

The objects are encrypted with AES-CCM under the lock's 16-byte bind key, with the nonce
``MAC reversed | product id | packet counter | extended counter`` and the one-byte associated
data ``0x11``; the 4-byte MIC authenticates them, so a wrong bind key is detected, never
misread. Each object is ``type u16 | length u8 | data``. Two of them concern the door:

- ``0x000B`` lock event (9 bytes): ``action (low nibble) | method (high nibble)``, key id u32,
  Unix time u32;
- ``0x0006`` fingerprint attempt (5 bytes): key id u32, match result u8 (0 = matched).

Why our own decoder and not xiaomi-ble's ``XiaomiBluetoothDeviceData``: that class imports
bleak and aiohttp at module level (the core must stay pure), keeps per-device entity state for
Home Assistant, renders the key id as display text ("Fingerprint key id 3"), drops the event's
own timestamp and does not expose the packet counter we deduplicate on. It remains the
reference: the tests decode the simulator's adverts with both and compare. The gateway uses
its product table to name the lock model.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from gateway.core.lock_adverts import FAILED, LOCK, UNLOCK, Decoded, DecodedLockEvent, Refused

_ENCRYPTED, _MAC_INCLUDED, _CAPABILITY, _OBJECTS, _MESH = 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7
_ASSOCIATED_DATA = b"\x11"
LOCK_EVENT, FINGERPRINT_ATTEMPT = 0x000B, 0x0006

# Action nibble of a 0x000B object -> our event. Opening from inside says nothing about who came
# home, so it is left out, like the child-lock and anti-lock switches.
ACTIONS = {0b0000: UNLOCK, 0b0001: LOCK, 0b0101: LOCK, 0b1000: LOCK}
METHODS = {
    0b0000: "bluetooth",
    0b0001: "pin",
    0b0010: "fingerprint",
    0b0011: "key",
    0b0100: "turntable",
    0b0101: "card",
    0b0110: "one_time_pin",
    0b0111: "two_step",
    0b1000: "coercion",
    0b1001: "homekit",
    0b1010: "manual",
    0b1011: "automatic",
}
# Key ids that are not a credential but an alarm; these say someone failed to get in.
FAILED_ALARMS = {
    0xC0DE0000: "pin",
    0xC0DE0001: "fingerprint",
    0xC0DE0005: "key",
    0xC0DE0008: "card",
    0xC0DE000A: "unknown",
    0xC0DE000B: "face",
    0xC0DE000C: "finger_vein",
    0xC0DE000F: "palm_print",
}
NO_CREDENTIAL = {0xFFFFFFFF, 0xDEADBEEF}  # "unknown operator", "invalid operator"


def decode_mibeacon(service_data: bytes, mac: str, bind_key: bytes) -> Decoded | Refused:
    """Lock events in one MiBeacon frame heard from ``mac`` (``AA:BB:CC:DD:EE:FF``)."""
    if len(service_data) < 5:
        return Refused(mac, f"MiBeacon frame of {len(service_data)} bytes is too short")
    control = int.from_bytes(service_data[0:2], "little")
    version = control >> 12
    if control & _MESH or version < 4:
        return Refused(mac, f"MiBeacon v{version}{' mesh' if control & _MESH else ''} frame")
    product_id = int.from_bytes(service_data[2:4], "little")
    counter = service_data[4]
    pos = 5
    mac_bytes = bytes.fromhex(mac.replace(":", ""))
    if control & _MAC_INCLUDED:
        if service_data[5:11][::-1] != mac_bytes:
            return Refused(mac, "the MAC inside the frame is another device's")
        pos = 11
    if control & _CAPABILITY:
        if len(service_data) <= pos:
            return Refused(mac, "MiBeacon frame truncated in its capability byte")
        pos += 2 if service_data[pos] & 0x20 else 1
    if not control & _OBJECTS:
        return Decoded(mac, (), product_id)
    if not control & _ENCRYPTED:
        return Refused(mac, "unencrypted MiBeacon objects; a lock always encrypts its events")
    if len(service_data) < pos + 3 + 7:
        return Refused(mac, "encrypted MiBeacon frame too short for its counter and MIC")
    nonce = mac_bytes[::-1] + service_data[2:5] + service_data[-7:-4]
    sealed = service_data[pos:-7] + service_data[-4:]
    try:
        objects = AESCCM(bind_key, tag_length=4).decrypt(nonce, sealed, _ASSOCIATED_DATA)
    except InvalidTag:
        return Refused(mac, "MiBeacon MIC check failed: the configured bind key is not this lock's")
    return _objects_to_events(objects, mac, counter, product_id)


def _objects_to_events(
    objects: bytes, mac: str, counter: int, product_id: int
) -> Decoded | Refused:
    events: list[DecodedLockEvent] = []
    pos = 0
    while pos < len(objects):
        if pos + 3 > len(objects):
            return Refused(mac, f"MiBeacon object header truncated at byte {pos}")
        kind = int.from_bytes(objects[pos : pos + 2], "little")
        end = pos + 3 + objects[pos + 2]
        if end > len(objects):
            return Refused(mac, f"MiBeacon object 0x{kind:04x} longer than its frame")
        body = objects[pos + 3 : end]
        event = None
        if kind == LOCK_EVENT and len(body) == 9:
            event = _lock_event(body, mac, counter)
        elif kind == FINGERPRINT_ATTEMPT and len(body) == 5 and body[4] != 0:
            key_id = int.from_bytes(body[0:4], "little")
            event = DecodedLockEvent(mac, counter, FAILED, "fingerprint", _key(key_id), None)
        if event is not None:
            events.append(event)
        pos = end
    return Decoded(mac, tuple(events), product_id)


def _lock_event(body: bytes, mac: str, counter: int) -> DecodedLockEvent | None:
    action, method_code = body[0] & 0x0F, body[0] >> 4
    key_id = int.from_bytes(body[1:5], "little")
    seconds = int.from_bytes(body[5:9], "little")
    when = datetime.fromtimestamp(seconds, UTC) if seconds else None
    if key_id in FAILED_ALARMS:
        return DecodedLockEvent(mac, counter, FAILED, FAILED_ALARMS[key_id], "", when)
    if action not in ACTIONS:
        return None
    method = METHODS.get(method_code, "unknown")
    credential = "" if method == "key" or key_id in NO_CREDENTIAL else _key(key_id)
    return DecodedLockEvent(mac, counter, ACTIONS[action], method, credential, when)


def _key(key_id: int) -> str:
    """The key id as the lock numbers it: the high half names the kind (fingerprint, PIN, ...)."""
    return f"{key_id:08x}"

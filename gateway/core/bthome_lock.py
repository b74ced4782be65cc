"""BTHome v2 lock adverts: service data in, lock events out.

A BTHome v2 advert (service data of UUID 0xFCD2) is one device-information byte (bit 0:
encrypted, bit 2: sent on a trigger, bits 5-7: version, 2) and a list of objects, each an id
byte and a value whose length the id fixes (text and raw carry a length byte). A lock uses:

- ``0x00`` packet id (u8): the device changes it whenever its data changes;
- ``0x1F`` lock (u8): 0 = locked, 1 = unlocked;
- ``0x53`` text (length-prefixed UTF-8), *our convention* for the credential key id, since
  BTHome has no lock-event object; a lock without it reports a mechanical-key-like event.

Each new packet id is one event, in the state the advert reports; repeats of the same packet
id are filtered by :class:`gateway.core.lock_adverts.RepeatFilter`. BTHome has no failed
attempts and no event time (the gateway stamps the time of reception).

Why our own decoder and not bthome-ble's ``BTHomeBluetoothDeviceData``: it needs Home
Assistant's ``habluetooth`` service-info objects (the core must stay pure), filters packet ids
with the wall clock, and reports the lock as a binary-sensor state with no event. The tests
check this decoder against it on the simulator's adverts. Encrypted BTHome is refused for now.
"""

from __future__ import annotations

from gateway.core.lock_adverts import LOCK, UNLOCK, Decoded, DecodedLockEvent, Refused

PACKET_ID, LOCK_STATE, TEXT, RAW = 0x00, 0x1F, 0x53, 0x54
_ENCRYPTED, _VERSION_SHIFT = 0x01, 5
# Value lengths of the objects a lock may send beside its state (BTHome v2 object table).
OBJECT_LENGTHS = {
    0x00: 1,  # packet id
    0x01: 1,  # battery %
    0x02: 2,  # temperature
    0x0C: 2,  # voltage
    0x10: 1,  # power (binary)
    0x11: 1,  # opening (binary)
    0x15: 1,  # battery low (binary)
    0x1A: 1,  # door (binary)
    0x1F: 1,  # lock (binary)
    0x2D: 1,  # window (binary)
    0x3A: 1,  # button event
}


def decode_bthome(service_data: bytes, mac: str) -> Decoded | Refused:
    """The lock event in one BTHome v2 advert heard from ``mac``, if it reports the lock."""
    if not service_data:
        return Refused(mac, "empty BTHome advert")
    info = service_data[0]
    if info >> _VERSION_SHIFT != 2:
        return Refused(mac, f"BTHome version {info >> _VERSION_SHIFT}; only v2 is read")
    if info & _ENCRYPTED:
        return Refused(mac, "encrypted BTHome adverts are not supported yet")
    values: dict[int, bytes] = {}
    pos = 1
    while pos < len(service_data):
        object_id = service_data[pos]
        pos += 1
        if object_id in (TEXT, RAW):
            if pos >= len(service_data):
                return Refused(mac, f"BTHome object 0x{object_id:02x} has no length")
            length = service_data[pos]
            pos += 1
        elif object_id in OBJECT_LENGTHS:
            length = OBJECT_LENGTHS[object_id]
        else:
            return Refused(mac, f"BTHome object 0x{object_id:02x} is unknown to this decoder")
        if pos + length > len(service_data):
            return Refused(mac, f"BTHome object 0x{object_id:02x} is truncated")
        values.setdefault(object_id, service_data[pos : pos + length])
        pos += length
    if LOCK_STATE not in values:
        return Decoded(mac, ())
    if PACKET_ID not in values:
        return Refused(mac, "BTHome lock advert without a packet id cannot be deduplicated")
    try:
        key_id = values.get(TEXT, b"").decode("utf-8")
    except UnicodeDecodeError:
        return Refused(mac, "BTHome text object is not UTF-8")
    event = UNLOCK if values[LOCK_STATE][0] else LOCK
    method = "unknown" if key_id else "key"
    return Decoded(mac, (DecodedLockEvent(mac, values[PACKET_ID][0], event, method, key_id, None),))

"""Our GATT event-log profile for locks that push their log over a connection (docs/ble-locks.md).

The lock serves one service with two characteristics:

- *event log* (notify): one notification per record, 16 bytes, little endian::

      version u8 (1) | event u8 | method u8 | flags u8 (0) | sequence u32 | time u32 | key id u32

  ``event``: 0 unlock, 1 lock, 2 failed. ``method``: see :data:`METHODS`. ``time``: Unix
  seconds (UTC) of the event on the lock's clock. ``key id``: the credential slot, 0 for none
  (mechanical key). ``sequence`` counts the lock's records from 1 and never repeats.
- *resume from* (write): the gateway writes the last sequence number it stored (u32, 0 for
  none); the lock then notifies every record after it, oldest first, and then each new one.

A record fits one notification at the default ATT MTU (20 bytes of payload).
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime

from gateway.core.lock_adverts import FAILED, LOCK, UNLOCK, DecodedLockEvent, Refused

SERVICE_UUID = "8e0c0000-4f5b-4b8e-a1d3-6c7b2f0e9a41"
EVENT_LOG_UUID = "8e0c0001-4f5b-4b8e-a1d3-6c7b2f0e9a41"
RESUME_FROM_UUID = "8e0c0002-4f5b-4b8e-a1d3-6c7b2f0e9a41"

RECORD = struct.Struct("<BBBBIII")
RECORD_VERSION = 1
EVENTS = {0: UNLOCK, 1: LOCK, 2: FAILED}
METHODS = {0: "unknown", 1: "fingerprint", 2: "pin", 3: "card", 4: "key", 5: "bluetooth", 6: "face"}


def decode_log_record(value: bytes, mac: str) -> DecodedLockEvent | Refused:
    """One event-log notification from the lock at ``mac``."""
    if len(value) != RECORD.size:
        return Refused(mac, f"event-log record of {len(value)} bytes, expected {RECORD.size}")
    version, event, method, _flags, seq, seconds, key_id = RECORD.unpack(value)
    if version != RECORD_VERSION:
        return Refused(mac, f"event-log record version {version}, expected {RECORD_VERSION}")
    if event not in EVENTS:
        return Refused(mac, f"event-log record {seq}: unknown event code {event}")
    method_name = METHODS.get(method, "unknown")
    credential = "" if key_id == 0 or method_name == "key" else f"{key_id:08x}"
    when = datetime.fromtimestamp(seconds, UTC)
    return DecodedLockEvent(mac, seq, EVENTS[event], method_name, credential, when)


def resume_from_value(last_seq: int) -> bytes:
    """What the gateway writes to *resume from* after storing up to ``last_seq``."""
    return struct.pack("<I", last_seq)

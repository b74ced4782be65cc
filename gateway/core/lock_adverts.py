"""Smart-lock radio messages in, lock events out: the records and the duplicate filter.

A lock tells the gateway about a door event in one of three ways (see docs/ble-locks.md):

- a MiBeacon advert (Xiaomi and Aqara locks), encrypted with the lock's bind key:
  :mod:`gateway.core.mibeacon`;
- a BTHome v2 advert (DIY and open-firmware locks): :mod:`gateway.core.bthome_lock`;
- a record of our own event-log GATT profile, pushed over a connection:
  :mod:`gateway.core.lock_log_record`.

Every decoder is a pure function from bytes to :class:`DecodedLockEvent` records or a
:class:`Refused` reason. A lock repeats the advert of one event many times (a receiver may miss
some), so :class:`RepeatFilter` lets each event through once, keyed by the device's own packet
counter. The key id in a decoded event is the lock's raw credential id: the shell pseudonymises
it before anything is stored or sent (``gateway.ble.credentials``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

UNLOCK, LOCK, FAILED = "unlock", "lock", "failed"

MIBEACON_SERVICE_UUID = "0000fe95-0000-1000-8000-00805f9b34fb"
BTHOME_SERVICE_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"

LOCK_KINDS = ("mibeacon", "bthome", "gatt")
ADVERT_SERVICE_UUIDS = {"mibeacon": MIBEACON_SERVICE_UUID, "bthome": BTHOME_SERVICE_UUID}


@dataclass(frozen=True, slots=True)
class DecodedLockEvent:
    """One door event as the lock reported it. ``key_id`` is raw: pseudonymise before storing."""

    mac: str  # upper case, colon separated
    seq: int  # the lock's packet counter (adverts) or log sequence number (GATT)
    event: str  # unlock, lock or failed
    method: str  # fingerprint, pin, card, key, bluetooth, ... or unknown
    key_id: str  # the credential slot as the lock names it; "" for none (mechanical key)
    device_ts: datetime | None  # the lock's own time of the event, when it sends one

    def repeat_key(self) -> tuple[object, ...]:
        return (self.seq, self.event, self.key_id, self.device_ts)


@dataclass(frozen=True, slots=True)
class Refused:
    """A message that was not decoded, and why (a wrong bind key, a truncated frame, ...)."""

    mac: str
    reason: str


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one message said: zero or more events (a status advert carries none)."""

    mac: str
    events: tuple[DecodedLockEvent, ...]
    product_id: int | None = None  # the vendor's product number, when the frame has one


def normalise_mac(mac: str) -> str:
    """``aa-bb-cc-dd-ee-ff`` or ``aabbccddeeff`` as ``AA:BB:CC:DD:EE:FF`` (ValueError if no MAC)."""
    digits = mac.replace(":", "").replace("-", "").upper()
    if len(digits) != 12 or any(c not in "0123456789ABCDEF" for c in digits):
        raise ValueError(f"{mac!r} is not a MAC address like AA:BB:CC:DD:EE:FF")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


class RepeatFilter:
    """Lets each event of each lock through once, however often its advert is repeated.

    Adverts carry an 8-bit packet counter that wraps, so only the last ``memory`` distinct
    events per lock are remembered; a lock would have to report that many new events between
    two repeats of an old one to fool it. GATT log records are filtered the same way (their
    sequence numbers do not wrap, and the store refuses a repeated one as well).
    """

    def __init__(self, memory: int = 32) -> None:
        self._memory = memory
        self._seen: dict[str, deque[tuple[object, ...]]] = {}

    def first_time(self, event: DecodedLockEvent) -> bool:
        seen = self._seen.setdefault(event.mac, deque(maxlen=self._memory))
        key = event.repeat_key()
        if key in seen:
            return False
        seen.append(key)
        return True

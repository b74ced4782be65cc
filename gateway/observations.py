"""What the adapters observe, as typed values: the only thing they hand to the rest of the gateway.

The Modbus pollers produce :class:`MeterSample` (a meter's cumulative total) and
:class:`ElevatorSample` (a lift's cumulative stops at one floor); the lock listener produces
:class:`StoredLockEvent` (a door event with a pseudonymised credential). The store keeps them,
the trace recorder writes them, the day closer reads them back. Adapters import this module,
never the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MeterSample:
    """A meter's cumulative total as polled."""

    unit_id: str
    kind: str
    ts: datetime
    total: float


@dataclass(frozen=True, slots=True)
class ElevatorSample:
    """A lift's cumulative stop counter at one floor, as polled."""

    elevator_id: str
    floor: int
    ts: datetime
    stops_total: float


@dataclass(frozen=True, slots=True)
class StoredLockEvent:
    """A door event as kept: ``credential`` is a pseudonym (``gateway.ble.credentials``)."""

    unit_id: str
    lock_mac: str
    source: str  # mibeacon, bthome or gatt
    seq: int  # the lock's packet counter or event-log sequence
    ts: datetime
    event: str  # unlock, lock or failed
    method: str
    credential: str


Sample = MeterSample | ElevatorSample

"""The seam between the lock listener and a Bluetooth stack: adverts in, GATT links out.

Two implementations sit behind it, chosen in :func:`gateway.ble.factory.open_transport`:
``bleak`` (BlueZ over D-Bus, the Pi's own controller) and ``bumble`` (a user-space stack on a
USB dongle, a serial HCI, or in the tests an emulated controller). The listener sees only
this module's types, so it runs unchanged on either, and tests need no mock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol


class BleError(Exception):
    """A Bluetooth operation failed (no adapter, connection lost, GATT error, timeout)."""

    def __init__(self, mac: str, operation: str, reason: str) -> None:
        super().__init__(f"{mac or 'adapter'}: {operation}: {reason}")
        self.mac = mac
        self.operation = operation
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Advert:
    """One advertising report, as the listener needs it."""

    mac: str  # upper case, colon separated
    service_data: Mapping[str, bytes]  # by 128-bit UUID, lower case
    service_uuids: tuple[str, ...] = ()
    rssi: int | None = None


class GattLink(Protocol):
    """An open connection to one lock."""

    async def subscribe(self, characteristic: str, on_value: Callable[[bytes], None]) -> None:
        """Call ``on_value`` with each notification of ``characteristic`` (a 128-bit UUID)."""
        ...

    async def write(self, characteristic: str, value: bytes) -> None:
        """Write ``value`` with a response."""
        ...

    async def wait_disconnected(self) -> None:
        """Return once the link is gone (the lock hung up or went out of range)."""
        ...

    async def disconnect(self) -> None: ...


class BleTransport(Protocol):
    """A Bluetooth stack, started and stopped by its owner."""

    def adverts(self) -> AsyncIterator[Advert]:
        """Every advertising report heard, until the caller stops iterating."""
        ...

    async def connect(self, mac: str, timeout_s: float) -> GattLink:
        """Connect to ``mac``; :class:`BleError` when it cannot be reached in time."""
        ...


def uuid128(uuid: str) -> str:
    """A 16-bit UUID (``fe95``) or a 128-bit one in any case, as a lower-case 128-bit UUID."""
    text = uuid.lower()
    if len(text) == 4:
        return f"0000{text}-0000-1000-8000-00805f9b34fb"
    return text

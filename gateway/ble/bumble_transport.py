"""The transport seam on bumble, Google's user-space Bluetooth stack.

bumble drives a controller directly over HCI: a USB dongle (``usb:0``), a serial HCI UART, a
``tcp-client:`` hub, or in the tests an emulated controller on an in-process link. It needs no
BlueZ, so it also runs where the kernel has no Bluetooth at all. Scanning is passive (locks put
everything in their advertising data) and keeps every duplicate report: the listener filters
repeats itself by the lock's packet counter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from bumble.core import UUID, AdvertisingData, BaseBumbleError
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy
from bumble.hci import Address
from bumble.transport import open_transport

from gateway.ble.transport import Advert, BleError, GattLink

log = logging.getLogger(__name__)

ADVERT_QUEUE = 1024  # reports held while the listener is busy; older ones are dropped first


def uuid_text(uuid: UUID) -> str:
    """A bumble UUID as a lower-case 128-bit UUID string."""
    raw = uuid.to_bytes(force_128=True)[::-1].hex()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def advert_from_bumble(report: Advertisement) -> Advert:
    data, kind = report.data, AdvertisingData.Type
    entries = [
        *data.get_all(kind.SERVICE_DATA_16_BIT_UUID),
        *data.get_all(kind.SERVICE_DATA_32_BIT_UUID),
        *data.get_all(kind.SERVICE_DATA_128_BIT_UUID),
    ]
    service_data = {uuid_text(uuid): bytes(payload) for uuid, payload in entries}
    listed = [
        *data.get_all(kind.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS),
        *data.get_all(kind.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS),
        *data.get_all(kind.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS),
        *data.get_all(kind.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS),
    ]
    uuids = [uuid_text(u) for group in listed for u in group]
    mac = report.address.to_string(with_type_qualifier=False).upper()
    return Advert(mac, service_data, tuple(dict.fromkeys(uuids)), report.rssi)


class BumbleGattLink:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._peer = Peer(connection)
        self._gone = asyncio.Event()
        connection.on(connection.EVENT_DISCONNECTION, lambda _reason: self._gone.set())
        self._mac = connection.peer_address.to_string(with_type_qualifier=False)
        self._discovered = False

    async def _characteristic(self, uuid: str) -> CharacteristicProxy[bytes]:
        try:
            if not self._discovered:
                await self._peer.discover_services()
                for service in self._peer.services:
                    await service.discover_characteristics()
                self._discovered = True
            found = self._peer.get_characteristics_by_uuid(UUID(uuid))
        except (BaseBumbleError, TimeoutError) as err:
            raise BleError(self._mac, f"discover {uuid}", str(err)) from err
        if not found:
            raise BleError(self._mac, f"discover {uuid}", "the lock has no such characteristic")
        return found[0]

    async def subscribe(self, characteristic: str, on_value: Callable[[bytes], None]) -> None:
        proxy = await self._characteristic(characteristic)
        try:
            await proxy.subscribe(lambda value: on_value(bytes(value)))
        except (BaseBumbleError, TimeoutError) as err:
            raise BleError(self._mac, f"subscribe {characteristic}", str(err)) from err

    async def write(self, characteristic: str, value: bytes) -> None:
        proxy = await self._characteristic(characteristic)
        try:
            await proxy.write_value(value, with_response=True)
        except (BaseBumbleError, TimeoutError) as err:
            raise BleError(self._mac, f"write {characteristic}", str(err)) from err

    async def wait_disconnected(self) -> None:
        await self._gone.wait()

    async def disconnect(self) -> None:
        if self._gone.is_set():
            return
        with contextlib.suppress(BaseBumbleError):
            await self._connection.disconnect()


class BumbleTransport:
    """The seam on one bumble ``Device`` acting as a central."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self._addresses: dict[str, Address] = {}  # the address (and type) each lock used
        # A controller makes one LE connection at a time: a second Create Connection while one
        # is pending is refused, and bumble's host then mistakes whose connection completed.
        self._connecting = asyncio.Lock()

    async def start(self) -> None:
        await self.device.power_on()

    async def adverts(self) -> AsyncIterator[Advert]:
        queue: asyncio.Queue[Advert] = asyncio.Queue(ADVERT_QUEUE)

        def on_report(report: Advertisement) -> None:
            advert = advert_from_bumble(report)
            self._addresses[advert.mac] = report.address
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(advert)

        self.device.on(self.device.EVENT_ADVERTISEMENT, on_report)
        try:
            await self.device.start_scanning(active=False, filter_duplicates=False)
            while True:
                yield await queue.get()
        except BaseBumbleError as err:
            raise BleError("", "scan", str(err)) from err
        finally:
            self.device.remove_listener(self.device.EVENT_ADVERTISEMENT, on_report)
            if self.device.is_scanning:
                with contextlib.suppress(BaseBumbleError):
                    await self.device.stop_scanning()

    async def connect(self, mac: str, timeout_s: float) -> GattLink:
        """Connect to ``mac`` within ``timeout_s``, counted from this connection's turn: event-log
        locks connecting at once are connected one after the other."""
        address = self._addresses.get(mac) or Address(mac)
        async with self._connecting:
            try:
                connection = await self.device.connect(address, timeout=timeout_s)
            except (BaseBumbleError, TimeoutError) as err:
                raise BleError(mac, "connect", str(err) or type(err).__name__) from err
        return BumbleGattLink(connection)


@contextlib.asynccontextmanager
async def bumble_transport(spec: str) -> AsyncIterator[BumbleTransport]:
    """A bumble central on the HCI transport ``spec`` (``usb:0``, ``serial:/dev/ttyACM0``, ...)."""
    try:
        hci = await open_transport(spec)
    except (BaseBumbleError, OSError, ValueError) as err:
        raise BleError("", f"open {spec}", str(err)) from err
    async with hci:
        device = Device.with_hci("gateway", Address("F0:00:00:00:00:01"), hci.source, hci.sink)
        transport = BumbleTransport(device)
        await transport.start()
        yield transport

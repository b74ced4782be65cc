"""The transport seam on bleak: the Pi's own Bluetooth controller through BlueZ (D-Bus).

Scanning is active (BlueZ's passive mode needs advertisement monitors that not every kernel
offers) with duplicates kept, since a lock re-advertises each event many times and the listener
filters repeats by the lock's packet counter. Connections go through bleak-retry-connector,
which retries the transient BlueZ failures (``le-connection-abort-by-local``, stale service
caches) that a plain ``BleakClient.connect`` reports as errors.

This path cannot run on the development machines (no Bluetooth in their kernels); see
docs/ble-locks.md for how it is tested.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from gateway.ble.transport import Advert, BleError, GattLink, uuid128

log = logging.getLogger(__name__)

ADVERT_QUEUE = 1024
CONNECT_ATTEMPTS = 3


class BleakGattLink:
    def __init__(self, mac: str) -> None:
        self._mac = mac
        self._client: BleakClient | None = None
        self.gone = asyncio.Event()

    def attach(self, client: BleakClient) -> None:
        self._client = client

    def on_disconnected(self, _client: BleakClient) -> None:
        self.gone.set()

    def _require_client(self) -> BleakClient:
        if self._client is None:
            raise BleError(self._mac, "use", "not connected")
        return self._client

    async def subscribe(self, characteristic: str, on_value: Callable[[bytes], None]) -> None:
        def deliver(_char: BleakGATTCharacteristic, value: bytearray) -> None:
            on_value(bytes(value))

        try:
            await self._require_client().start_notify(characteristic, deliver)
        except (BleakError, TimeoutError) as err:
            raise BleError(self._mac, f"subscribe {characteristic}", str(err)) from err

    async def write(self, characteristic: str, value: bytes) -> None:
        try:
            await self._require_client().write_gatt_char(characteristic, value, response=True)
        except (BleakError, TimeoutError) as err:
            raise BleError(self._mac, f"write {characteristic}", str(err)) from err

    async def wait_disconnected(self) -> None:
        await self.gone.wait()

    async def disconnect(self) -> None:
        if self._client is not None and not self.gone.is_set():
            with contextlib.suppress(BleakError, TimeoutError):
                await self._client.disconnect()


class BleakTransport:
    """The seam on bleak; ``adapter`` names the BlueZ adapter (``hci0``)."""

    def __init__(self, adapter: str = "hci0") -> None:
        self._adapter = adapter
        self._devices: dict[str, BLEDevice] = {}  # last seen, for connecting without a rescan

    async def adverts(self) -> AsyncIterator[Advert]:
        queue: asyncio.Queue[Advert] = asyncio.Queue(ADVERT_QUEUE)

        def on_report(device: BLEDevice, data: AdvertisementData) -> None:
            mac = device.address.upper()
            self._devices[mac] = device
            service_data = {uuid128(u): bytes(value) for u, value in data.service_data.items()}
            uuids = tuple(uuid128(u) for u in data.service_uuids)
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(Advert(mac, service_data, uuids, data.rssi))

        scanner = BleakScanner(on_report, bluez={"adapter": self._adapter})
        try:
            async with scanner:
                while True:
                    yield await queue.get()
        except BleakError as err:
            raise BleError("", "scan", str(err)) from err

    async def connect(self, mac: str, timeout_s: float) -> GattLink:
        link = BleakGattLink(mac)
        try:
            device = self._devices.get(mac) or await BleakScanner.find_device_by_address(
                mac, timeout=timeout_s
            )
            if device is None:
                raise BleError(mac, "connect", f"not heard within {timeout_s:g} s")
            client = await establish_connection(
                BleakClient,
                device,
                mac,
                disconnected_callback=link.on_disconnected,
                max_attempts=CONNECT_ATTEMPTS,
            )
        except (BleakError, TimeoutError) as err:
            raise BleError(mac, "connect", str(err) or type(err).__name__) from err
        link.attach(client)
        return link

"""Simulated smart locks as bumble devices: they advertise door events or push an event log.

Each lock is a bumble ``Device`` on its own emulated controller. In tests the controllers share
one in-process ``LocalLink`` with the gateway's; across processes they can sit on any bumble
transport (``tcp-client:...``, ``vhci``). Only radio and link-layer timing are simulated: the
HCI, L2CAP, ATT and GATT traffic is real.

- :class:`MiBeaconLock`: encrypted MiBeacon v5 adverts under the lock's bind key (Xiaomi);
- :class:`BthomeLock`: BTHome v2 adverts (open firmware);
- :class:`EventLogLock`: our event-log GATT profile, resumable by sequence number.

``go_silent()`` is the fault of a lock whose battery died or that was torn off the door: it
stops advertising (and drops its connection), and the gateway must notice the silence;
``come_back()`` ends it.
"""

from __future__ import annotations

import asyncio
import struct
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from bumble import gatt
from bumble.controller import Controller
from bumble.core import UUID
from bumble.device import AdvertisingType, Connection, Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from firmware_sim import FirmwareSimError
from firmware_sim.ble.lock_frames import (
    AD_COMPLETE_128_BIT_UUIDS,
    BTHOME_UUID16,
    MIBEACON_UUID16,
    LockAction,
    ad_structure,
    advertising_data,
    bthome_lock_frame,
    log_record,
    mibeacon_lock_frame,
    service_data_16,
)

ADVERTISING_INTERVAL_MS = 20.0  # fast, so tests hear each advert within milliseconds
EVENT_LOG_SERVICE = "8e0c0000-4f5b-4b8e-a1d3-6c7b2f0e9a41"
EVENT_LOG = "8e0c0001-4f5b-4b8e-a1d3-6c7b2f0e9a41"
RESUME_FROM = "8e0c0002-4f5b-4b8e-a1d3-6c7b2f0e9a41"


class LockConfigError(FirmwareSimError):
    """A simulated lock was given settings no real lock could have."""


def device_on_link(link: LocalLink, mac: str, name: str) -> Device:
    """A bumble device at ``mac`` on its own emulated controller attached to ``link``."""
    try:
        address = Address(mac)
    except ValueError as err:
        raise LockConfigError(f"{name}.mac: {mac!r} is not a Bluetooth address") from err
    controller = Controller(name, link=link, public_address=mac)
    return Device(name=name, address=address, host=Host(controller, AsyncPipeSink(controller)))


@dataclass
class _AdvertisingLock(ABC):
    device: Device
    counter: int = 0
    silent: bool = False

    @property
    def mac(self) -> str:
        return str(self.device.random_address)

    async def start(self) -> None:
        await self.device.power_on()

    async def report(self, action: LockAction) -> None:
        """Advertise ``action`` (a new packet counter) until the next one replaces it."""
        self.counter += 1
        data = advertising_data(self._service_data(action))  # refuses > 31 bytes
        if self.device.is_advertising:
            await self.device.stop_advertising()
        if self.silent:
            return
        await self.device.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED,
            advertising_data=data,
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
        )

    async def go_silent(self) -> None:
        self.silent = True
        if self.device.is_advertising:
            await self.device.stop_advertising()

    async def come_back(self) -> None:
        """End the silence; the next event is advertised again."""
        self.silent = False

    @abstractmethod
    def _service_data(self, action: LockAction) -> bytes:
        """The advert's service data for ``action``: each lock format writes its own."""


@dataclass
class MiBeaconLock(_AdvertisingLock):
    bind_key: bytes = b""
    product_id: int = 0x0E39  # XMZNMS08LM, a Xiaomi smart door lock
    include_mac: bool = False  # the MAC in the frame makes it 37 bytes: over the limit

    def __post_init__(self) -> None:
        if len(self.bind_key) != 16:
            raise LockConfigError(f"bind_key: {len(self.bind_key)} bytes, a bind key has 16")

    def _service_data(self, action: LockAction) -> bytes:
        frame = mibeacon_lock_frame(
            self.mac, self.product_id, self.counter, self.bind_key, action, self.include_mac
        )
        return service_data_16(MIBEACON_UUID16, frame)


@dataclass
class BthomeLock(_AdvertisingLock):
    def _service_data(self, action: LockAction) -> bytes:
        if action.event not in ("lock", "unlock"):
            raise LockConfigError(f"a BTHome lock cannot report {action.event!r}")
        key_text = f"{action.key_id:08x}" if action.key_id else ""
        frame = bthome_lock_frame(self.counter, action.event == "unlock", key_text)
        return service_data_16(BTHOME_UUID16, frame)


@dataclass
class EventLogLock:
    """A lock serving the event-log profile: it keeps its whole log and resumes on request."""

    device: Device
    records: list[bytes] = field(default_factory=list)
    silent: bool = False
    advertising_interval_ms: float = ADVERTISING_INTERVAL_MS
    _streaming_from: int | None = None  # the sequence a connected gateway asked to resume from
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        properties = gatt.Characteristic.Properties
        self._log = gatt.Characteristic[bytes](
            UUID(EVENT_LOG), properties.NOTIFY, gatt.Characteristic.Permissions(0), b""
        )
        resume = gatt.Characteristic[bytes](
            UUID(RESUME_FROM),
            properties.WRITE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_resume_from),
        )
        self.device.add_service(gatt.Service(UUID(EVENT_LOG_SERVICE), [self._log, resume]))
        self.device.on(self.device.EVENT_CONNECTION, self._on_connection)

    async def start(self) -> None:
        await self.device.power_on()
        await self._advertise()

    async def report(self, action: LockAction) -> None:
        """Append ``action`` to the log; push it if a gateway is streaming."""
        self.records.append(log_record(len(self.records) + 1, action))
        if self._streaming_from is not None:
            await self.device.notify_subscribers(self._log, self.records[-1])

    async def go_silent(self) -> None:
        self.silent = True
        self._streaming_from = None
        if self.device.is_advertising:
            await self.device.stop_advertising()
        for connection in list(self.device.connections.values()):
            await connection.disconnect()

    async def come_back(self) -> None:
        """End the silence: advertise (and accept a connection) again."""
        self.silent = False
        await self._advertise()

    async def _advertise(self) -> None:
        if self.silent:
            return
        uuid = UUID(EVENT_LOG_SERVICE).to_bytes(force_128=True)
        await self.device.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE,
            advertising_data=advertising_data(ad_structure(AD_COMPLETE_128_BIT_UUIDS, uuid)),
            advertising_interval_min=self.advertising_interval_ms,
            advertising_interval_max=self.advertising_interval_ms,
        )

    def _on_connection(self, connection: Connection) -> None:
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, _reason: int) -> None:
        self._streaming_from = None
        if not self.silent:  # connectable again (bumble's auto_restart would ignore silence)
            task = asyncio.get_running_loop().create_task(self._advertise(), name="readvertise")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _on_resume_from(self, connection: Connection, value: bytes) -> None:
        if len(value) != 4:
            raise LockConfigError(f"resume-from write of {len(value)} bytes, expected 4")
        (last_seq,) = struct.unpack("<I", value)
        self._streaming_from = last_seq
        for record in self.records[last_seq:]:
            await self.device.notify_subscriber(connection, self._log, record)

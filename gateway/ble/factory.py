"""Chooses the Bluetooth stack named in ``[ble]``: the one place that knows both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway.ble.bleak_transport import BleakTransport
from gateway.ble.bumble_transport import bumble_transport
from gateway.ble.transport import BleTransport
from gateway.config.devices import BleSection


@asynccontextmanager
async def open_ble_transport(section: BleSection) -> AsyncIterator[BleTransport]:
    if section.transport == "bumble":
        async with bumble_transport(section.bumble_transport) as transport:
            yield transport
    else:
        yield BleakTransport(section.adapter)

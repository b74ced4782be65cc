"""Modbus RTU end to end: the gateway's poller on one end of a socat pseudo-terminal pair, a real
pymodbus RTU server on the other, as an RS485 adapter and a meter line would be."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pymodbus import FramerType
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusSerialServer

from gateway.config.gateway_file import GatewayConfig, load_gateway_config
from gateway.modbus.bus_poller import build_pollers
from simclock import SimClock

pytestmark = pytest.mark.timeout(60)


def float32_words(value: float) -> list[int]:
    raw = int.from_bytes(struct.pack(">f", value), "big")
    return [raw >> 16, raw & 0xFFFF]


@pytest.fixture
async def rtu_meters(pty_pair: tuple[str, str]) -> AsyncIterator[str]:
    """Device 11: an SDM120 at 1234.5 kWh; device 12: a water meter at 123.456 m3. Device 13 is
    configured on the gateway but absent from the line: it never answers."""
    energy = [0] * 0x0156 + float32_words(1234.5)
    devices = {
        11: ModbusDeviceContext(ir=ModbusSequentialDataBlock(1, energy)),
        12: ModbusDeviceContext(hr=ModbusSequentialDataBlock(1, [0x0001, 0xE240, 0, 0])),
    }
    server = ModbusSerialServer(
        ModbusServerContext(devices=devices, single=False),
        framer=FramerType.RTU,
        port=pty_pair[1],
        baudrate=9600,
        ignore_missing_devices=True,  # like a real line: an absent meter is silent
    )
    await server.serve_forever(background=True)
    try:
        yield pty_pair[0]
    finally:
        await server.shutdown()


def rtu_config(tmp_path: Path, port: str) -> GatewayConfig:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"""
[gateway]
id = "gw-rtu"
key_file = "k.pem"

[[modbus_rtu]]
name = "line-1"
port = "{port}"
baudrate = 9600
timeout_s = 0.3
retries = 0

[[units]]
unit_id = "0101"
floor = 1
area_m2 = 44
rooms = 1
  [[units.meters]]
  kind = "electricity_kwh"
  bus = "line-1"
  device_id = 11
  profile = "eastron_sdm120"
  [[units.meters]]
  kind = "water_m3"
  bus = "line-1"
  device_id = 12
  profile = "generic_water_u32"

[[units]]
unit_id = "0102"
floor = 1
area_m2 = 60
rooms = 2
  [[units.meters]]
  kind = "water_m3"
  bus = "line-1"
  device_id = 13
  profile = "generic_water_u32"
""",
        encoding="utf-8",
    )
    return load_gateway_config(path)


async def test_rtu_line_is_read_and_a_silent_meter_costs_only_its_timeout(
    tmp_path: Path, rtu_meters: str
) -> None:
    (poller,) = build_pollers(rtu_config(tmp_path, rtu_meters), SimClock.real())
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        samples = await poller.poll_once()
        took = loop.time() - started
        again = await poller.poll_once()
    finally:
        await poller.close()
    got = {(s.unit_id, s.kind): s.total for s in samples}
    assert got == {
        ("0101", "electricity_kwh"): 1234.5,
        ("0101", "water_m3"): pytest.approx(123.456),
    }
    # The silent meter cost one time-out (0.3 s) and its watchdog, not a stalled line.
    assert took < 3.0
    assert {(s.unit_id, s.kind) for s in again} == set(got)

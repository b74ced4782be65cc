"""The real pymodbus server, in-process on a free port, read by a real pymodbus client: every
device id of the building answers with its household's readings at the simulated time."""

from __future__ import annotations

import asyncio
import itertools
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes

from firmware_sim.building_config import BuildingConfig, load_building_config
from firmware_sim.households import HouseholdModel
from firmware_sim.modbus_server import BuildingServer, ModbusServerError
from gateway.core.registers import RegisterFunction, decode_blocks, plan_reads
from gateway.modbus.device_profiles import load_profiles
from simclock import SimClock
from tests.stepped_clock import SteppedClock

pytestmark = pytest.mark.timeout(20)

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo" / "building.toml"
START = datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=8)))


@dataclass
class Running:
    server: BuildingServer
    clock: SteppedClock
    client: AsyncModbusTcpClient
    config: BuildingConfig

    def household(self, unit_id: str) -> HouseholdModel:
        unit = next(u for u in self.config.units if u.unit_id == unit_id)
        return HouseholdModel(unit, START, seed=1, utc_offset=timedelta(hours=8))


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    config = load_building_config(DEMO)
    clock = SteppedClock(START)
    server = BuildingServer(config, clock, seed=1, host="127.0.0.1", port=0)
    await server.start()
    client = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=2, retries=0)
    try:
        assert await client.connect()
        yield Running(server, clock, client, config)
    finally:
        client.close()
        await server.stop()


def as_float32(words: list[int]) -> float:
    return float(struct.unpack(">f", struct.pack(">HH", *words))[0])


def as_uint32(words: list[int]) -> int:
    return (words[0] << 16) | words[1]


def float32(value: float) -> float:
    return float(struct.unpack(">f", struct.pack(">f", value))[0])


async def energy(client: AsyncModbusTcpClient, device_id: int) -> float:
    response = await client.read_input_registers(0x0156, count=2, device_id=device_id)
    assert not response.isError(), response
    return as_float32(response.registers)


async def litres(client: AsyncModbusTcpClient, device_id: int) -> int:
    response = await client.read_holding_registers(0x0000, count=2, device_id=device_id)
    assert not response.isError(), response
    return as_uint32(response.registers)


@pytest.mark.parametrize(
    ("unit_id", "electricity_id", "water_id"), [("0101", 11, 12), ("0302", 81, 82)]
)
async def test_two_meters_read_the_household_model_as_the_clock_advances(
    running: Running, unit_id: str, electricity_id: int, water_id: int
) -> None:
    household = running.household(unit_id)
    client = running.client
    readings = []
    for hours in (0, 6, 24, 48):
        running.clock.moment = START + timedelta(hours=hours)
        kwh, water = await energy(client, electricity_id), await litres(client, water_id)
        at = running.clock.moment
        assert kwh == float32(household.total_at("electricity_kwh", at))
        assert water == int(household.total_at("water_m3", at) * 1000)
        readings.append((kwh, water))
    assert readings[0] == (
        float32(household.unit.meters[0].initial_total),
        round(household.unit.meters[1].initial_total * 1000),
    )
    for earlier, later in itertools.pairwise(readings):
        assert later[0] > earlier[0] and later[1] > earlier[1]


async def test_the_group_rental_shows_in_the_second_days_water(running: Running) -> None:
    used = []
    for day in (0, 1, 2):
        running.clock.moment = START + timedelta(days=day)
        used.append(await litres(running.client, 82))
    first_day, second_day = used[1] - used[0], used[2] - used[1]
    assert 2 * 105 <= first_day <= 2 * 137  # two people, 110-130 L each, +-5 % a day
    assert 9 * 105 <= second_day <= 9 * 137  # nine people


async def test_the_gateway_reads_and_decodes_every_meter(running: Running) -> None:
    """The gateway's own read plan and decoder, against every device of the demo building."""
    profiles = load_profiles()
    running.clock.moment = START + timedelta(days=1, hours=19, minutes=40)
    for unit in running.config.units:
        household = running.household(unit.unit_id)
        for meter in unit.meters:
            results = []
            for block in plan_reads(profiles[meter.device], [meter.kind]):
                read = (
                    running.client.read_input_registers
                    if block.function is RegisterFunction.INPUT
                    else running.client.read_holding_registers
                )
                response = await read(block.address, count=block.count, device_id=meter.device_id)
                assert not response.isError(), (meter, response)
                results.append((block, response.registers))
            value = decode_blocks(results)[meter.kind]
            expected = household.total_at(meter.kind, running.clock.moment)
            assert value == pytest.approx(expected, abs=0.001), (unit.unit_id, meter.kind)


async def test_live_values_voltage_power_and_flow(running: Running) -> None:
    running.clock.moment = START + timedelta(hours=20, minutes=30)  # evening peak
    household = running.household("0201")
    response = await running.client.read_input_registers(0x0000, count=14, device_id=41)
    volts, amps, watts = (as_float32(response.registers[a : a + 2]) for a in (0, 6, 12))
    assert 227.5 <= volts <= 232.5
    expected_w = household.rate_per_hour("electricity_kwh", running.clock.moment) * 1000
    assert watts == pytest.approx(expected_w, rel=1e-6)
    assert amps == pytest.approx(watts / volts, rel=1e-6)
    flow = await running.client.read_holding_registers(0x0002, count=2, device_id=42)
    assert as_uint32(flow.registers) == round(
        household.rate_per_hour("water_m3", running.clock.moment) * 1000
    )


async def test_what_a_meter_refuses(running: Running) -> None:
    client = running.client
    wrong_table = await client.read_holding_registers(0x0156, count=2, device_id=81)
    assert wrong_table.isError() and wrong_table.exception_code == ExcCodes.ILLEGAL_FUNCTION
    past_the_map = await client.read_holding_registers(0x0000, count=8, device_id=82)
    assert past_the_map.isError() and past_the_map.exception_code == ExcCodes.ILLEGAL_ADDRESS
    written = await client.write_register(0x0000, 0, device_id=82)
    assert written.isError()
    absent = await client.read_input_registers(0x0156, count=2, device_id=99)
    assert absent.isError() and absent.exception_code == ExcCodes.GATEWAY_NO_RESPONSE
    # The meters still answer after all that.
    assert await energy(client, 81) > 0


async def test_totals_grow_on_a_fast_simulated_clock() -> None:
    """The program's own clock: a simulated day every wall second."""
    config = load_building_config(DEMO)
    clock = SimClock(start=START, anchor=time.time(), scale=86_400.0)
    server = BuildingServer(config, clock, seed=1, host="127.0.0.1", port=0)
    await server.start()
    client = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=2, retries=0)
    try:
        assert await client.connect()
        first = (await energy(client, 21), await litres(client, 22))
        await asyncio.sleep(0.3)  # about seven simulated hours
        second = (await energy(client, 21), await litres(client, 22))
    finally:
        client.close()
        await server.stop()
    assert second[0] > first[0]
    assert second[1] > first[1]


async def test_a_taken_port_is_a_clear_error(running: Running) -> None:
    other = BuildingServer(
        running.config, running.clock, seed=1, host="127.0.0.1", port=running.server.port
    )
    with pytest.raises(
        ModbusServerError, match=f"cannot listen on 127.0.0.1:{running.server.port}"
    ):
        await other.start()

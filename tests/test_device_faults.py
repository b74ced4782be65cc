"""Scripted device faults, end to end: the simulator plays each fault on the wire (pymodbus
server), the gateway's poller (pymodbus client) meets it, and the core judges what it read.

A silent meter costs its time-out and nothing else; an exception or NaN is a skipped reading;
a slow answer within the time-out is a reading; a stuck meter repeats itself; a replaced meter
starts again from zero and the counters flag the reset instead of inventing consumption.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from firmware_sim.building_config import load_building_config
from firmware_sim.modbus_server import BuildingServer
from gateway.config.gateway_file import load_gateway_config
from gateway.core.counters import CounterLimits, DeltaFlag, Reading, consumption_deltas
from gateway.modbus.bus_poller import ModbusBusPoller, build_pollers
from simclock import SimClock
from tests.stepped_clock import SteppedClock

pytestmark = pytest.mark.timeout(60)

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CST)

# unit -> (electricity id, water id)
METERS = {"0101": (11, 12), "0102": (21, 22), "0103": (31, 32), "0104": (41, 42)}
FAULTS = """
[[faults]]
device_id = 11
kind = "nan"

[[faults]]
device_id = 21
kind = "silent"

[[faults]]
device_id = 22
kind = "exception"
exception_code = 4

[[faults]]
device_id = 31
kind = "slow"
delay_s = 0.3

[[faults]]
device_id = 32
kind = "stuck"
from_day = 1.0

[[faults]]
device_id = 42
kind = "reset"
from_day = 1.5
"""


def building_file(tmp_path: Path) -> Path:
    units = "".join(
        f"""
[[units]]
unit_id = "{unit}"
floor = 1
area_m2 = 60
rooms = 2
occupants = 3
  [[units.meters]]
  kind = "electricity_kwh"
  device = "eastron_sdm120"
  device_id = {power}
  initial_total = 1000.0
  [[units.meters]]
  kind = "water_m3"
  device = "generic_water_u32"
  device_id = {water}
  initial_total = 100.0
"""
        for unit, (power, water) in METERS.items()
    )
    path = tmp_path / "building.toml"
    path.write_text(
        '[building]\nid = "faulty"\nname = "Faulty"\n' + units + FAULTS, encoding="utf-8"
    )
    return path


def gateway_file(tmp_path: Path, port: int) -> Path:
    units = "".join(
        f"""
[[units]]
unit_id = "{unit}"
floor = 1
area_m2 = 60
rooms = 2
  [[units.meters]]
  kind = "electricity_kwh"
  bus = "conv"
  device_id = {power}
  profile = "eastron_sdm120"
  [[units.meters]]
  kind = "water_m3"
  bus = "conv"
  device_id = {water}
  profile = "generic_water_u32"
"""
        for unit, (power, water) in METERS.items()
    )
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[gateway]\nid = "gw"\nkey_file = "k.pem"\n'
        f'[[modbus_tcp]]\nname = "conv"\nhost = "127.0.0.1"\nport = {port}\n'
        "timeout_s = 1.0\nretries = 0\n" + units,
        encoding="utf-8",
    )
    return path


async def test_each_scripted_fault_meets_the_gateway(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.modbus.bus_poller")
    clock = SteppedClock(START)
    server = BuildingServer(
        load_building_config(building_file(tmp_path)), clock, seed=1, host="127.0.0.1", port=0
    )
    await server.start()
    readings: dict[tuple[str, str], list[float]] = {}
    try:
        (poller,) = build_pollers(load_gateway_config(gateway_file(tmp_path, server.port)),
                                  SimClock.real())  # fmt: skip
        loop = asyncio.get_running_loop()
        took = []
        try:
            for hours in (30, 31, 40, 41):  # day 1.25 to 1.7: stuck from day 1, reset at 1.5
                clock.moment = START + timedelta(hours=hours)
                began = loop.time()
                for sample in await poller.poll_once():
                    readings.setdefault((sample.unit_id, sample.kind), []).append(sample.total)
                took.append(loop.time() - began)
        finally:
            await poller.close()
    finally:
        await server.stop()

    # Four rounds, one line per fault: no log storm from a meter that stays broken.
    logged = [r.getMessage() for r in caplog.records if r.name == "gateway.modbus.bus_poller"]
    assert sum("not stored" in line for line in logged) == 1, logged
    assert sum("will keep trying" in line for line in logged) == 2, logged
    # Missing: the NaN energy register, the silent meter, the one answering with an exception.
    assert ("0101", "electricity_kwh") not in readings
    assert ("0102", "electricity_kwh") not in readings
    assert ("0102", "water_m3") not in readings
    # Everything else was read at every poll, the slow meter included.
    assert all(len(values) == 4 for values in readings.values())
    assert len(readings) == 5
    # One silent meter costs one time-out (1 s) per poll, plus the slow one's 0.3 s: no stall.
    assert max(took) < 3.0
    # The stuck meter shows one value while its neighbours move on.
    stuck = readings[("0103", "water_m3")]
    assert len(set(stuck)) == 1
    assert len(set(readings[("0101", "water_m3")])) == 4
    # The replaced meter fell back near zero; the core calls that a reset, not negative use
    # (found nine hours after the last reading here, so the nine hours are a gap).
    replaced = readings[("0104", "water_m3")]
    assert replaced[0] > 100 and replaced[-1] < 1.0
    series = [
        Reading(START + timedelta(hours=h), v)
        for h, v in zip((30, 31, 40, 41), replaced, strict=True)
    ]
    flags = [d.flag for d in consumption_deltas(series, CounterLimits(max_rate_per_hour=3.0))]
    assert flags == [DeltaFlag.OK, DeltaFlag.RESET_IN_GAP, DeltaFlag.OK]


def building_with_faults(tmp_path: Path, faults: str) -> Path:
    """The test building with ``faults`` instead of the module's ones."""
    path = tmp_path / "building.toml"
    plain = building_file(tmp_path).read_text(encoding="utf-8").split("[[faults]]")[0]
    path.write_text(plain + faults, encoding="utf-8")
    return path


@asynccontextmanager
async def rtu_line(
    tmp_path: Path, building: Path, pty_pair: tuple[str, str], bus: str
) -> AsyncIterator[ModbusBusPoller]:
    """`firmware-sim serve --rtu` on one end of a pty pair, the gateway's RTU poller (``bus``:
    the bus's time-out and retries) on the other; the simulator must stop cleanly after."""
    gateway_end, meter_end = pty_pair
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "firmware_sim", "serve", str(building), "--rtu", meter_end,
        "--sim-start", START.isoformat(), "--time-scale", "3600",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert sim.stdout is not None
        ready = await asyncio.wait_for(sim.stdout.readline(), 30)
        assert ready.decode().strip() == f"READY modbus-rtu {meter_end}"
        config = gateway_file(tmp_path, 1).read_text(encoding="utf-8")
        config = config.replace(
            '[[modbus_tcp]]\nname = "conv"\nhost = "127.0.0.1"\nport = 1\n',
            f'[[modbus_rtu]]\nname = "conv"\nport = "{gateway_end}"\n',
        ).replace("timeout_s = 1.0\nretries = 0\n", bus)
        (tmp_path / "gateway.toml").write_text(config, encoding="utf-8")
        (poller,) = build_pollers(load_gateway_config(tmp_path / "gateway.toml"), SimClock.real())
        try:
            yield poller
        finally:
            await poller.close()
    finally:
        sim.terminate()
        assert await asyncio.wait_for(sim.wait(), 10) == 0


async def test_simulated_building_on_an_rtu_line_with_a_silent_meter(
    tmp_path: Path, pty_pair: tuple[str, str]
) -> None:
    """Every meter on the RTU line answers but the silent one, which costs its time-out."""
    building = building_with_faults(tmp_path, '[[faults]]\ndevice_id = 21\nkind = "silent"\n')
    async with rtu_line(tmp_path, building, pty_pair, "timeout_s = 0.5\nretries = 0\n") as poller:
        samples = await poller.poll_once()
    read = {(s.unit_id, s.kind) for s in samples}
    assert ("0102", "electricity_kwh") not in read  # device 21, silent
    assert len(read) == 2 * len(METERS) - 1


FRAME_FAULTS = """
[[faults]]
device_id = 11
kind = "bad_crc"

[[faults]]
device_id = 12
kind = "garbled"
every = 2

[[faults]]
device_id = 22
kind = "garbled"
"""


async def test_noise_on_an_rtu_line_costs_retries_not_the_bus(
    tmp_path: Path, pty_pair: tuple[str, str]
) -> None:
    """A CRC error and garbled answers on a real RTU line: the client rejects every damaged
    frame, one retry gets through when only every other answer is damaged, a meter whose every
    answer is damaged is skipped, and the rest of the line is read in the same poll."""
    building = building_with_faults(tmp_path, FRAME_FAULTS)
    loop = asyncio.get_running_loop()
    polls = []
    async with rtu_line(tmp_path, building, pty_pair, "timeout_s = 0.5\nretries = 1\n") as poller:
        for _ in range(2):
            began = loop.time()
            samples = await poller.poll_once()
            polls.append(({(s.unit_id, s.kind) for s in samples}, loop.time() - began))
    for read, took in polls:
        assert ("0101", "electricity_kwh") not in read  # device 11: every CRC wrong
        assert ("0102", "water_m3") not in read  # device 22: every answer garbled
        assert ("0101", "water_m3") in read  # device 12: the retry got through
        assert len(read) == 2 * len(METERS) - 2
        # Two meters cost two tries of 0.5 s each; the rest of the line answers at once.
        assert took < 4.0


async def test_a_garbled_tcp_answer_is_skipped_and_the_poller_goes_on(tmp_path: Path) -> None:
    building = building_with_faults(tmp_path, '[[faults]]\ndevice_id = 31\nkind = "garbled"\n')
    clock = SteppedClock(START)
    server = BuildingServer(load_building_config(building), clock, seed=1, host="127.0.0.1", port=0)
    await server.start()
    try:
        config = gateway_file(tmp_path, server.port)
        config.write_text(
            config.read_text(encoding="utf-8").replace("timeout_s = 1.0", "timeout_s = 0.5"),
            encoding="utf-8",
        )
        (poller,) = build_pollers(load_gateway_config(config), SimClock.real())
        try:
            polls = []
            for hours in (1, 2):
                clock.moment = START + timedelta(hours=hours)
                polls.append({(s.unit_id, s.kind) for s in await poller.poll_once()})
        finally:
            await poller.close()
    finally:
        await server.stop()
    for read in polls:
        assert ("0103", "electricity_kwh") not in read  # device 31
        assert len(read) == 2 * len(METERS) - 1

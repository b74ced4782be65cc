"""``gateway scan`` against simulated buses (firmware_sim): a Modbus TCP converter and an RTU
line on a pseudo-terminal pair, each with SDM120s, water and gas meters and silent ids."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from firmware_sim.building_config import load_building_config
from firmware_sim.modbus_server import BuildingServer, SerialLine
from gateway.config.gateway_file import ModbusRtuBus, ModbusTcpBus
from gateway.modbus.device_profiles import load_profiles
from gateway.tools.scan import parse_host_port, parse_ids, scan_bus
from simclock import SimClock
from tests.gateway.mixed_building import building_file

pytestmark = pytest.mark.timeout(60)

BIN = Path(sys.executable).parent
EXPECTED = {
    11: ("eastron_sdm120", True),
    12: ("generic_water_u32", False),
    13: ("generic_gas_u32", False),
    21: ("eastron_sdm120", True),
}


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("1-3", (1, 2, 3)),
        ("11,12,20-21", (11, 12, 20, 21)),
        ("5,5,4-6", (5, 4, 6)),
        ("247", (247,)),
    ],
)
def test_parse_ids(text: str, ids: tuple[int, ...]) -> None:
    assert parse_ids(text) == ids


@pytest.mark.parametrize("text", ["0-3", "3-1", "x", "1-248", ""])
def test_parse_ids_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="--ids"):
        parse_ids(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10.0.0.5", ("10.0.0.5", 502)), ("conv:5020", ("conv", 5020)), ("[::1]:1502", ("::1", 1502))],
)
def test_parse_host_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


async def test_tcp_scan_identifies_each_meter_and_skips_silent_ids(tmp_path: Path) -> None:
    server = BuildingServer(
        load_building_config(building_file(tmp_path, silent=(22,))),
        SimClock.real(),
        seed=1,
        host="127.0.0.1",
        port=0,
    )
    await server.start()
    heard: list[int] = []
    try:
        bus = ModbusTcpBus(
            name="bus-1", host="127.0.0.1", port=server.port, timeout_s=0.3, retries=0
        )
        loop = asyncio.get_running_loop()
        began = loop.time()
        found = await scan_bus(
            bus, range(1, 31), load_profiles().values(), lambda i, _: heard.append(i)
        )
        took = loop.time() - began
    finally:
        await server.stop()
    assert [d.device_id for d in found] == sorted(EXPECTED)
    assert {d.device_id: (d.best.profile, d.best.confirmed) for d in found if d.best} == EXPECTED
    assert heard == list(range(1, 31))  # progress after every id
    water = next(d for d in found if d.device_id == 12)
    assert [f.profile for f in water.fits] == ["generic_water_u32", "generic_gas_u32"]
    # Empty ids are answered "nobody there" by the converter; the silent meter costs its
    # time-outs (two tables, 0.3 s each), not more.
    assert took < 5.0


async def test_rtu_scan_on_a_serial_line(tmp_path: Path, pty_pair: tuple[str, str]) -> None:
    gateway_end, meter_end = pty_pair
    server = BuildingServer(
        load_building_config(building_file(tmp_path)),
        SimClock.real(),
        seed=1,
        host="127.0.0.1",
        port=0,
        serial=SerialLine(meter_end, baudrate=19200),
    )
    await server.start()
    try:
        bus = ModbusRtuBus(
            name="line-1", port=gateway_end, baudrate=19200, timeout_s=0.3, retries=0
        )
        found = await scan_bus(bus, [10, 11, 12, 13, 14], load_profiles().values())
    finally:
        await server.stop()
    # Ids 10 and 14 are nobody's: on a serial line they are silent, not refusals.
    assert [d.device_id for d in found] == [11, 12, 13]
    got = {d.device_id: (d.best.profile, d.best.confirmed) for d in found if d.best}
    assert got == {k: v for k, v in EXPECTED.items() if k in (11, 12, 13)}


def test_scan_command_prints_a_fragment_to_paste(tmp_path: Path) -> None:
    sim = subprocess.Popen(
        [str(BIN / "firmware-sim"), "serve", str(building_file(tmp_path, silent=(22,))),
         "--port", "0", "--log-level", "ERROR"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert sim.stdout is not None
        port = int(sim.stdout.readline().split()[2].rsplit(":", 1)[1])
        result = subprocess.run(
            [str(BIN / "gateway"), "scan", "tcp", f"127.0.0.1:{port}", "--ids", "1-25"],
            capture_output=True,
            text=True,
            timeout=40,
            check=False,
        )
    finally:
        sim.terminate()
        sim.wait(10)
        assert sim.stdout is not None
        sim.stdout.close()
    assert result.returncode == 0, result.stderr
    fragment = tomllib.loads(result.stdout)
    assert fragment["modbus_tcp"] == [
        {"name": "bus-1", "host": "127.0.0.1", "port": port, "timeout_s": 1.0, "retries": 1}
    ]
    meters = {
        m["device_id"]: (m["kind"], m["profile"], m["bus"]) for m in fragment["units"]["meters"]
    }
    assert meters == {
        11: ("electricity_kwh", "eastron_sdm120", "bus-1"),
        12: ("water_m3", "generic_water_u32", "bus-1"),
        13: ("gas_m3", "generic_gas_u32", "bus-1"),
        21: ("electricity_kwh", "eastron_sdm120", "bus-1"),
    }
    assert "could also be generic_gas_u32" in result.stdout
    assert "4 of 25 ids answered" in result.stderr

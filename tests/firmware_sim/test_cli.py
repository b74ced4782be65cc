"""The ``firmware-sim`` command as a user (and the demo) runs it: a separate process that says
READY with its port, serves real Modbus TCP, and stops cleanly on SIGTERM; config errors are
one line per problem and exit code 2."""

from __future__ import annotations

import asyncio
import selectors
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient
from typer.testing import CliRunner

from firmware_sim.cli import app
from firmware_sim.scenarios import ScenarioReadings, build_scenario
from gateway.ble.bumble_transport import bumble_transport
from gateway.ble.credentials import CredentialPseudonymiser
from gateway.ble.lock_listener import LockListener
from gateway.config.gateway_file import load_gateway_config
from gateway.observations import StoredLockEvent
from simclock import SimClock
from tests.ble.conftest import listening, until
from tests.conftest import free_port_block

pytestmark = pytest.mark.timeout(30)

FIRMWARE_SIM = Path(sys.executable).parent / "firmware-sim"
DEMO = Path(__file__).resolve().parents[2] / "config" / "demo" / "building.toml"


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The next line of the child's stdout, or fail after ``timeout`` wall seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            process.wait()
            pytest.fail(f"no line on stdout within {timeout} s")
    return process.stdout.readline()


def test_serve_says_ready_serves_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [
            str(FIRMWARE_SIM),
            "serve",
            str(DEMO),
            "--port",
            "0",
            "--sim-start",
            "2026-03-01T00:00:00+08:00",
            "--sim-anchor",
            repr(time.time()),
            "--time-scale",
            "3600.0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = read_line(process, 15)
        assert line.startswith("READY modbus-tcp 127.0.0.1:"), line
        port = int(line.strip().rsplit(":", 1)[1])
        with ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0) as client:
            energy = client.read_input_registers(0x0156, count=2, device_id=81)
            water = client.read_holding_registers(0x0000, count=2, device_id=82)
        assert not energy.isError() and not water.isError()
        assert energy.registers[0] == 0x453C  # 3020.x kWh: float32 0x453Cxxxx
        assert (water.registers[0] << 16) | water.registers[1] >= 142_900
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert stdout == ""  # READY was the only line on stdout
    assert "Traceback" not in stderr


def test_check_config_of_the_demo_building() -> None:
    result = CliRunner().invoke(app, ["check-config", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "OK building.toml: 12 units, 24 meters"


def test_check_config_of_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "building.toml"
    broken.write_text(
        DEMO.read_text(encoding="utf-8").replace("area_m2 = 40.0", "area_m2 = 0.0", 1),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check-config", str(broken)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "error: building.toml: units[1].area_m2: Input should be greater than 0"
    )


def test_serve_refuses_a_broken_file_before_listening(tmp_path: Path) -> None:
    broken = tmp_path / "building.toml"
    broken.write_text(
        DEMO.read_text(encoding="utf-8").replace("device_id = 22", "device_id = 11", 1),
        encoding="utf-8",
    )
    result = subprocess.run(
        [str(FIRMWARE_SIM), "serve", str(broken), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "units[1].meters[1].device_id: 11 is already used by units[0].meters[0]" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_clock_flag_is_a_clean_error() -> None:
    result = CliRunner().invoke(app, ["serve", str(DEMO), "--sim-start", "yesterday"])
    assert result.exit_code == 2
    assert "--sim-start: not an ISO 8601 time" in result.stderr


def test_describe_lists_units_device_ids_and_changes() -> None:
    result = CliRunner().invoke(app, ["describe", str(DEMO)], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    for text in ("demo-building", "0101", "0403", "eastron_sdm120", "generic_water_u32"):
        assert text in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.lstrip().startswith("0302"))
    assert row.split()[:8] == ["0302", "3", "44", "1", "2", "2", "81", "electricity_kwh"]
    assert "group_rental" in result.stdout
    assert "9 (over cap)" in result.stdout


def test_scenario_serve_answers_on_every_floor_and_stops_on_sigterm() -> None:
    base = free_port_block(8)  # small_demo, seed 1: 6 floors, the machine room, the radio
    process = subprocess.Popen(
        [str(FIRMWARE_SIM), "scenario", "serve", "small_demo", "--seed", "1", "--port", str(base)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = read_line(process, timeout=60).split()
        assert ready[:2] == ["READY", "modbus-tcp"], ready
        first, last = (int(p) for p in ready[2].split(":")[1].split("-"))
        assert (first, last) == (base, base + 6)  # floors 1-6, then the machine room
        assert ready[3:] == ["ble", f"tcp-client:127.0.0.1:{last + 1}"]
        for port in (first, last - 1):
            client = ModbusTcpClient("127.0.0.1", port=port, timeout=2)
            assert client.connect()
            answer = client.read_input_registers(0x0156, count=2, device_id=1)  # an SDM120
            client.close()
            assert not answer.isError(), answer
        client = ModbusTcpClient("127.0.0.1", port=last, timeout=2)
        assert client.connect()
        answer = client.read_holding_registers(0x0000, count=2, device_id=1)  # lift L1's car
        client.close()
        assert not answer.isError(), answer
        assert answer.registers[0] in range(1, 7)  # a floor of the building
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


async def test_scenario_serve_logs_each_lock_event_as_its_clock_passes_it(tmp_path: Path) -> None:
    """The locks of a served scenario, read by the gateway's lock listener through the radio
    the READY line names, log the scenario's events as the simulated clock passes them."""
    base = free_port_block(8)
    since = datetime.fromisoformat("2026-03-02T17:00:00+08:00")  # small_demo's 2nd evening
    clock = SimClock(start=since, anchor=time.time(), scale=7200)  # 2 simulated hours a second
    config_path = tmp_path / "gateway.toml"
    args = ["small_demo", "--seed", "1", "--port", str(base)]
    result = CliRunner().invoke(app, ["scenario", "gateway-config", *args, "--out", config_path])
    assert result.exit_code == 0, result.output
    config = load_gateway_config(config_path)
    macs = {lock.mac for lock in config.locks}
    readings = ScenarioReadings(build_scenario("small_demo", 1))
    kept: set[tuple[datetime, str, str]] = set()
    early: list[StoredLockEvent] = []

    async def keep(events: list[StoredLockEvent]) -> None:
        kept.update((e.ts, e.unit_id, e.event) for e in events)
        early.extend(e for e in events if e.ts > clock.now())  # logged before it happened

    async def nothing_kept_before(_mac: str) -> int:
        return 0

    process = await asyncio.create_subprocess_exec(
        *[str(FIRMWARE_SIM), "scenario", "serve", *args, *clock.to_args()],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        ready = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().split()
        assert ready[3:] == ["ble", config.ble.bumble_transport]
        async with bumble_transport(config.ble.bumble_transport) as transport:
            listener = LockListener(
                config.locks,
                transport,
                CredentialPseudonymiser(bytes(32)),
                clock,
                keep,
                nothing_kept_before,
                silent_after_s=config.ble.silent_after_s,
            )
            async with listening(listener):
                await until(lambda: listener.connected == macs, within_s=20)
                # Every event is logged by now (but for those of the last moments).
                logged = readings.lock_events_between(since, clock.now() - timedelta(minutes=5))
                expected = {(r.ts, r.unit_id, r.event) for r in logged}
                await until(lambda: expected <= kept)
                assert len(expected) >= 5, "pick a busier time"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0, stderr.decode()
    happened = readings.lock_events_between(since, clock.now())
    assert kept <= {(r.ts, r.unit_id, r.event) for r in happened}  # nothing else
    assert early == []


def test_scenario_gateway_config_names_a_bad_family(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["scenario", "gateway-config", "no_such_family", "--out", str(tmp_path / "g.toml")]
    )
    assert result.exit_code == 2
    assert "unknown family 'no_such_family'" in result.output
    assert not (tmp_path / "g.toml").exists()

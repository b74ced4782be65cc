"""Lifts read live, end to end: the simulator serves a lift terminal (pymodbus server) beside
the meters, the gateway's bus poller (pymodbus client) reads its floor counters, and what it
reads is what the simulator's lift model says at that instant. A silent terminal costs its
time-out and nothing else; a recording gets the counters as ``elevators.csv``."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from firmware_sim.building_config import load_building_config
from firmware_sim.lift_model import building_lifts
from firmware_sim.modbus_server import BuildingServer
from gateway.config.gateway_file import load_gateway_config
from gateway.modbus.bus_poller import ModbusBusPoller, build_pollers
from gateway.observations import ElevatorSample, MeterSample, Sample
from gateway.replay.trace_reader import open_trace
from gateway.replay.trace_recorder import TraceRecorder
from simclock import SimClock
from tests.gateway.lift_building import lift_building_file, lift_gateway_file
from tests.stepped_clock import SteppedClock

pytestmark = pytest.mark.timeout(60)

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CST)
FLOORS = (1, 2, 3, 4)
LIFT_ID = 100
# unit -> (floor, occupants, water meter id)
UNITS = {"0101": (1, 2, 11), "0201": (2, 3, 21), "0301": (3, 1, 31), "0401": (4, 6, 41)}


def building_file(tmp_path: Path, faults: str = "") -> Path:
    return lift_building_file(tmp_path, UNITS, FLOORS, LIFT_ID, rooms=2, faults=faults)


def gateway_file(tmp_path: Path, port: int) -> Path:
    return lift_gateway_file(tmp_path, port, UNITS, FLOORS, LIFT_ID, rooms=2)


async def poll_at(
    poller: ModbusBusPoller, clock: SteppedClock, hours: float
) -> tuple[list[Sample], float]:
    clock.moment = START + timedelta(hours=hours)
    loop = asyncio.get_running_loop()
    began = loop.time()
    samples = await poller.poll_once()
    return samples, loop.time() - began


async def polls(
    tmp_path: Path, faults: str, hours: list[float]
) -> list[tuple[list[Sample], float]]:
    clock = SteppedClock(START)
    building = load_building_config(building_file(tmp_path, faults))
    server = BuildingServer(building, clock, seed=1, host="127.0.0.1", port=0)
    await server.start()
    try:
        config = load_gateway_config(gateway_file(tmp_path, server.port))
        (poller,) = build_pollers(config, SimClock.real())
        try:
            return [await poll_at(poller, clock, h) for h in hours]
        finally:
            await poller.close()
    finally:
        await server.stop()


async def test_the_poller_reads_what_the_simulated_lift_counts(tmp_path: Path) -> None:
    hours = [8.25, 20.5, 31.0]
    results = await polls(tmp_path, "", hours)
    (model,) = building_lifts(
        load_building_config(building_file(tmp_path)), START, 1, timedelta(hours=8)
    )
    seen: list[dict[int, float]] = []
    for h, (samples, _) in zip(hours, results, strict=True):
        at = START + timedelta(hours=h)
        lifts = [s for s in samples if isinstance(s, ElevatorSample)]
        assert {s.floor: s.stops_total for s in lifts} == {f: model.stops_at(f, at) for f in FLOORS}
        assert {s.elevator_id for s in lifts} == {"L1"}
        assert len([s for s in samples if isinstance(s, MeterSample)]) == len(UNITS)
        seen.append({s.floor: s.stops_total for s in lifts})
    assert all(seen[-1][f] > seen[0][f] for f in FLOORS)  # about a day later: every floor rode


async def test_a_silent_lift_terminal_costs_its_time_out_not_the_meters(tmp_path: Path) -> None:
    silent = f'[[faults]]\ndevice_id = {LIFT_ID}\nkind = "silent"\nto_day = 1.0\n'
    (quiet, took), (back, _) = await polls(tmp_path, silent, [2.0, 26.0])
    assert not [s for s in quiet if isinstance(s, ElevatorSample)]
    assert {s.unit_id for s in quiet if isinstance(s, MeterSample)} == set(UNITS)
    assert took < 0.5 + 1.0  # one time-out of 0.5 s (and its guard), the meters at once
    # Once the terminal answers again, the next poll reads every floor.
    assert sorted(s.floor for s in back if isinstance(s, ElevatorSample)) == list(FLOORS)


async def test_a_recording_gets_the_counters_as_elevators_csv(tmp_path: Path) -> None:
    results = await polls(tmp_path, "", [1.0, 2.0])
    config = load_gateway_config(tmp_path / "gateway.toml")
    recorder = TraceRecorder(tmp_path / "trace", config, hold_back=timedelta(0))
    for samples, _ in results:
        recorder.add(samples)
    recorder.close()
    rows = list(open_trace(tmp_path / "trace").elevators())
    polled = [s for samples, _ in results for s in samples if isinstance(s, ElevatorSample)]
    assert [(r.ts, r.elevator_id, r.floor, r.stops_total) for r in rows] == [
        (s.ts.replace(microsecond=0), s.elevator_id, s.floor, s.stops_total) for s in polled
    ]
    assert recorder.elevator_rows_written == len(polled) == 2 * len(FLOORS)

"""Lifts in position mode, live: the simulator serves a lift terminal (pymodbus server) whose car
stops where its counters tick, and the gateway's position poller (pymodbus client, sharing the
bus with the meters) samples the car's floor and door and counts the stops. What it counts is
what the simulated car did; a terminal silent for a few seconds loses samples, never the count,
and one silent for longer than a report makes the count start again from zero; after a restart
the counts start again from zero, and the day closer reads that as a reset, not as a jump; the
daemon runs the watch as a named task and records its counters like a counting terminal's."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from firmware_sim.building_config import load_building_config
from firmware_sim.lift_model import DOOR_OPEN_S, LiftModel, building_lifts
from firmware_sim.modbus_server import BuildingServer
from gateway.config.gateway_file import load_gateway_config
from gateway.core.daily_usage import summarise_series
from gateway.core.floor_stops import STOP_LIMITS
from gateway.modbus.bus_poller import ModbusBusPoller, build_pollers
from gateway.modbus.lift_position_poller import LiftPositionPoller
from gateway.observations import ElevatorSample, MeterSample
from gateway.replay.trace_reader import open_trace
from gateway.replay.trace_recorder import TraceRecorder
from gateway.service.daemon import record_meters
from gateway.service.day_closer import DayCloser, local_day_bounds
from gateway.store.gateway_store import GatewayStore
from gateway.wire.keys import generate_key_pair, load_signing_key
from gateway.wire.signer import EnvelopeSigner
from simclock import SimClock
from tests.gateway.lift_building import lift_building_file, lift_gateway_file
from tests.stepped_clock import SteppedClock

pytestmark = pytest.mark.timeout(60)

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CST)
FLOORS = (1, 2, 3, 4)
LIFT_ID = 100
# unit -> (floor, occupants, water meter id): thirty people above the ground floor ride the lift.
UNITS = {
    "0101": (1, 2, 11),
    "0201": (2, 6, 21),
    "0202": (2, 4, 22),
    "0301": (3, 5, 31),
    "0302": (3, 5, 32),
    "0401": (4, 7, 41),
    "0402": (4, 3, 42),
}
REPORT_EVERY_S = 600.0


def building_file(tmp_path: Path, faults: str = "") -> Path:
    return lift_building_file(tmp_path, UNITS, FLOORS, LIFT_ID, rooms=3, faults=faults)


def gateway_file(tmp_path: Path, port: int, interval_s: float = REPORT_EVERY_S) -> Path:
    return lift_gateway_file(
        tmp_path,
        port,
        UNITS,
        FLOORS,
        LIFT_ID,
        rooms=3,
        lift_options='mode = "position"\nposition_poll_s = 2.0\n',
        sections=f"[polling]\ninterval_s = {interval_s}\n",
    )


def lift_model(tmp_path: Path) -> LiftModel:
    building = load_building_config(building_file(tmp_path))
    (model,) = building_lifts(building, START, 1, timedelta(hours=8))
    return model


@asynccontextmanager
async def serving(
    tmp_path: Path, clock: SteppedClock, faults: str = ""
) -> AsyncIterator[BuildingServer]:
    server = BuildingServer(
        load_building_config(building_file(tmp_path, faults)),
        clock,
        seed=1,
        host="127.0.0.1",
        port=0,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@asynccontextmanager
async def gateway_bus(
    tmp_path: Path, port: int, clock: SteppedClock
) -> AsyncIterator[ModbusBusPoller]:
    """The gateway's poller of the one bus, as ``build_pollers`` makes it for the daemon."""
    config = load_gateway_config(gateway_file(tmp_path, port))
    (poller,) = build_pollers(config, clock)  # type: ignore[arg-type]
    try:
        yield poller
    finally:
        await poller.close()


def stops_seen_by_position(model: LiftModel, begin: datetime, end: datetime) -> dict[int, int]:
    """What the simulated car did in (``begin``, ``end``], as stops: each arrival at a floor
    other than the one it stood at is one; a door reopened where it stands is not."""
    last = model.last_stop(begin)
    standing = model.lift.ground_floor if last is None else last[1]
    stops: dict[int, int] = {}
    for _, floor in model.stops_between(begin, end):
        if floor != standing:
            stops[floor] = stops.get(floor, 0) + 1
        standing = floor
    return stops


def gaps_s(moments: Iterable[datetime]) -> list[float]:
    ordered = sorted(moments)
    return [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]


def by_floor(samples: list[ElevatorSample]) -> dict[int, float]:
    return {s.floor: s.stops_total for s in samples}


async def watch(
    watcher: LiftPositionPoller, clock: SteppedClock, moments: Iterable[datetime]
) -> list[ElevatorSample]:
    """Poll the lift at each of ``moments`` (building time); every report it hands on."""
    reported = []
    for moment in moments:
        clock.moment = moment
        reported.extend(await watcher.poll_once())
    return reported


def every(begin: datetime, end: datetime, step_s: float) -> list[datetime]:
    count = int((end - begin).total_seconds() // step_s)
    return [begin + timedelta(seconds=step_s * i) for i in range(count + 1)]


MORNING = START + timedelta(days=1, hours=7)  # the morning rush: the car is busy


@asynccontextmanager
async def watched_until_silent(
    tmp_path: Path, begin: datetime, quiet: datetime, loud: datetime
) -> AsyncIterator[tuple[LiftPositionPoller, SteppedClock]]:
    """A terminal that does not answer in [``quiet``, ``loud``), and the gateway's watch of it
    from ``begin`` to just before ``quiet``: the watcher and the clock, to go on with."""
    from_day = (quiet - START).total_seconds() / 86_400
    to_day = (loud - START).total_seconds() / 86_400
    silent = (
        f'[[faults]]\ndevice_id = {LIFT_ID}\nkind = "silent"\n'
        f"from_day = {from_day!r}\nto_day = {to_day!r}\n"
    )
    clock = SteppedClock(START)
    async with (
        serving(tmp_path, clock, silent) as server,
        gateway_bus(tmp_path, server.port, clock) as bus,
    ):
        (watcher,) = bus.positions
        await watch(watcher, clock, every(begin, quiet - timedelta(seconds=2), 2.0))
        yield watcher, clock


async def test_position_mode_counts_the_stops_the_simulated_car_made(tmp_path: Path) -> None:
    begin, end = MORNING, MORNING + timedelta(minutes=40)
    model = lift_model(tmp_path)
    made = model.stops_between(begin, end)
    # The premise: the car keeps still long enough between stops to be seen at each one.
    assert min(gaps_s(at for at, _ in made)) > 2.0
    expected = stops_seen_by_position(model, begin, end)
    assert sum(expected.values()) >= 5

    clock = SteppedClock(START)
    async with serving(tmp_path, clock) as server, gateway_bus(tmp_path, server.port, clock) as bus:
        (watcher,) = bus.positions
        assert bus.elevators == ()  # the counting round does not read this lift
        reported = await watch(watcher, clock, every(begin, end, 2.0))
        clock.moment = end
        meters = await bus.poll_once()  # the meters on the same link answer as ever

    assert {s.unit_id for s in meters if isinstance(s, MeterSample)} == set(UNITS)
    # Reports: at the first sample (all zeros), then every polling interval, every floor.
    times = sorted({s.ts for s in reported})
    assert times == every(begin, end, REPORT_EVERY_S)
    assert all(len([s for s in reported if s.ts == t]) == len(FLOORS) for t in times)
    first = by_floor([s for s in reported if s.ts == begin])
    assert first == dict.fromkeys(FLOORS, 0.0)
    last = by_floor([s for s in reported if s.ts == end])
    assert last == {floor: float(expected.get(floor, 0)) for floor in FLOORS}
    for floor in FLOORS:  # cumulative, like a counter
        series = [s.stops_total for s in sorted(reported, key=lambda s: s.ts) if s.floor == floor]
        assert series == sorted(series)
    # Position mode sees no more than the terminal's own counters counted.
    for floor in FLOORS:
        assert last[floor] <= model.stops_at(floor, end) - model.stops_at(floor, begin)


async def test_a_silent_terminal_loses_samples_not_the_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    begin, end = MORNING, MORNING + timedelta(minutes=30)
    model = lift_model(tmp_path)
    made = [at for at, _ in model.stops_between(begin, end)]
    # Silence the terminal for 6 s while the car stands still, after some stops were counted.
    quiet = made[len(made) // 2] + timedelta(seconds=DOOR_OPEN_S + 4)
    assert quiet + timedelta(seconds=6) < made[len(made) // 2 + 1]
    expected = stops_seen_by_position(model, begin, end)

    caplog.set_level(logging.INFO, logger="gateway.modbus.lift_position_poller")
    loud = quiet + timedelta(seconds=6)
    async with watched_until_silent(tmp_path, begin, quiet, loud) as (watcher, clock):
        before = dict(watcher.watch.stops)
        answered = []
        for moment in every(quiet + timedelta(seconds=0.5), quiet + timedelta(seconds=4.5), 2.0):
            clock.moment = moment
            answered.append(await watcher.sample_once())
        await watch(watcher, clock, every(quiet + timedelta(seconds=6.5), end, 2.0))
        counted = dict(watcher.watch.stops)

    assert answered == [False, False, False]
    assert sum(before.values()) > 0
    assert counted == expected  # the stops before the silence were kept
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "(lift L1); will keep trying" in m]) == 1
    assert len([m for m in messages if f"conv device {LIFT_ID} answers again" in m]) == 1


async def test_a_terminal_silent_longer_than_a_report_counts_again_from_zero(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Twenty minutes without an answer: what the car did meanwhile is unknown, so the next
    report is zeros (a reset, which the day reads as a gap once it is long) and what is counted
    after it is what the car did after the silence."""
    begin = MORNING
    quiet, loud = begin + timedelta(minutes=10), begin + timedelta(minutes=30)
    end = loud + timedelta(minutes=30)
    model = lift_model(tmp_path)
    caplog.set_level(logging.INFO, logger="gateway.modbus.lift_position_poller")
    async with watched_until_silent(tmp_path, begin, quiet, loud) as (watcher, clock):
        assert sum(watcher.watch.stops.values()) > 0
        clock.moment = quiet + timedelta(minutes=5)
        assert await watcher.poll_once() == []
        answered_again = loud + timedelta(seconds=1)
        reports = await watch(watcher, clock, every(answered_again, end, 2.0))

    first = [s for s in reports if s.ts == answered_again]
    assert by_floor(first) == dict.fromkeys(FLOORS, 0.0)
    assert dict(watcher.watch.stops) == stops_seen_by_position(model, answered_again, end)
    messages = [r.getMessage() for r in caplog.records]
    assert any("lift L1 was silent for 20 min" in m for m in messages)


async def test_a_restart_reads_as_a_reset_not_as_a_jump(tmp_path: Path) -> None:
    """A whole day watched, the gateway restarted at noon: its counts start again from zero.
    The day's stops at each floor are still exactly the stops the car made that day."""
    day_start, day_end = local_day_bounds((START + timedelta(days=1)).date(), CST)
    model = lift_model(tmp_path)
    made = model.stops_between(day_start - timedelta(minutes=15), day_end + timedelta(minutes=15))
    # Down from just after the noon report to the next report slot, while the car stands still,
    # and its next stop is elsewhere (so both watches see it as the same stop).
    noon = day_start + timedelta(hours=12)
    down, up = next(
        (slot + timedelta(seconds=1), slot + timedelta(seconds=REPORT_EVERY_S))
        for slot in every(noon, day_end, REPORT_EVERY_S)
        if not any(slot <= at <= slot + timedelta(seconds=REPORT_EVERY_S) for at, _ in made)
        and next(f for at, f in made if at > slot) != model.car_at(slot).car_floor
    )

    def moments(begin: datetime, end: datetime) -> list[datetime]:
        """The report slots, and a sample during each stop's open door: what a poll every
        2 s sees, at a fraction of the requests."""
        during = [at + timedelta(seconds=1) for at, _ in made if begin < at and at < end]
        return sorted({*every(begin, end, REPORT_EVERY_S), *during})

    first_run = moments(day_start - timedelta(minutes=10), down)
    second_run = moments(up, day_end)
    clock = SteppedClock(START)
    stored: list[ElevatorSample] = []
    async with serving(tmp_path, clock) as server:
        async with gateway_bus(tmp_path, server.port, clock) as bus:
            stored += await watch(bus.positions[0], clock, first_run)
        async with gateway_bus(tmp_path, server.port, clock) as bus:  # the restarted gateway
            stored += await watch(bus.positions[0], clock, second_run)

    after_restart = [s for s in stored if s.ts == up]
    assert by_floor(after_restart) == dict.fromkeys(FLOORS, 0.0)
    assert any(s.stops_total > 0 for s in stored if down - timedelta(seconds=1) == s.ts)

    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    config = load_gateway_config(gateway_file(tmp_path, 1))
    store = GatewayStore(tmp_path / "gw.sqlite")
    store.lifts.add(stored)
    closer = DayCloser(config, store, EnvelopeSigner("gw", load_signing_key(tmp_path / "k.pem")))
    floor_stops = closer.floor_stops(day_start.date(), day_start, day_end)
    counters = store.lifts.between(day_start, day_end, CST)
    store.close()

    expected = stops_seen_by_position(model, day_start, day_end)
    assert sum(expected.values()) > 20
    assert floor_stops == {floor: float(expected.get(floor, 0)) for floor in FLOORS}
    for floor in FLOORS:  # the fall to zero is a reset: usable, neither negative nor a glitch
        series = summarise_series("L1", counters[floor]["L1"], STOP_LIMITS, day_start.date(), CST)
        assert "L1:reset" in series.flags
        assert not {"L1:negative", "L1:implausible", "L1:low_coverage"} & set(series.flags)


async def test_the_daemon_watches_the_lift_in_a_named_task(tmp_path: Path) -> None:
    """``gateway record`` on a fast simulated clock: a ``lift:L1`` task beside ``poll:conv``,
    and the lift's counts in ``elevators.csv`` from zero on, like a counting terminal's."""
    clock = SimClock(start=MORNING, anchor=time.time(), scale=60.0)
    server = BuildingServer(
        load_building_config(building_file(tmp_path)), clock, seed=1, host="127.0.0.1", port=0
    )
    await server.start()
    try:
        config = load_gateway_config(gateway_file(tmp_path, server.port, interval_s=60.0))
        recorder = TraceRecorder(tmp_path / "trace", config, hold_back=timedelta(0))
        stop = asyncio.Event()
        recording = asyncio.create_task(record_meters(config, clock, recorder, stop))
        try:
            async with asyncio.timeout(20):
                # The recorder signals nothing: watch what it has written.
                while recorder.elevator_rows_written < 3 * len(FLOORS):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            names = {task.get_name() for task in asyncio.all_tasks()}
        finally:
            stop.set()
            await recording
    finally:
        await server.stop()

    assert {"poll:conv", "lift:L1"} <= names
    rows = list(open_trace(tmp_path / "trace").elevators())
    first = min(r.ts for r in rows)
    assert {(r.floor, r.stops_total) for r in rows if r.ts == first} == {(f, 0) for f in FLOORS}
    assert {r.elevator_id for r in rows} == {"L1"}
    assert len({r.ts for r in rows}) >= 3  # a report each polling interval

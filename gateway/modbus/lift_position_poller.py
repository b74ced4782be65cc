"""Lifts in position mode: their stops told from the car's position and door, sampled often.

A terminal without stop counters still says where its car is (``car_floor``) and whether its
door is open (``door_open``). Each such lift has a task of its own that samples both every
``position_poll_s`` building seconds (one request, taking its turn on the bus's link with the
meters) and keeps a :class:`CarWatch` between samples: a stop is the door opening at a floor,
once per visit (the pure rule, :func:`gateway.core.car_stops.watch_car`). A stop shorter than
the interval is missed; that is the price of the mode.

The watch's stops per floor, counted since the task began, are handed on as the same
:class:`ElevatorSample` stream a counting terminal gives (one cumulative count per floor served),
at the first sample and then every polling interval, so the store, the day closer and
recordings take them as they are. Counting starts from zero with the gateway: after a restart the
counts fall back to zero, which the core reads as a counter reset (``gateway.core.counters``),
never as negative or huge stops. The first report, the zeros, is made at once so that the fall
is stored before any stop is counted on top of it. A read failure is logged once per state
change and costs only the samples missed; the watch is kept. A terminal silent for longer than
a report interval is another matter: what the car did meanwhile is unknown, so counting starts
again from zero, as after a restart, and a long silence becomes a gap in the day
(``max_reset_hours``) rather than hours without a stop.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from gateway.core.car_stops import CarSample, CarWatch, watch_car
from gateway.core.registers import decode_blocks
from gateway.errors import DeviceError
from gateway.modbus.link import ModbusLink
from gateway.modbus.read_plans import CAR_FLOOR, DOOR_OPEN, ElevatorBinding
from gateway.observations import ElevatorSample, MeterSample
from qunzu_common.heartbeats import NO_HEARTBEAT, Heartbeat
from simclock import SimClock

log = logging.getLogger(__name__)


class LiftPositionPoller:
    """Samples one position-mode lift's car, counts its stops per floor, and reports them
    every ``report_every_s`` building seconds (the polling interval)."""

    def __init__(
        self, link: ModbusLink, binding: ElevatorBinding, clock: SimClock, report_every_s: float
    ) -> None:
        self.lift = binding.elevator
        self.watch = CarWatch()
        self._blocks = binding.blocks
        self._link = link
        self._clock = clock
        self._report_every = timedelta(seconds=report_every_s)
        self._report_due: datetime | None = None  # None: at the next answered sample
        self._failing = False
        self._last_answer: datetime | None = None
        self._floors_not_served: set[int] = set()

    async def poll_once(self) -> list[ElevatorSample]:
        """Sample the car once; the stops of every floor served when a report is due (at the
        first answered sample, then every ``report_every_s``), else nothing."""
        if not await self.sample_once():
            return []
        now = self._clock.now()
        if self._report_due is not None and now < self._report_due:
            return []
        self._report_due = now + self._report_every
        return self.report()

    async def sample_once(self) -> bool:
        """Read the car's floor and door once and watch them; False if that failed (logged
        once per state change; the watch is kept)."""
        if not await self._link.reachable():
            return False
        lift = self.lift
        try:
            answers = [
                (block, await self._link.read_block(lift.device_id, block))
                for block in self._blocks
            ]
            sample = self._car_sample(decode_blocks(answers))
        except DeviceError as err:
            if not self._failing:
                log.warning("%s (lift %s); will keep trying", err, lift.elevator_id)
                self._failing = True
            return False
        if self._failing:
            log.info("%s device %d answers again", self._link.bus.name, lift.device_id)
            self._failing = False
        self._count_again_after_silence()
        self._check_served(sample.car_floor)
        self.watch = watch_car(self.watch, sample)
        return True

    def _count_again_after_silence(self) -> None:
        now = self._clock.now()
        silent = None if self._last_answer is None else now - self._last_answer
        self._last_answer = now
        if silent is None or silent <= self._report_every:
            return
        log.info(
            "lift %s was silent for %.0f min: its stops are counted again from zero",
            self.lift.elevator_id,
            silent / timedelta(minutes=1),
        )
        self.watch = CarWatch()
        self._report_due = None

    def report(self) -> list[ElevatorSample]:
        """Every served floor's stops counted so far, as a counting terminal's cumulative
        counters; nothing before the first sample."""
        if self.watch.floor is None:
            return []
        now = self._clock.now()
        stops = self.watch.stops
        return [
            ElevatorSample(self.lift.elevator_id, floor, now, float(stops.get(floor, 0)))
            for floor in self.lift.floors
        ]

    def _car_sample(self, values: dict[str, float]) -> CarSample:
        floor, door = values[CAR_FLOOR], values[DOOR_OPEN]
        if not (math.isfinite(floor) and floor == round(floor) and math.isfinite(door)):
            raise DeviceError(
                self._link.bus.name,
                self.lift.device_id,
                f"car_floor {floor!r} and door_open {door!r} are not a floor and a door state",
            )
        return CarSample(self._clock.now(), round(floor), door != 0)

    def _check_served(self, floor: int) -> None:
        """A car at a floor the lift is not configured to serve: its stops are counted but never
        reported; say so once per floor (a terminal numbering floors its own way, usually)."""
        if floor not in self.lift.floors and floor not in self._floors_not_served:
            self._floors_not_served.add(floor)
            log.warning(
                "lift %s: car at floor %d, which is not among its floors %s; stops there are"
                " not reported (check the terminal's floor numbering)",
                self.lift.elevator_id,
                floor,
                list(self.lift.floors),
            )


async def watch_lift_forever(
    poller: LiftPositionPoller,
    clock: SimClock,
    handle: Callable[[list[MeterSample | ElevatorSample]], Awaitable[None]],
    progress: Heartbeat = NO_HEARTBEAT,
    busy_s: float = 0.0,
) -> None:
    """Sample the car every ``position_poll_s`` building seconds and hand each report to
    ``handle`` (the one that takes the polling rounds' samples). ``progress`` hears before each
    sample and each pause how long until it hears again: at most ``busy_s`` for a sample (the
    wait for the bus, whose meters' round goes first, and the hand-off), the pause plus that."""
    interval = clock.wall_seconds(poller.lift.position_poll_s)
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while True:
        progress.beat(busy_s)
        samples = await poller.poll_once()
        if samples:
            await handle([*samples])
        next_at += interval
        pause = max(0.0, next_at - loop.time())
        progress.beat(pause + busy_s)
        await asyncio.sleep(pause)
        if loop.time() - next_at > interval:  # fell far behind (a busy bus): skip ahead
            next_at = loop.time()

"""Polls the meters and lifts on one Modbus bus and turns register words into samples.

One poller per bus, over the bus's one :class:`ModbusLink` (a Modbus TCP address or a Modbus
RTU line; see ``gateway.modbus.link``). Each polling round reads every meter, then every lift in
``counters`` mode, strictly one request after another; different buses are polled concurrently
by separate tasks. A device that does not answer costs its time-out, never the bus: the poller
records the failure and moves to the next device. A lift's monitoring terminal is read like a
meter: its per-floor stop counters (one request per block of neighbouring floors) become one
:class:`ElevatorSample` per floor. The bus's lifts in ``position`` mode ride the same link, each
sampled by its own task (:attr:`ModbusBusPoller.positions`,
``gateway.modbus.lift_position_poller``).

What to read comes from the device profiles (``gateway.modbus.read_plans``), how to decode it from
the pure core (``decode_blocks``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from gateway.config.gateway_file import GatewayConfig
from gateway.core.registers import decode_blocks
from gateway.errors import ConfigError, DeviceError
from gateway.modbus.device_profiles import load_profiles
from gateway.modbus.lift_position_poller import LiftPositionPoller
from gateway.modbus.link import ModbusBus, ModbusLink
from gateway.modbus.read_plans import (
    ElevatorBinding,
    MeterBinding,
    bind_elevators,
    bind_meters,
)
from gateway.observations import ElevatorSample, MeterSample, Sample
from qunzu_common.heartbeats import NO_HEARTBEAT, Heartbeat
from simclock import SimClock

log = logging.getLogger(__name__)

# Beyond a round's worst-case time-outs: handing the samples on (a SQLite write in a thread)
# and, should the loop fail, its supervisor's back-off before the next round (at most 90 s).
ROUND_MARGIN_S = 120.0


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    """What one polling round of a bus did: which devices answered, which did not (a device
    whose bus could not be reached counts as not answering), how long it took."""

    bus: str
    answered: tuple[int, ...]
    failed: tuple[int, ...]
    seconds: float


def _ignore_round(outcome: RoundOutcome) -> None:
    return None


def build_pollers(
    config: GatewayConfig, clock: SimClock, *, check_only: bool = False
) -> list[ModbusBusPoller]:
    """One poller per configured bus with meters or lifts; unknown profiles are a config error.
    pymodbus clients need a running event loop: outside one, pass ``check_only``."""
    profiles = load_profiles(config.profile_dirs)
    missing = sorted(
        {m.profile for u in config.units for m in u.meters if m.profile not in profiles}
    )
    if missing:
        raise ConfigError(f"units: unknown device profile(s): {', '.join(missing)}")
    lifts = bind_elevators(config.elevators, profiles)
    pollers: list[ModbusBusPoller] = []
    if check_only:
        return pollers
    buses: list[ModbusBus] = [*config.modbus_tcp, *config.modbus_rtu]
    for bus in buses:
        meters = [(u.unit_id, m) for u in config.units for m in u.meters if m.bus == bus.name]
        bus_lifts = [lift for lift in lifts if lift.elevator.bus == bus.name]
        if not (meters or bus_lifts):
            continue
        link = ModbusLink(bus)
        counting = [lift for lift in bus_lifts if lift.elevator.mode == "counters"]
        watched = [
            LiftPositionPoller(link, lift, clock, config.polling.interval_s)
            for lift in bus_lifts
            if lift.elevator.mode == "position"
        ]
        pollers.append(
            ModbusBusPoller(
                link, bind_meters(meters, profiles), clock, elevators=counting, positions=watched
            )
        )
    return pollers


async def poll_forever(
    poller: ModbusBusPoller,
    interval_s: float,
    clock: SimClock,
    handle: Callable[[list[Sample]], Awaitable[None]],
    progress: Heartbeat = NO_HEARTBEAT,
    on_round: Callable[[RoundOutcome], None] = _ignore_round,
) -> None:
    """Poll every ``interval_s`` building seconds and hand each non-empty batch to ``handle``.
    ``progress`` hears, before each round and each sleep, how long until it hears again (the
    systemd watchdog stops when a round overruns every time-out: ``qunzu_common.heartbeats``);
    ``on_round`` hears each round's outcome (the metrics endpoint)."""
    interval = clock.wall_seconds(interval_s)
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while True:
        progress.beat(poller.round_budget_s + ROUND_MARGIN_S)
        began = loop.time()
        samples = await poller.poll_once()
        on_round(poller.outcome(loop.time() - began))
        if samples:
            await handle(samples)
        next_at += interval
        pause = max(0.0, next_at - loop.time())
        progress.beat(pause + ROUND_MARGIN_S)
        await asyncio.sleep(pause)
        if loop.time() - next_at > interval:  # fell far behind (a slow bus): skip ahead
            next_at = loop.time()


class ModbusBusPoller:
    """Reads every meter and counting lift of one bus each round, one request at a time: one
    link per bus, and an RS485 line (RTU, or the converter behind a TCP address) never sees two
    requests at once. ``positions`` are the bus's lifts in position mode, on the same link."""

    def __init__(
        self,
        link: ModbusLink,
        meters: Sequence[MeterBinding],
        clock: SimClock,
        *,
        elevators: Sequence[ElevatorBinding] = (),
        positions: Sequence[LiftPositionPoller] = (),
    ) -> None:
        self.link = link
        self.bus = link.bus
        self.meters = tuple(meters)
        self.elevators = tuple(elevators)
        self.positions = tuple(positions)
        self._clock = clock
        self._failing: set[int] = set()
        self._answered: list[int] = []  # this round's, for :meth:`outcome`
        self._non_finite: set[int] = set()  # meters reading NaN or infinity, logged once

    @property
    def has_rounds(self) -> bool:
        """Whether a polling round reads anything (a bus may carry only position-mode lifts)."""
        return bool(self.meters or self.elevators)

    @property
    def round_budget_s(self) -> float:
        """The longest a round can take when every request runs into its time-out: a
        connection check before each device and each planned read, each bounded like
        :meth:`ModbusLink.read_block`."""
        per_request = self.bus.timeout_s * (self.bus.retries + 1) + 1.0
        reads = sum(len(b.blocks) for b in self.meters) + sum(len(b.blocks) for b in self.elevators)
        checks = 1 + len(self.meters) + len(self.elevators)
        return per_request * (reads + checks)

    async def close(self) -> None:
        self.link.close()

    def outcome(self, seconds: float) -> RoundOutcome:
        """The last round: devices that answered, and the others of the round."""
        answered = tuple(self._answered)
        devices = [b.meter.device_id for b in self.meters] + [
            b.elevator.device_id for b in self.elevators
        ]
        failed = tuple(d for d in devices if d not in answered)
        return RoundOutcome(self.bus.name, answered, failed, seconds)

    async def poll_once(self) -> list[Sample]:
        """Read every meter, then every counting lift, once; failures are logged (once per
        state change) and skipped. Meter samples come first."""
        self._answered = []
        if not self.has_rounds or not await self.link.reachable():
            return []
        samples: list[Sample] = []
        samples.extend(await self._poll_meters())
        for lift in self.elevators:
            if not await self.link.reachable():
                break
            samples.extend(await self._poll_elevator(lift))
        return samples

    async def _poll_meters(self) -> list[MeterSample]:
        samples = []
        for binding in self.meters:
            device_id = binding.meter.device_id
            if not await self.link.reachable():
                break
            try:
                value = await self._read_quantity(binding)
            except DeviceError as err:
                if device_id not in self._failing:
                    log.warning("%s (meter of unit %s); will keep trying", err, binding.unit_id)
                    self._failing.add(device_id)
                continue
            if device_id in self._failing:
                log.info("%s device %d answers again", self.bus.name, device_id)
                self._failing.discard(device_id)
            self._answered.append(device_id)
            if not math.isfinite(value):
                if device_id not in self._non_finite:  # once, until it reads a number again
                    log.warning(
                        "%s device %d: %s is %r, not stored (until it reads a number again)",
                        self.bus.name,
                        device_id,
                        binding.meter.kind,
                        value,
                    )
                    self._non_finite.add(device_id)
                continue
            if device_id in self._non_finite:
                log.info("%s device %d reads a number again", self.bus.name, device_id)
                self._non_finite.discard(device_id)
            samples.append(
                MeterSample(binding.unit_id, binding.meter.kind, self._clock.now(), value)
            )
        return samples

    async def _poll_elevator(self, binding: ElevatorBinding) -> list[ElevatorSample]:
        lift = binding.elevator
        try:
            answers = [
                (block, await self.link.read_block(lift.device_id, block))
                for block in binding.blocks
            ]
        except DeviceError as err:
            if lift.device_id not in self._failing:
                log.warning("%s (lift %s); will keep trying", err, lift.elevator_id)
                self._failing.add(lift.device_id)
            return []
        if lift.device_id in self._failing:
            log.info("%s device %d answers again", self.bus.name, lift.device_id)
            self._failing.discard(lift.device_id)
        self._answered.append(lift.device_id)
        values = decode_blocks(answers)
        now = self._clock.now()
        return [
            ElevatorSample(lift.elevator_id, floor, now, values[lift.stops_quantity(floor)])
            for floor in lift.floors
        ]

    async def _read_quantity(self, binding: MeterBinding) -> float:
        """The meter's total: every planned read, parts of the quantity added up."""
        kind = binding.meter.kind
        answers = [
            (block, await self.link.read_block(binding.meter.device_id, block))
            for block in binding.blocks
        ]
        values = decode_blocks(answers)
        if kind not in values:
            raise DeviceError(self.bus.name, binding.meter.device_id, f"profile has no {kind}")
        return values[kind]

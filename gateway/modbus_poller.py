"""Polls the meters and lifts on one Modbus bus and turns register words into samples.

One client per bus: a Modbus TCP address (usually an RS485-to-TCP converter with many meters,
each at its own unit id) or a Modbus RTU line on a local serial port. Requests on one bus go
strictly one after another, because behind either kind sits one RS485 line that carries one
request at a time; different buses are polled concurrently by separate tasks. A device that
does not answer costs its time-out, never the bus: the poller records the failure and moves to
the next meter. A lift's monitoring terminal is read like a meter: its per-floor stop counters
(one request per block of neighbouring floors) become one :class:`ElevatorSample` per floor.

What to read comes from the device profile (``plan_reads``), how to decode it from the pure
core (``decode_blocks``). pymodbus exceptions end here, as :class:`DeviceError`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient, ModbusBaseClient
from pymodbus.exceptions import ModbusException

from gateway.config import GatewayConfig, MeterSpec, ModbusRtuBus, ModbusTcpBus
from gateway.config_devices import ElevatorSpec
from gateway.core.registers import (
    DeviceProfile,
    ReadBlock,
    RegisterFunction,
    decode_blocks,
    plan_reads,
)
from gateway.device_profiles import load_profiles
from gateway.elevator_store import ElevatorSample
from gateway.errors import ConfigError, DeviceError
from gateway.store import MeterSample
from simclock import SimClock

log = logging.getLogger(__name__)

Sample = MeterSample | ElevatorSample


@dataclass(frozen=True, slots=True)
class MeterBinding:
    """One meter as the poller sees it: whose it is, where it answers, how to read it."""

    unit_id: str
    meter: MeterSpec
    profile: DeviceProfile
    blocks: tuple[ReadBlock, ...]


def bind_meters(
    units: Sequence[tuple[str, MeterSpec]], profiles: dict[str, DeviceProfile]
) -> list[MeterBinding]:
    bindings = []
    for unit_id, meter in units:
        profile = profiles[meter.profile]
        bindings.append(MeterBinding(unit_id, meter, profile, plan_reads(profile, [meter.kind])))
    return bindings


@dataclass(frozen=True, slots=True)
class ElevatorBinding:
    """One lift's terminal as the poller sees it: which floors, where it answers, what to read."""

    elevator: ElevatorSpec
    blocks: tuple[ReadBlock, ...]


def bind_elevators(
    elevators: Sequence[ElevatorSpec], profiles: dict[str, DeviceProfile]
) -> list[ElevatorBinding]:
    """Read plans for ``elevators``; a profile without a floor's counter is a config error."""
    bindings = []
    for i, lift in enumerate(elevators):
        profile = profiles.get(lift.profile)
        if profile is None:
            raise ConfigError(f"elevators[{i}].profile: unknown device profile {lift.profile!r}")
        known = {spec.quantity for spec in profile.registers}
        missing = [floor for floor in lift.floors if lift.stops_quantity(floor) not in known]
        if missing:
            raise ConfigError(
                f"elevators[{i}].floors: profile {profile.name} has no stop counter for floor(s)"
                f" {', '.join(map(str, missing))} (quantity stops_floor_<n>)"
            )
        quantities = [lift.stops_quantity(floor) for floor in lift.floors]
        bindings.append(ElevatorBinding(lift, plan_reads(profile, quantities)))
    return bindings


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
    for bus in (*config.modbus_tcp, *config.modbus_rtu):
        meters = [(u.unit_id, m) for u in config.units for m in u.meters if m.bus == bus.name]
        bus_lifts = [lift for lift in lifts if lift.elevator.bus == bus.name]
        if meters or bus_lifts:
            pollers.append(
                ModbusBusPoller(bus, bind_meters(meters, profiles), clock, elevators=bus_lifts)
            )
    return pollers


async def poll_forever(
    poller: ModbusBusPoller,
    interval_s: float,
    clock: SimClock,
    handle: Callable[[list[Sample]], Awaitable[None]],
) -> None:
    """Poll every ``interval_s`` building seconds and hand each non-empty batch to ``handle``."""
    interval = clock.wall_seconds(interval_s)
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while True:
        samples = await poller.poll_once()
        if samples:
            await handle(samples)
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        if loop.time() - next_at > interval:  # fell far behind (a slow bus): skip ahead
            next_at = loop.time()


ModbusBus = ModbusTcpBus | ModbusRtuBus


def _client_for(bus: ModbusBus) -> ModbusBaseClient:
    if isinstance(bus, ModbusTcpBus):
        return AsyncModbusTcpClient(
            bus.host,
            port=bus.port,
            timeout=bus.timeout_s,
            retries=bus.retries,
            reconnect_delay=0.5,
            reconnect_delay_max=30.0,
            name=bus.name,
        )
    return AsyncModbusSerialClient(
        bus.port,
        framer=FramerType.RTU,
        baudrate=bus.baudrate,
        parity=bus.parity,
        stopbits=bus.stopbits,
        bytesize=bus.bytesize,
        timeout=bus.timeout_s,
        retries=bus.retries,
        reconnect_delay=0.5,
        reconnect_delay_max=30.0,
        name=bus.name,
    )


def describe_bus(bus: ModbusBus) -> str:
    if isinstance(bus, ModbusTcpBus):
        return f"{bus.name} (Modbus TCP {bus.host}:{bus.port})"
    line = f"{bus.baudrate} {bus.bytesize}{bus.parity}{bus.stopbits}"
    return f"{bus.name} (Modbus RTU {bus.port} {line})"


class ModbusBusPoller:
    """Reads every meter and lift of one bus, one request at a time: one client per bus, and an
    RS485 line (RTU, or the converter behind a TCP address) never sees two requests at once."""

    def __init__(
        self,
        bus: ModbusBus,
        meters: Sequence[MeterBinding],
        clock: SimClock,
        *,
        elevators: Sequence[ElevatorBinding] = (),
    ) -> None:
        self.bus = bus
        self.meters = tuple(meters)
        self.elevators = tuple(elevators)
        self._clock = clock
        self._client = _client_for(bus)
        self._failing: set[int] = set()

    async def close(self) -> None:
        self._client.close()

    async def poll_once(self) -> list[Sample]:
        """Read every meter, then every lift, once; failures are logged (once per state change)
        and skipped. Meter samples come first."""
        if not self._client.connected and not await self._client.connect():
            self._note_bus_down()
            return []
        samples: list[Sample] = []
        samples.extend(await self._poll_meters())
        for lift in self.elevators:
            if not self._client.connected and not await self._client.connect():
                self._note_bus_down()
                break
            samples.extend(await self._poll_elevator(lift))
        return samples

    async def _poll_meters(self) -> list[MeterSample]:
        samples = []
        for binding in self.meters:
            device_id = binding.meter.device_id
            # A garbled answer makes pymodbus drop a TCP connection: connect again, so one bad
            # frame costs one meter's reading, not the rest of the bus.
            if not self._client.connected and not await self._client.connect():
                self._note_bus_down()
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
            if not math.isfinite(value):
                log.warning(
                    "%s device %d: %s is %r, not stored",
                    self.bus.name,
                    device_id,
                    binding.meter.kind,
                    value,
                )
                continue
            samples.append(
                MeterSample(binding.unit_id, binding.meter.kind, self._clock.now(), value)
            )
        return samples

    async def _poll_elevator(self, binding: ElevatorBinding) -> list[ElevatorSample]:
        lift = binding.elevator
        try:
            answers = [
                (block, await self._read_block(lift.device_id, block)) for block in binding.blocks
            ]
        except DeviceError as err:
            if lift.device_id not in self._failing:
                log.warning("%s (lift %s); will keep trying", err, lift.elevator_id)
                self._failing.add(lift.device_id)
            return []
        if lift.device_id in self._failing:
            log.info("%s device %d answers again", self.bus.name, lift.device_id)
            self._failing.discard(lift.device_id)
        values = decode_blocks(answers)
        now = self._clock.now()
        return [
            ElevatorSample(lift.elevator_id, floor, now, values[lift.stops_quantity(floor)])
            for floor in lift.floors
        ]

    def _note_bus_down(self) -> None:
        if -1 not in self._failing:
            log.warning("%s: cannot connect", describe_bus(self.bus))
            self._failing.add(-1)

    async def _read_quantity(self, binding: MeterBinding) -> float:
        """The meter's total: every planned read, parts of the quantity added up."""
        kind = binding.meter.kind
        answers = [
            (block, await self._read_block(binding.meter.device_id, block))
            for block in binding.blocks
        ]
        values = decode_blocks(answers)
        if kind not in values:
            raise DeviceError(self.bus.name, binding.meter.device_id, f"profile has no {kind}")
        return values[kind]

    async def _read_block(self, device_id: int, block: ReadBlock) -> list[int]:
        read = (
            self._client.read_input_registers
            if block.function is RegisterFunction.INPUT
            else self._client.read_holding_registers
        )
        # pymodbus bounds each try by the bus time-out; this bounds the whole request.
        budget = self.bus.timeout_s * (self.bus.retries + 1) + 1.0
        try:
            async with asyncio.timeout(budget):
                response = await read(block.address, count=block.count, device_id=device_id)
        except TimeoutError as err:
            raise DeviceError(self.bus.name, device_id, f"no answer within {budget:.1f} s") from err
        except ModbusException as err:
            raise DeviceError(self.bus.name, device_id, str(err)) from err
        if response.isError():
            raise DeviceError(self.bus.name, device_id, f"exception response: {response}")
        if len(response.registers) != block.count:
            raise DeviceError(
                self.bus.name,
                device_id,
                f"asked for {block.count} registers, got {len(response.registers)}",
            )
        return list(response.registers)

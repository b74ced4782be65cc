"""Polls the meters on one Modbus bus and turns register words into meter samples.

One client per bus: a Modbus TCP address (usually an RS485-to-TCP converter with many meters,
each at its own unit id) or a Modbus RTU line on a local serial port. Requests on one bus go
strictly one after another, because behind either kind sits one RS485 line that carries one
request at a time; different buses are polled concurrently by separate tasks. A device that
does not answer costs its time-out, never the bus: the poller records the failure and moves to
the next meter.

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
from gateway.core.registers import (
    DeviceProfile,
    ReadBlock,
    RegisterFunction,
    decode_blocks,
    plan_reads,
)
from gateway.device_profiles import load_profiles
from gateway.errors import ConfigError, DeviceError
from gateway.store import MeterSample
from simclock import SimClock

log = logging.getLogger(__name__)


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


def build_pollers(
    config: GatewayConfig, clock: SimClock, *, check_only: bool = False
) -> list[ModbusBusPoller]:
    """One poller per configured bus that has meters; unknown profiles are a config error.
    pymodbus clients need a running event loop: outside one, pass ``check_only``."""
    profiles = load_profiles(config.profile_dirs)
    missing = sorted(
        {m.profile for u in config.units for m in u.meters if m.profile not in profiles}
    )
    if missing:
        raise ConfigError(f"units: unknown device profile(s): {', '.join(missing)}")
    pollers: list[ModbusBusPoller] = []
    if check_only:
        return pollers
    for bus in (*config.modbus_tcp, *config.modbus_rtu):
        meters = [(u.unit_id, m) for u in config.units for m in u.meters if m.bus == bus.name]
        if meters:
            pollers.append(ModbusBusPoller(bus, bind_meters(meters, profiles), clock))
    return pollers


async def poll_forever(
    poller: ModbusBusPoller,
    interval_s: float,
    clock: SimClock,
    handle: Callable[[list[MeterSample]], Awaitable[None]],
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
    """Reads every meter of one bus, one request at a time: one client per bus, and an RS485
    line (RTU, or the converter behind a TCP address) never sees two requests at once."""

    def __init__(self, bus: ModbusBus, meters: Sequence[MeterBinding], clock: SimClock) -> None:
        self.bus = bus
        self.meters = tuple(meters)
        self._clock = clock
        self._client = _client_for(bus)
        self._failing: set[int] = set()

    async def close(self) -> None:
        self._client.close()

    async def poll_once(self) -> list[MeterSample]:
        """Read every meter once; failures are logged (once per state change) and skipped."""
        if not self._client.connected and not await self._client.connect():
            self._note_bus_down()
            return []
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

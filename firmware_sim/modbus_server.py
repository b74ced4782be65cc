"""One Modbus TCP listener answering for every meter of a simulated building.

A building's meters usually sit on RS485 behind one RS485-to-TCP converter, each at its own
device id; this server plays that converter. Every meter is a pymodbus ``SimDevice`` whose
registers span address 0 to the last register of its device map, read-only. Values are computed
when they are read: the device's ``action`` hook (called by pymodbus before it answers) asks the
meter's source (a household model, or a generated scenario) for its state at the simulated time
of the request and writes the encoded words into the device's registers. So there is no refresh
task to fall behind, and a reading is exact for the instant it is taken, at any time scale.
A meter whose source says it is offline answers nothing, like a ``silent`` fault. A lift's
monitoring terminal (``SimulatedLift``, values from ``firmware_sim.lift_model``) is one more
device behind the same listener, and meets the same faults on the wire.

A device answers only on its own table (input registers for the SDM120, holding registers for
the water meter) and refuses writes. A request for a device id the building does not have gets
exception 0x0B (gateway target failed to respond), as from a converter whose meter is silent.
pymodbus ends at this module: its errors become :class:`ModbusServerError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from firmware_sim import FirmwareSimError
from firmware_sim.building_config import BuildingConfig, MeterSpec
from firmware_sim.faults import FaultSpec, shown_total
from firmware_sim.households import HouseholdModel
from firmware_sim.lift_model import LiftModel, building_lifts
from firmware_sim.register_encoding import (
    DEVICE_MAPS,
    LIFT_SPAN,
    LIFT_TABLE,
    DeviceMap,
    MeterState,
    encode_lift_registers,
    encode_registers,
)
from firmware_sim.wire_faults import DeviceFaults

__all__ = [
    "BuildingServer",
    "Clock",
    "HouseholdSource",
    "MeterServer",
    "MeterSource",
    "ModbusServerError",
    "SerialLine",
    "SimulatedDevice",
    "SimulatedLift",
    "SimulatedMeter",
]

log = logging.getLogger(__name__)

REGISTER_SPACE = 0x1_0000
CATCH_ALL_DEVICE_ID = 0  # pymodbus sends requests for unknown ids to device 0


@dataclass(frozen=True, slots=True)
class SerialLine:
    """A serial port to serve Modbus RTU on, instead of TCP (a USB-RS485 adapter, or one end
    of a pseudo-terminal pair in tests)."""

    port: str
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1


class ModbusServerError(FirmwareSimError):
    """The server cannot start (address in use, not allowed to bind)."""


class Clock(Protocol):
    """What the server needs of a clock (``simclock.SimClock`` in the program, a clock the test
    advances in tests): the simulated start, if any, and the building time now."""

    @property
    def start(self) -> datetime | None: ...

    def now(self) -> datetime: ...


class MeterSource(Protocol):
    """Where a simulated meter's values come from: a household model (``HouseholdSource``) or
    a generated scenario (``firmware_sim.scenario_serving``). ``start`` is the simulated start;
    faults are scheduled in days after it."""

    @property
    def start(self) -> datetime: ...

    def state_at(self, t: datetime) -> MeterState | None:
        """What the meter shows at ``t``; None while it is offline (it then answers nothing)."""
        ...

    def total_at(self, t: datetime) -> float:
        """The true cumulative total at ``t`` (a stuck or reset fault starts from it)."""
        ...


@dataclass(frozen=True, slots=True)
class HouseholdSource:
    """One meter kind of a household model (``firmware_sim.households``)."""

    household: HouseholdModel
    kind: str

    @property
    def start(self) -> datetime:
        return self.household.start

    def state_at(self, t: datetime) -> MeterState:
        return MeterState(
            total=self.household.total_at(self.kind, t),
            rate_per_hour=self.household.rate_per_hour(self.kind, t),
            mains_voltage=self.household.mains_voltage(t),
        )

    def total_at(self, t: datetime) -> float:
        return self.household.total_at(self.kind, t)


class SimulatedDevice(Protocol):
    """What the server needs of a device behind it: a meter or a lift terminal."""

    @property
    def device_id(self) -> int: ...

    @property
    def faults(self) -> tuple[FaultSpec, ...]: ...

    def sim_device(self) -> SimDevice: ...

    def frame_to_send(self, frame: bytes, *, rtu: bool) -> bytes: ...


class SimulatedMeter:
    """One meter: where its values come from, its device map, and the hook that fills its
    registers."""

    def __init__(
        self,
        source: MeterSource,
        meter: MeterSpec,
        clock: Clock,
        faults: tuple[FaultSpec, ...] = (),
    ) -> None:
        self.source = source
        self.meter = meter
        self.device_map: DeviceMap = DEVICE_MAPS[meter.device]
        self._clock = clock
        self.wire = DeviceFaults(meter.device_id, faults, source.start, clock.now)

    @property
    def device_id(self) -> int:
        return self.meter.device_id

    @property
    def faults(self) -> tuple[FaultSpec, ...]:
        return self.wire.faults

    def fault_now(self) -> FaultSpec | None:
        return self.wire.now()

    def is_silent_now(self) -> bool:
        """A meter with a ``silent`` fault, or offline in its scenario, answers nothing."""
        return self.wire.silent() or self.source.state_at(self._clock.now()) is None

    def frame_to_send(self, frame: bytes, *, rtu: bool) -> bytes:
        """The answer frame as it leaves: dropped (b"") when silent, damaged by a frame fault."""
        return b"" if self.is_silent_now() else self.wire.damage(frame, rtu=rtu)

    def state(self) -> MeterState | None:
        """What the meter shows now, on the simulated clock, faults included (None: offline)."""
        now = self._clock.now()
        state = self.source.state_at(now)
        fault = self.fault_now()
        if state is None or fault is None:
            return state
        began = self.source.start + timedelta(days=fault.from_day)
        total = shown_total(fault, state.total, self.source.total_at(began))
        return MeterState(total, state.rate_per_hour, state.mains_voltage)

    def sim_device(self) -> SimDevice:
        registers = SimData(
            address=0,
            count=self.device_map.span,
            values=0,
            datatype=DataType.REGISTERS,
            readonly=True,
        )
        return SimDevice(id=self.meter.device_id, simdata=[registers], action=self.on_access)

    async def on_access(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus calls this before answering; the registers are filled in place."""
        if set_values is not None or function_code != self.device_map.table.read_function_code:
            return ExcCodes.ILLEGAL_FUNCTION
        refusal = await self.wire.before_answer()
        if refusal is not None:
            return refusal
        state = self.state()
        if state is None:  # offline: the answer is dropped on its way out (see MeterServer)
            return ExcCodes.GATEWAY_NO_RESPONSE
        for register, word in encode_registers(self.device_map, state).items():
            registers[register - start_address] = word
        return None


class SimulatedLift:
    """A lift's monitoring terminal: counters from its model, faults on the wire only (the
    building file refuses value faults on a lift)."""

    def __init__(
        self, model: LiftModel, device_id: int, clock: Clock, faults: tuple[FaultSpec, ...] = ()
    ) -> None:
        self.model = model
        self._device_id = device_id
        self._clock = clock
        self.wire = DeviceFaults(device_id, faults, model.start, clock.now)

    @property
    def device_id(self) -> int:
        return self._device_id

    @property
    def faults(self) -> tuple[FaultSpec, ...]:
        return self.wire.faults

    def fault_now(self) -> FaultSpec | None:
        return self.wire.now()

    def frame_to_send(self, frame: bytes, *, rtu: bool) -> bytes:
        return b"" if self.wire.silent() else self.wire.damage(frame, rtu=rtu)

    def sim_device(self) -> SimDevice:
        registers = SimData(
            address=0, count=LIFT_SPAN, values=0, datatype=DataType.REGISTERS, readonly=True
        )
        return SimDevice(id=self._device_id, simdata=[registers], action=self.on_access)

    async def on_access(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus calls this before answering; the registers are filled in place."""
        if set_values is not None or function_code != LIFT_TABLE.read_function_code:
            return ExcCodes.ILLEGAL_FUNCTION
        refusal = await self.wire.before_answer()
        if refusal is not None:
            return refusal
        state = self.model.state_at(self._clock.now())
        words = encode_lift_registers(state.stops, state.car_floor, state.door_open)
        for register, word in words.items():
            if start_address <= register < start_address + len(registers):
                registers[register - start_address] = word
        return None


async def _no_such_device(
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    registers: list[int],
    set_values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    return ExcCodes.GATEWAY_NO_RESPONSE


def _catch_all_device() -> SimDevice:
    everything = SimData(address=0, count=REGISTER_SPACE, values=0, datatype=DataType.REGISTERS)
    return SimDevice(id=CATCH_ALL_DEVICE_ID, simdata=[everything], action=_no_such_device)


def building_lifts_served(config: BuildingConfig, clock: Clock, seed: int) -> list[SimulatedLift]:
    """Every lift terminal of the building, its model starting with the households'."""
    start = clock.start if clock.start is not None else clock.now()
    offset = config.building.timezone.utcoffset(None) or timedelta(0)
    return [
        SimulatedLift(model, model.lift.device_id, clock, config.faults)
        for model in building_lifts(config, start, seed, offset)
    ]


def building_meters(config: BuildingConfig, clock: Clock, seed: int) -> list[SimulatedMeter]:
    """Every meter of the building, its household model starting at the clock's start (or now,
    on a real clock)."""
    start = clock.start if clock.start is not None else clock.now()
    offset = config.building.timezone.utcoffset(None) or timedelta(0)
    meters: list[SimulatedMeter] = []
    for unit in config.units:
        household = HouseholdModel(unit=unit, start=start, seed=seed, utc_offset=offset)
        meters.extend(
            SimulatedMeter(HouseholdSource(household, meter.kind), meter, clock, config.faults)
            for meter in unit.meters
        )
    return meters


class MeterServer:
    """One Modbus TCP listener (or RTU line) answering for ``meters``, as one RS485-to-TCP
    converter (or one RS485 line) does. ``await start()``, then ``await stop()``."""

    def __init__(
        self,
        meters: Sequence[SimulatedDevice],
        *,
        host: str,
        port: int,
        serial: SerialLine | None = None,
    ) -> None:
        self.meters = list(meters)
        self.host = host
        self.serial = serial
        self._requested_port = port
        self._server: ModbusTcpServer | ModbusSerialServer | None = None

    @property
    def where(self) -> str:
        """What the READY line names: ``modbus-tcp HOST:PORT`` or ``modbus-rtu DEVICE``."""
        if self.serial is not None:
            return f"modbus-rtu {self.serial.port}"
        return f"modbus-tcp {self.host}:{self.port}"

    @property
    def port(self) -> int:
        """The port listened on (the chosen one when started with port 0)."""
        if self._server is None or self.serial is not None:
            raise ModbusServerError("the server is not listening on TCP")
        sockets = self._server.transport.sockets  # type: ignore[attr-defined]
        return int(sockets[0].getsockname()[1])

    async def start(self) -> None:
        if self.serial is not None:
            await self._start_serial(self.serial)
            return
        devices = [meter.sim_device() for meter in self.meters]
        server = ModbusTcpServer(
            [*devices, _catch_all_device()],
            address=(self.host, self._requested_port),
            trace_packet=self._answer_as_faults_say,
        )
        if any(f.kind == "bad_crc" for m in self.meters for f in m.faults):
            log.warning("bad_crc faults act on Modbus RTU only: TCP frames carry no CRC")
        try:
            await server.serve_forever(background=True)
        except RuntimeError as err:
            await server.shutdown()  # type: ignore[no-untyped-call]
            raise ModbusServerError(
                f"cannot listen on {self.host}:{self._requested_port}"
                " (address in use, or not allowed)"
            ) from err
        self._server = server
        log.info(
            "serving %d meters on %s:%d (device ids %s)",
            len(self.meters),
            self.host,
            self.port,
            ", ".join(str(m.device_id) for m in self.meters),
        )

    async def _start_serial(self, line: SerialLine) -> None:
        # On an RS485 line a device id nobody has is simply silent: no catch-all device here.
        server = ModbusSerialServer(
            [meter.sim_device() for meter in self.meters],
            framer=FramerType.RTU,
            port=line.port,
            baudrate=line.baudrate,
            parity=line.parity,
            stopbits=line.stopbits,
            ignore_missing_devices=True,
            trace_packet=self._answer_as_faults_say,
        )
        try:
            await server.serve_forever(background=True)
        except (RuntimeError, OSError) as err:
            await server.shutdown()  # type: ignore[no-untyped-call]
            raise ModbusServerError(f"cannot open serial port {line.port}: {err}") from err
        self._server = server
        log.info("serving %d meters on %s", len(self.meters), self.where)

    def _answer_as_faults_say(self, sending: bool, packet: bytes) -> bytes:
        """A silent meter answers nothing: its response frame is dropped before it is sent,
        so the client times out as it would on a dead meter; a frame fault damages it. The
        device id is byte 6 of a Modbus TCP frame (after the MBAP header) and byte 0 of an RTU
        frame."""
        rtu = self.serial is not None
        index = 0 if rtu else 6
        if sending and len(packet) > index:
            for meter in self.meters:
                if meter.device_id == packet[index]:
                    return meter.frame_to_send(packet, rtu=rtu)
        return packet

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            listener = server.transport
            await server.shutdown()  # type: ignore[no-untyped-call]
            if isinstance(listener, asyncio.Server):
                await listener.wait_closed()
            await asyncio.sleep(0)  # let the closed connections' transports finish
            log.info("server stopped")


class BuildingServer(MeterServer):
    """Every meter and lift terminal of a building file behind one listener."""

    def __init__(
        self,
        config: BuildingConfig,
        clock: Clock,
        *,
        seed: int,
        host: str,
        port: int,
        serial: SerialLine | None = None,
    ) -> None:
        devices: list[SimulatedDevice] = [
            *building_meters(config, clock, seed),
            *building_lifts_served(config, clock, seed),
        ]
        super().__init__(devices, host=host, port=port, serial=serial)

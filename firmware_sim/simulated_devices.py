"""The devices a simulated building has behind its Modbus listener: meters and lift terminals.

Every device is a pymodbus ``SimDevice`` whose registers span address 0 to the last register of
its device map, read-only. Values are computed when they are read: the device's ``action`` hook
(called by pymodbus before it answers) asks the device's source for its state at the simulated
time of the request and writes the encoded words into the registers. So there is no refresh task
to fall behind, and a reading is exact for the instant it is taken, at any time scale.

A meter (:class:`SimulatedMeter`) takes its values from a :class:`MeterSource`: one meter kind of
a household model (:class:`HouseholdSource`) or a generated scenario
(``firmware_sim.scenario_serving``); value faults change what it shows, and a meter whose source
says it is offline answers nothing, like a ``silent`` fault. A lift's monitoring terminal
(:class:`SimulatedLift`) takes its counters, and its car's position and door, from a
:class:`LiftSource`: ``firmware_sim.lift_model`` or a generated scenario
(``firmware_sim.scenario_serving``). Both meet the same faults on the wire
(``firmware_sim.wire_faults``). A device answers only on its own table (input registers for the
SDM120, holding registers for the water meter) and refuses writes; a model with identity
registers (the SDM120's serial number and meter code) also answers those, on their own table.

The listener that serves them is :mod:`firmware_sim.modbus_server`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from firmware_sim.building_config import BuildingConfig, MeterSpec
from firmware_sim.faults import FaultSpec, shown_total
from firmware_sim.households import HouseholdModel
from firmware_sim.lift_model import CarPosition, building_lifts
from firmware_sim.register_encoding import (
    DEVICE_MAPS,
    LIFT_SPAN,
    LIFT_STOPS_BASE,
    LIFT_TABLE,
    DeviceMap,
    MeterState,
    encode_car_registers,
    encode_identity,
    encode_registers,
    encode_stop_counters,
)
from firmware_sim.wire_faults import DeviceFaults

__all__ = [
    "Clock",
    "HouseholdSource",
    "LiftSource",
    "MeterSource",
    "SimulatedDevice",
    "SimulatedLift",
    "SimulatedMeter",
    "building_lifts_served",
    "building_meters",
]


class Clock(Protocol):
    """What the devices need of a clock (``simclock.SimClock`` in the program, a clock the test
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


class LiftSource(Protocol):
    """Where a lift terminal's values come from: a lift of a building file
    (``lift_model.LiftModel``) or of a generated scenario (``firmware_sim.scenario_serving``).
    ``start`` is the simulated start; faults are scheduled in days after it."""

    @property
    def start(self) -> datetime: ...

    def stops(self, t: datetime) -> Mapping[int, int]:
        """Every served floor's cumulative stop counter at ``t`` (floor -> stops)."""
        ...

    def car_at(self, t: datetime) -> CarPosition:
        """Where the car is at ``t`` and whether its door is open."""
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

    @property
    def serial_number(self) -> int:
        """A serial number of this meter's own, as its identity registers show it."""
        return 24_000_000 + self.meter.device_id

    def sim_device(self) -> SimDevice:
        blocks = [
            SimData(
                address=0,
                count=self.device_map.span,
                values=0,
                datatype=DataType.REGISTERS,
                readonly=True,
            )
        ]
        identity = self.device_map.identity
        if identity is not None:
            blocks.append(
                SimData(
                    address=identity.address,
                    count=identity.count,
                    values=0,
                    datatype=DataType.REGISTERS,
                    readonly=True,
                )
            )
        return SimDevice(id=self.meter.device_id, simdata=blocks, action=self.on_access)

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
        identity = self.device_map.identity
        asks_identity = identity is not None and address >= identity.address
        table = identity.table if identity is not None and asks_identity else self.device_map.table
        if set_values is not None or function_code != table.read_function_code:
            return ExcCodes.ILLEGAL_FUNCTION
        if identity is not None and asks_identity:
            if address + count > identity.address + identity.count:
                return ExcCodes.ILLEGAL_ADDRESS
            refusal = await self.wire.before_answer()
            if refusal is not None or self.state() is None:
                return refusal or ExcCodes.GATEWAY_NO_RESPONSE
            for register, word in encode_identity(identity, self.serial_number).items():
                if start_address <= register < start_address + len(registers):
                    registers[register - start_address] = word
            return None
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
    """A lift's monitoring terminal: counters, car position and door from its source, faults on
    the wire only (the building file refuses value faults on a lift)."""

    def __init__(
        self,
        source: LiftSource,
        device_id: int,
        clock: Clock,
        faults: tuple[FaultSpec, ...] = (),
    ) -> None:
        self.source = source
        self._device_id = device_id
        self._clock = clock
        self.wire = DeviceFaults(device_id, faults, source.start, clock.now)

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
        # Only what was asked for is worked out: the car's position costs a search.
        now = self._clock.now()
        words: dict[int, int] = {}
        if start_address < LIFT_STOPS_BASE:
            car = self.source.car_at(now)
            words.update(encode_car_registers(car.car_floor, car.door_open))
        if start_address + len(registers) > LIFT_STOPS_BASE:
            words.update(encode_stop_counters(self.source.stops(now)))
        for register, word in words.items():
            if start_address <= register < start_address + len(registers):
                registers[register - start_address] = word
        return None


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

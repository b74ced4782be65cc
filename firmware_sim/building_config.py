"""A simulated building: one TOML file, validated once into frozen objects.

The file describes the building (its id and UTC offset), where the simulator listens, every unit
with its floor area, rooms and household, the meters fitted in it (kind, device model, Modbus
device id, reading at the start), the changes of household that happen during the run, and the
lifts whose monitoring terminals count stops per floor (``[[elevators]]``).

A broken file is refused with one line per problem naming the file, the field path and the rule
broken, for example ``building.toml: units[3].area_m2: Input should be greater than 0``.
"""

from __future__ import annotations

import tomllib
from datetime import timezone
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from firmware_sim import FirmwareSimError
from firmware_sim.faults import WIRE_FAULTS, FaultSpec
from firmware_sim.register_encoding import DEVICE_MAPS
from qunzu_common.config_errors import format_validation_error
from qunzu_common.utc_offset import parse_utc_offset

__all__ = [
    "BuildingConfig",
    "BuildingConfigError",
    "BuildingSection",
    "DeviceModel",
    "ElevatorSpec",
    "MeterKind",
    "MeterSpec",
    "ModbusTcpSection",
    "OccupancyChange",
    "UnitSpec",
    "load_building_config",
]

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MeterKind = Literal["water_m3", "electricity_kwh", "gas_m3"]
# The names of DEVICE_MAPS (a test keeps the two in step).
DeviceModel = Literal["eastron_sdm120", "generic_water_u32", "generic_gas_u32"]


class BuildingConfigError(FirmwareSimError):
    """The building file is unusable; one line per problem: file, field path, rule broken."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BuildingSection(_Frozen):
    id: Identifier
    name: str = ""
    utc_offset: str = "+08:00"

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        parse_utc_offset(value)
        return value

    @property
    def timezone(self) -> timezone:
        """The building's local time: days start at its midnight."""
        return parse_utc_offset(self.utc_offset)


class ModbusTcpSection(_Frozen):
    host: str = "127.0.0.1"
    port: int = Field(default=5020, ge=0, le=65535, description="0 picks a free port")


class MeterSpec(_Frozen):
    kind: MeterKind
    device: DeviceModel
    device_id: int = Field(ge=1, le=247)
    initial_total: float = Field(default=0.0, ge=0, description="m3 or kWh at the start")

    @field_validator("device")
    @classmethod
    def _device_measures_kind(cls, device: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        measures = DEVICE_MAPS[device].measures
        if kind is not None and kind not in measures:
            raise ValueError(f"{device} measures {', '.join(sorted(measures))}, not {kind}")
        return device


class ElevatorSpec(_Frozen):
    """A lift and its monitoring terminal (served with the reference map of
    ``gateway/modbus/profiles/elevator_floor_counters.toml``)."""

    elevator_id: Identifier
    device_id: int = Field(ge=1, le=247)
    floors: tuple[int, ...] = Field(min_length=1, description="the floors the lift serves")
    ground_floor: int = 1

    @model_validator(mode="after")
    def _floors(self) -> ElevatorSpec:
        for i, floor in enumerate(self.floors):
            if floor in self.floors[:i]:
                raise ValueError(f"floors: {floor} is listed twice")
            if not 1 <= floor <= 32:
                raise ValueError(f"floors: {floor} has no counter in the terminal (floors 1-32)")
        if self.ground_floor not in self.floors:
            raise ValueError(f"ground_floor: {self.ground_floor} is not among the floors served")
        return self


class OccupancyChange(_Frozen):
    at_day: float = Field(ge=0, description="days after the simulated start, e.g. 1.0 or 2.5")
    occupants: int = Field(ge=0)
    label: str = ""


class UnitSpec(_Frozen):
    unit_id: Identifier
    floor: int
    area_m2: float = Field(gt=0)
    rooms: int = Field(ge=1)
    occupants: int = Field(ge=0)
    meters: tuple[MeterSpec, ...]
    changes: tuple[OccupancyChange, ...] = ()

    # Checked after the items, so a unit whose only meter is broken gets one message, not two.
    @field_validator("meters")
    @classmethod
    def _some_meter(cls, meters: tuple[MeterSpec, ...]) -> tuple[MeterSpec, ...]:
        if not meters:
            raise ValueError("must list at least one meter")
        return meters

    def problems(self) -> list[str]:
        """Rules across the unit's fields, as ``field.path: rule`` relative to the unit."""
        found = []
        kinds = [meter.kind for meter in self.meters]
        for j, kind in enumerate(kinds):
            if kind in kinds[:j]:
                found.append(f"meters[{j}].kind: a second {kind} meter in one unit")
        for j in range(1, len(self.changes)):
            before = self.changes[j - 1].at_day
            if self.changes[j].at_day <= before:
                found.append(
                    f"changes[{j}].at_day: must be later than changes[{j - 1}] ({before:g});"
                    " list changes in order"
                )
        return found

    def meter(self, kind: str) -> MeterSpec | None:
        return next((meter for meter in self.meters if meter.kind == kind), None)


class BuildingConfig(_Frozen):
    """The whole validated file. Build it with :func:`load_building_config`."""

    building: BuildingSection
    modbus_tcp: ModbusTcpSection = ModbusTcpSection()
    units: tuple[UnitSpec, ...]
    faults: tuple[FaultSpec, ...] = ()
    elevators: tuple[ElevatorSpec, ...] = ()

    @field_validator("units")
    @classmethod
    def _some_unit(cls, units: tuple[UnitSpec, ...]) -> tuple[UnitSpec, ...]:
        if not units:
            raise ValueError("must list at least one unit")
        return units

    @model_validator(mode="after")
    def _consistent(self) -> BuildingConfig:
        problems: list[str] = []
        units: dict[str, int] = {}
        devices: dict[int, str] = {}
        for i, unit in enumerate(self.units):
            problems.extend(f"units[{i}].{problem}" for problem in unit.problems())
            if unit.unit_id in units:
                problems.append(
                    f"units[{i}].unit_id: {unit.unit_id!r} is already used by"
                    f" units[{units[unit.unit_id]}]"
                )
            units.setdefault(unit.unit_id, i)
            for j, meter in enumerate(unit.meters):
                where = f"units[{i}].meters[{j}]"
                if meter.device_id in devices:
                    problems.append(
                        f"{where}.device_id: {meter.device_id} is already used by"
                        f" {devices[meter.device_id]}; device ids must be unique in a building"
                    )
                devices.setdefault(meter.device_id, f"{where} (unit {unit.unit_id})")
        lifts: dict[str, int] = {}
        for i, lift in enumerate(self.elevators):
            where = f"elevators[{i}]"
            if lift.elevator_id in lifts:
                problems.append(
                    f"{where}.elevator_id: {lift.elevator_id!r} is already used by"
                    f" elevators[{lifts[lift.elevator_id]}]"
                )
            lifts.setdefault(lift.elevator_id, i)
            if lift.device_id in devices:
                problems.append(
                    f"{where}.device_id: {lift.device_id} is already used by"
                    f" {devices[lift.device_id]}; device ids must be unique in a building"
                )
            devices.setdefault(lift.device_id, where)
        models = {m.device_id: m.device for u in self.units for m in u.meters}
        lift_ids = {lift.device_id for lift in self.elevators}
        for i, fault in enumerate(self.faults):
            if fault.device_id in lift_ids and fault.device_id not in models:
                if fault.kind not in WIRE_FAULTS:
                    problems.append(
                        f"faults[{i}].kind: a lift terminal takes only faults on the wire"
                        f" ({', '.join(sorted(WIRE_FAULTS))}), not {fault.kind}"
                    )
            elif fault.device_id not in models:
                problems.append(f"faults[{i}].device_id: no meter has device id {fault.device_id}")
            elif fault.kind == "nan" and models[fault.device_id] != "eastron_sdm120":
                problems.append(
                    f"faults[{i}].kind: a {models[fault.device_id]} has no float registers to"
                    " read NaN"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self


def load_building_config(path: Path) -> BuildingConfig:
    """Read and validate ``path``; raise :class:`BuildingConfigError` with a readable message."""
    source = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise BuildingConfigError(f"{path}: file not found") from err
    except (OSError, UnicodeDecodeError) as err:
        raise BuildingConfigError(f"{path}: cannot read: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise BuildingConfigError(f"{source}: not valid TOML: {err}") from err
    try:
        return BuildingConfig.model_validate(raw)
    except ValidationError as err:
        raise BuildingConfigError(format_validation_error(source, err)) from err

"""What the pollers read, planned once from the configuration and the device profiles.

A meter reads the registers of its one quantity. A lift in ``counters`` mode reads its stop
counter at every floor it serves (``stops_floor_<n>``); a lift in ``position`` mode reads its
car's floor and door (``car_floor``, ``door_open``). Each becomes a binding: the configured
device with its read plan (:func:`gateway.core.registers.plan_reads`). A lift whose profile
lacks what its mode reads is refused here, with the field path, before anything starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.config.devices import ElevatorSpec
from gateway.config.gateway_file import MeterSpec
from gateway.core.registers import DeviceProfile, ReadBlock, plan_reads
from gateway.errors import ConfigError

CAR_FLOOR = "car_floor"
DOOR_OPEN = "door_open"
POSITION_QUANTITIES = (CAR_FLOOR, DOOR_OPEN)


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
    """One lift's terminal as a poller sees it: which floors, where it answers, what to read
    (its stop counters, or its car's floor and door, as its ``mode`` says)."""

    elevator: ElevatorSpec
    blocks: tuple[ReadBlock, ...]


def bind_elevators(
    elevators: Sequence[ElevatorSpec], profiles: dict[str, DeviceProfile]
) -> list[ElevatorBinding]:
    """Read plans for ``elevators``; a profile without what the lift's mode reads is a config
    error."""
    bindings = []
    for i, lift in enumerate(elevators):
        profile = profiles.get(lift.profile)
        if profile is None:
            raise ConfigError(f"elevators[{i}].profile: unknown device profile {lift.profile!r}")
        known = {spec.quantity for spec in profile.registers}
        if lift.mode == "position":
            lacking = [quantity for quantity in POSITION_QUANTITIES if quantity not in known]
            if lacking:
                raise ConfigError(
                    f"elevators[{i}].profile: profile {profile.name} has no"
                    f" {' or '.join(lacking)} register, which position mode reads"
                )
            quantities = list(POSITION_QUANTITIES)
        else:
            missing = [floor for floor in lift.floors if lift.stops_quantity(floor) not in known]
            if missing:
                raise ConfigError(
                    f"elevators[{i}].floors: profile {profile.name} has no stop counter for"
                    f" floor(s) {', '.join(map(str, missing))} (quantity stops_floor_<n>)"
                )
            quantities = [lift.stops_quantity(floor) for floor in lift.floors]
        bindings.append(ElevatorBinding(lift, plan_reads(profile, quantities)))
    return bindings

"""The ``[ble]``, ``[[locks]]`` and ``[[elevators]]`` sections of gateway.toml.

The smart-lock radio, the locks on unit doors and the lift terminals read over Modbus, with
the checks that tie them to the rest of the file (a lock's unit exists, a lift's bus exists
and its device id is free). :class:`gateway.config.gateway_file.GatewayConfig` runs those checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from gateway.config.base import Identifier, _Frozen
from gateway.core.lock_adverts import normalise_mac


class ElevatorSpec(_Frozen):
    """One lift's monitoring terminal. ``counters``: its per-floor stop counters, read like a
    meter each polling round. ``position``: a terminal without counters, whose car position and
    door are sampled every ``position_poll_s`` and turned into stops by the gateway."""

    elevator_id: Identifier
    bus: Identifier
    device_id: int = Field(ge=1, le=247)
    profile: Identifier = "elevator_floor_counters"
    floors: tuple[int, ...] = Field(min_length=1, description="the floors the lift serves")
    mode: Literal["counters", "position"] = "counters"
    position_poll_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="position mode: building seconds between samples of the car; shorter"
        " stops are missed",
    )

    @field_validator("floors")
    @classmethod
    def _distinct_floors(cls, floors: tuple[int, ...]) -> tuple[int, ...]:
        for i, floor in enumerate(floors):
            if floor in floors[:i]:
                raise ValueError(f"floor {floor} is listed twice")
        return floors

    def stops_quantity(self, floor: int) -> str:
        """The profile quantity holding the lift's stop counter at ``floor``."""
        return f"stops_floor_{floor}"


class BleSection(_Frozen):
    """The smart-lock radio (docs/ble-locks.md); used only when ``[[locks]]`` lists a lock."""

    transport: Literal["bleak", "bumble"] = "bleak"
    adapter: str = Field(default="hci0", pattern=r"^hci[0-9]{1,2}$", description="bleak only")
    bumble_transport: str = Field(default="usb:0", min_length=1, description="bumble only")
    pseudonym_key_file: Path = Path("lock-pseudonyms.key")
    silent_after_s: float = Field(
        default=6 * 3600.0, gt=0, description="building seconds unheard before a lock is silent"
    )
    connect_timeout_s: float = Field(default=10.0, gt=0, le=120)


class LockSpec(_Frozen):
    """One smart lock on a unit's door."""

    unit_id: Identifier
    mac: str
    kind: Literal["mibeacon", "bthome", "gatt"]
    bind_key: str | None = Field(default=None, description="MiBeacon: 32 hex digits")

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str) -> str:
        return normalise_mac(value)

    @field_validator("bind_key")
    @classmethod
    def _bind_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) != 32 or not re.fullmatch(r"[0-9A-Fa-f]*", value):
            raise ValueError(f"must be 32 hex digits (16 bytes), got {len(value)} characters")
        return value.lower()

    @property
    def bind_key_bytes(self) -> bytes:
        return bytes.fromhex(self.bind_key or "")


def _check_elevators(
    elevators: tuple[ElevatorSpec, ...], buses: list[str], devices: dict[tuple[str, int], str]
) -> None:
    ids: dict[str, int] = {}
    for i, lift in enumerate(elevators):
        where = f"elevators[{i}]"
        if lift.elevator_id in ids:
            first = ids[lift.elevator_id]
            raise ValueError(
                f"{where}.elevator_id: {lift.elevator_id!r} repeats elevators[{first}]"
            )
        ids[lift.elevator_id] = i
        if lift.bus not in buses:
            raise ValueError(
                f"{where}.bus: no bus named {lift.bus!r} in [[modbus_tcp]] or [[modbus_rtu]]"
            )
        if lift.mode != "position" and "position_poll_s" in lift.model_fields_set:
            raise ValueError(
                f"{where}.position_poll_s: only a lift in position mode is sampled for its"
                ' position; add mode = "position" or remove it'
            )
        key = (lift.bus, lift.device_id)
        if key in devices:
            raise ValueError(
                f"{where}.device_id: {lift.device_id} on {lift.bus} is already used by"
                f" {devices[key]}"
            )
        devices[key] = where


def _check_locks(locks: tuple[LockSpec, ...], units: Mapping[str, int]) -> None:
    macs: dict[str, int] = {}
    for i, lock in enumerate(locks):
        where = f"locks[{i}]"
        if lock.unit_id not in units:
            raise ValueError(f"{where}.unit_id: no unit {lock.unit_id!r} in [[units]]")
        if lock.mac in macs:
            raise ValueError(f"{where}.mac: {lock.mac} is already locks[{macs[lock.mac]}]")
        macs[lock.mac] = i
        if lock.kind == "mibeacon" and lock.bind_key is None:
            raise ValueError(
                f"{where}.bind_key: a mibeacon lock needs its bind key (32 hex digits);"
                " see docs/ble-locks.md for how to get it"
            )
        if lock.kind != "mibeacon" and lock.bind_key is not None:
            raise ValueError(f"{where}.bind_key: only a mibeacon lock has a bind key")

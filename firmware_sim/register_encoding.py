"""Register maps of the simulated devices, and encoding: values in, 16-bit words out.

The mirror image of the gateway's decoder. Each device model is one row of data (which table it
answers on, which registers it fills, how each value is encoded and where it comes from), so
adding a model is adding a row, not a branch. A meter's instantaneous state (its cumulative
total, its current rate, the mains voltage) goes in; a map ``address -> word`` comes out.

The maps serve exactly the registers of the gateway's device profiles
(``gateway/modbus/profiles/*.toml``); a test decodes what is encoded here with the gateway's own
decoder. A lift's monitoring terminal has its own map (``encode_lift_registers``), the reference map
of ``gateway/modbus/profiles/elevator_floor_counters.toml``. Pure: no I/O, no Modbus library.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum

__all__ = [
    "DEVICE_MAPS",
    "LIFT_MAX_FLOOR",
    "LIFT_SPAN",
    "LIFT_STOPS_BASE",
    "LIFT_TABLE",
    "DeviceMap",
    "Encoding",
    "IdentityMap",
    "MeterState",
    "RegisterField",
    "RegisterTable",
    "encode_car_registers",
    "encode_identity",
    "encode_lift_registers",
    "encode_registers",
    "encode_stop_counters",
    "float32_high_first",
    "lift_stops_address",
    "uint32_high_first",
    "uint32_low_first",
]

UINT32_MODULUS = 1 << 32


def float32_high_first(value: float) -> tuple[int, int]:
    """IEEE 754 single precision, big-endian, high word first (Eastron and most meters)."""
    raw = struct.pack(">f", value)
    return int.from_bytes(raw[:2], "big"), int.from_bytes(raw[2:], "big")


def uint32_high_first(value: int) -> tuple[int, int]:
    """Unsigned 32-bit, high word first. Values outside 0..2**32-1 are refused, not wrapped."""
    if not 0 <= value < UINT32_MODULUS:
        raise ValueError(f"{value} does not fit in an unsigned 32-bit register pair")
    return value >> 16, value & 0xFFFF


def uint32_low_first(value: int) -> tuple[int, int]:
    """Unsigned 32-bit, low word first (some meters and PLCs)."""
    high, low = uint32_high_first(value)
    return low, high


class Encoding(Enum):
    """How one value becomes two registers."""

    FLOAT32_HIGH_FIRST = "float32_high_first"
    UINT32_HIGH_FIRST = "uint32_high_first"
    UINT32_LOW_FIRST = "uint32_low_first"

    def encode(self, value: float) -> tuple[int, int]:
        if self is Encoding.FLOAT32_HIGH_FIRST:
            return float32_high_first(value)
        if not float(value).is_integer():
            raise ValueError(f"{self.value}: {value!r} is not a whole number")
        encoder = uint32_high_first if self is Encoding.UINT32_HIGH_FIRST else uint32_low_first
        return encoder(int(value))


class RegisterTable(StrEnum):
    """The Modbus table a device answers on, named as in the gateway's profiles."""

    INPUT = "input"  # function code 4
    HOLDING = "holding"  # function code 3

    @property
    def read_function_code(self) -> int:
        return 4 if self is RegisterTable.INPUT else 3


@dataclass(frozen=True, slots=True)
class MeterState:
    """What a meter shows at one instant, in the unit of its meter kind.

    ``total`` is the cumulative counter (kWh or m3), ``rate_per_hour`` the current consumption
    (kW, or m3 per hour), ``mains_voltage`` the supply voltage an energy meter measures.
    """

    total: float
    rate_per_hour: float
    mains_voltage: float = 230.0


@dataclass(frozen=True, slots=True)
class RegisterField:
    """One value of a device: where it sits, how it is encoded, how it follows from the state."""

    name: str
    address: int
    encoding: Encoding
    value_fn: Callable[[MeterState], float]

    @property
    def count(self) -> int:
        return 2  # every encoding here is 32 bits


@dataclass(frozen=True, slots=True)
class IdentityMap:
    """Where a model says what it is, as Eastron meters do: a serial number (uint32, high word
    first) at ``address`` and the model code (uint16) right after it, on ``table``."""

    table: RegisterTable
    address: int
    model_code: int

    count = 3


def encode_identity(identity: IdentityMap, serial: int) -> dict[int, int]:
    """Address -> word of the identity registers of the device with ``serial``."""
    high, low = uint32_high_first(serial)
    return {
        identity.address: high,
        identity.address + 1: low,
        identity.address + 2: identity.model_code,
    }


@dataclass(frozen=True, slots=True)
class DeviceMap:
    """A device model: the meter kinds it can measure and the registers it serves."""

    name: str
    table: RegisterTable
    measures: frozenset[str]
    fields: tuple[RegisterField, ...]
    identity: IdentityMap | None = None

    @property
    def span(self) -> int:
        """Registers from address 0 up to and including the last one this device fills."""
        return max(field.address + field.count for field in self.fields)


def _litre_counter(state: MeterState) -> float:
    """A 32-bit counter of whole litres that wraps like the real device's."""
    return float(math.floor(state.total * 1000.0) % UINT32_MODULUS)


def _hundredths_counter(state: MeterState) -> float:
    """A 32-bit counter of 0.01 m3 steps (a pulse every 10 litres), wrapping like the device's."""
    return float(math.floor(state.total * 100.0) % UINT32_MODULUS)


def _litres_per_hour(state: MeterState) -> float:
    return float(min(round(state.rate_per_hour * 1000.0), UINT32_MODULUS - 1))


def _amperes(state: MeterState) -> float:
    return state.rate_per_hour * 1000.0 / state.mains_voltage if state.mains_voltage else 0.0


EASTRON_SDM120 = DeviceMap(
    name="eastron_sdm120",
    table=RegisterTable.INPUT,
    measures=frozenset({"electricity_kwh"}),
    fields=(
        RegisterField("voltage", 0x0000, Encoding.FLOAT32_HIGH_FIRST, lambda s: s.mains_voltage),
        RegisterField("current", 0x0006, Encoding.FLOAT32_HIGH_FIRST, _amperes),
        RegisterField(
            "active_power", 0x000C, Encoding.FLOAT32_HIGH_FIRST, lambda s: s.rate_per_hour * 1e3
        ),
        RegisterField(
            "total_active_energy", 0x0156, Encoding.FLOAT32_HIGH_FIRST, lambda s: s.total
        ),
    ),
    # Serial number at 0xFC00, meter code 0x0020 at 0xFC02 (gateway profile's [[identify]]).
    identity=IdentityMap(RegisterTable.HOLDING, 0xFC00, 0x0020),
)

GENERIC_WATER_U32 = DeviceMap(
    name="generic_water_u32",
    table=RegisterTable.HOLDING,
    measures=frozenset({"water_m3"}),
    fields=(
        RegisterField("total_volume", 0x0000, Encoding.UINT32_HIGH_FIRST, _litre_counter),
        RegisterField("flow_rate", 0x0002, Encoding.UINT32_HIGH_FIRST, _litres_per_hour),
    ),
)

GENERIC_GAS_U32 = DeviceMap(
    name="generic_gas_u32",
    table=RegisterTable.HOLDING,
    measures=frozenset({"gas_m3"}),
    fields=(
        RegisterField("total_volume", 0x0000, Encoding.UINT32_HIGH_FIRST, _hundredths_counter),
    ),
)

DEVICE_MAPS: Mapping[str, DeviceMap] = {
    device.name: device for device in (EASTRON_SDM120, GENERIC_WATER_U32, GENERIC_GAS_U32)
}


def encode_registers(device: DeviceMap, state: MeterState) -> dict[int, int]:
    """Address -> 16-bit word for every register ``device`` fills when showing ``state``."""
    words: dict[int, int] = {}
    for field in device.fields:
        for offset, word in enumerate(field.encoding.encode(field.value_fn(state))):
            words[field.address + offset] = word
    return words


# --- lift monitoring terminal (reference map) ---------------------------------------------

LIFT_TABLE = RegisterTable.HOLDING
LIFT_CAR_FLOOR = 0x0000  # int16
LIFT_DOOR_OPEN = 0x0001  # uint16, 1 while open
LIFT_STOPS_BASE = 0x0010  # floor 1's stop counter, uint32 high word first; then floor 2, ...
LIFT_MAX_FLOOR = 32
LIFT_SPAN = LIFT_STOPS_BASE + 2 * LIFT_MAX_FLOOR


def lift_stops_address(floor: int) -> int:
    """Where the stop counter of ``floor`` (1 to ``LIFT_MAX_FLOOR``) starts."""
    if not 1 <= floor <= LIFT_MAX_FLOOR:
        raise ValueError(f"floor {floor} has no stop counter (floors 1-{LIFT_MAX_FLOOR})")
    return LIFT_STOPS_BASE + 2 * (floor - 1)


def encode_lift_registers(
    stops: Mapping[int, int], car_floor: int, door_open: bool
) -> dict[int, int]:
    """Address -> word of a lift terminal: counters wrap at 2**32 like the device's."""
    return encode_car_registers(car_floor, door_open) | encode_stop_counters(stops)


def encode_car_registers(car_floor: int, door_open: bool) -> dict[int, int]:
    """Address -> word of the terminal's car position and door state."""
    if not -0x8000 <= car_floor < 0x8000:
        raise ValueError(f"car floor {car_floor} does not fit in an int16 register")
    return {LIFT_CAR_FLOOR: car_floor & 0xFFFF, LIFT_DOOR_OPEN: int(door_open)}


def encode_stop_counters(stops: Mapping[int, int]) -> dict[int, int]:
    """Address -> word of the terminal's per-floor stop counters (wrapping at 2**32)."""
    words: dict[int, int] = {}
    for floor, count in stops.items():
        address = lift_stops_address(floor)
        high, low = uint32_high_first(count % UINT32_MODULUS)
        words[address], words[address + 1] = high, low
    return words

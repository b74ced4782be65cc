"""Modbus register maps as data, read planning, and decoding: words in, values out.

A device profile (one TOML file per meter model, parsed here from the already-read dict) lists
the registers that carry each quantity: which function reads them (input or holding), where
they start, their type, the order of the two words of a 32-bit value, and a scale factor. A
quantity may come in parts, several registers whose values add up (an integer accumulator and
its decimal fraction).

Reads are planned once per meter: the registers wanted are grouped by function, sorted by
address and merged into one request while the unread gap between neighbours stays small and the
request stays within the device's limit; a few wasted registers cost far less than another
round trip on a 9600-baud RS485 line. Decoding turns the words of one request back into values
(``raw * scale``). A float32 NaN or infinity is returned as it is: judging the quality of a
value is the business of the counters, not of the decoder.

A profile may also say how to recognise the device (``[[identify]]``): registers whose value
must be one of a list (a model code, such as Eastron's meter code) or lie in a range (mains
voltage). ``gateway scan`` and ``gateway doctor`` use them (``gateway.core.identification``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

MAX_REGISTERS_PER_REQUEST = 125  # the Modbus limit for one read of 16-bit registers
DEFAULT_MAX_GAP = 8  # unread registers worth reading to save a request


class DataType(StrEnum):
    UINT16 = "uint16"
    INT16 = "int16"
    UINT32 = "uint32"
    INT32 = "int32"
    FLOAT32 = "float32"


class WordOrder(StrEnum):
    BIG = "big"  # high word first
    LITTLE = "little"  # low word first


class RegisterFunction(StrEnum):
    INPUT = "input"  # function code 4
    HOLDING = "holding"  # function code 3


_WORD_COUNT = {
    DataType.UINT16: 1,
    DataType.INT16: 1,
    DataType.UINT32: 2,
    DataType.INT32: 2,
    DataType.FLOAT32: 2,
}


class ProfileError(ValueError):
    """A device profile breaks a rule; the message names the source and the field path."""


class RegisterDecodeError(ValueError):
    """Words that cannot be the value of a register (wrong count, out of 16-bit range)."""


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    name: str
    quantity: str
    function: RegisterFunction
    address: int
    dtype: DataType
    word_order: WordOrder
    scale: float

    @property
    def count(self) -> int:
        """Number of 16-bit registers the value occupies."""
        return _WORD_COUNT[self.dtype]


@dataclass(frozen=True, slots=True)
class IdentifyRule:
    """A register that tells the model: its value is one of ``equals`` (a model code), or lies
    within ``low``..``high`` (either bound may be absent)."""

    spec: RegisterSpec
    equals: tuple[float, ...] = ()
    low: float | None = None
    high: float | None = None

    @property
    def is_model_code(self) -> bool:
        return bool(self.equals)

    def accepts(self, value: float) -> bool:
        if self.equals:
            return value in self.equals
        if not math.isfinite(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    name: str
    description: str
    max_registers_per_read: int
    registers: tuple[RegisterSpec, ...]
    identify: tuple[IdentifyRule, ...] = ()

    def registers_for(self, quantity: str) -> tuple[RegisterSpec, ...]:
        """The register(s) of one quantity; several are parts whose values add up."""
        specs = tuple(spec for spec in self.registers if spec.quantity == quantity)
        if not specs:
            known = ", ".join(dict.fromkeys(spec.quantity for spec in self.registers))
            raise ProfileError(f"profile {self.name}: no register for {quantity!r} (has {known})")
        return specs


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: ``count`` registers from ``address``, holding the values of ``specs``."""

    function: RegisterFunction
    address: int
    count: int
    specs: tuple[RegisterSpec, ...]


# --- parsing -------------------------------------------------------------------------------

_E = TypeVar("_E", bound=StrEnum)
_PROFILE_KEYS = ("name", "description", "max_registers_per_read")
_REGISTER_KEYS = ("name", "quantity", "function", "address", "type", "word_order", "scale")
_IDENTIFY_KEYS = (
    "name",
    "function",
    "address",
    "type",
    "word_order",
    "scale",
    "equals",
    "min",
    "max",
)


def _choices(enum: type[StrEnum]) -> str:
    return ", ".join(member.value for member in enum)


class _Fields:
    """Typed access to one TOML table, raising ProfileError with ``source: path.key: rule``."""

    def __init__(self, source: str, path: str, table: object, allowed: Sequence[str]) -> None:
        self.source = source
        self.path = path
        if not isinstance(table, Mapping):
            raise self.error(path, "must be a table")
        self.table: Mapping[str, object] = table
        for key in table:
            if key not in allowed:
                raise self.error(
                    self.at(str(key)), f"unknown field (allowed: {', '.join(allowed)})"
                )

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, path: str, rule: str) -> ProfileError:
        return ProfileError(f"{self.source}: {path}: {rule}")

    def text(self, key: str) -> str:
        value = self.table.get(key)
        if value is None:
            raise self.error(self.at(key), "is required")
        if not isinstance(value, str) or not value.strip():
            raise self.error(self.at(key), "must be a non-empty string")
        return value

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.table.get(key)
        if value is None:
            raise self.error(self.at(key), "is required")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(self.at(key), "must be an integer")
        if not low <= value <= high:
            raise self.error(self.at(key), f"must be between {low} and {high}")
        return value

    def optional_number(self, key: str) -> float | None:
        value = self.table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(self.at(key), "must be a number")
        if not math.isfinite(value):
            raise self.error(self.at(key), "must be a finite number")
        return float(value)

    def numbers(self, key: str) -> tuple[float, ...]:
        value = self.table.get(key, ())
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise self.error(self.at(key), "must be an array of numbers")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise self.error(self.at(key), "must be an array of numbers")
        return tuple(float(item) for item in value)

    def number(self, key: str, default: float) -> float:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(self.at(key), "must be a number")
        if not math.isfinite(value) or value == 0:
            raise self.error(self.at(key), "must be a finite number other than 0")
        return float(value)

    def choice(self, key: str, enum: type[_E], default: _E | None = None) -> _E:
        value = self.table.get(key, default)
        if value is None:
            raise self.error(self.at(key), "is required")
        for member in enum:
            if member.value == value:
                return member
        raise self.error(self.at(key), f"must be one of {_choices(enum)}")


def parse_profile(data: Mapping[str, object], source: str) -> DeviceProfile:
    """Check a parsed profile file and build the profile; ``source`` names it in errors."""
    _Fields(source, "", data, ("profile", "registers", "identify"))
    head = _Fields(source, "profile", data.get("profile", {}), _PROFILE_KEYS)
    name = head.text("name")
    description = head.text("description")
    max_per_read = head.integer("max_registers_per_read", 1, MAX_REGISTERS_PER_REQUEST)
    rows = data.get("registers")
    if not isinstance(rows, Sequence) or isinstance(rows, str) or not rows:
        raise ProfileError(f"{source}: registers: must be a non-empty array of tables")
    specs: list[RegisterSpec] = []
    for i, row in enumerate(rows):
        spec = _parse_register(_Fields(source, f"registers[{i}]", row, _REGISTER_KEYS))
        where = f"{source}: registers[{i}]"
        if spec.address + spec.count - 1 > 0xFFFF:
            raise ProfileError(f"{where}.address: a {spec.dtype} here runs past register 0xffff")
        if spec.count > max_per_read:
            raise ProfileError(
                f"{where}.type: a {spec.dtype} takes {spec.count} registers,"
                f" more than profile.max_registers_per_read ({max_per_read})"
            )
        for j, earlier in enumerate(specs):
            if earlier.name == spec.name:
                raise ProfileError(f"{where}.name: {spec.name!r} repeats registers[{j}]")
            if earlier.function is spec.function and _overlap(earlier, spec):
                raise ProfileError(f"{where}.address: overlaps registers[{j}] ({earlier.name})")
        specs.append(spec)
    identify = _parse_identify(source, data.get("identify", []), max_per_read)
    return DeviceProfile(name, description, max_per_read, tuple(specs), identify)


def _parse_identify(source: str, rows: object, max_per_read: int) -> tuple[IdentifyRule, ...]:
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        raise ProfileError(f"{source}: identify: must be an array of tables")
    rules = []
    for i, row in enumerate(rows):
        fields = _Fields(source, f"identify[{i}]", row, _IDENTIFY_KEYS)
        spec = RegisterSpec(
            name=fields.text("name"),
            quantity=fields.text("name"),
            function=fields.choice("function", RegisterFunction),
            address=fields.integer("address", 0, 0xFFFF),
            dtype=fields.choice("type", DataType),
            word_order=fields.choice("word_order", WordOrder, WordOrder.BIG),
            scale=fields.number("scale", 1.0),
        )
        if spec.address + spec.count - 1 > 0xFFFF or spec.count > max_per_read:
            raise fields.error(fields.at("address"), f"a {spec.dtype} does not fit here")
        equals = fields.numbers("equals")
        low, high = fields.optional_number("min"), fields.optional_number("max")
        if equals and (low is not None or high is not None):
            raise fields.error(fields.at("equals"), "give either equals or min/max, not both")
        if not equals and low is None and high is None:
            raise fields.error(fields.path, "needs equals (model codes) or min and/or max")
        if low is not None and high is not None and low > high:
            raise fields.error(fields.at("min"), f"{low:g} is above max {high:g}")
        rules.append(IdentifyRule(spec, equals, low, high))
    return tuple(rules)


def _overlap(a: RegisterSpec, b: RegisterSpec) -> bool:
    return a.address < b.address + b.count and b.address < a.address + a.count


def _parse_register(fields: _Fields) -> RegisterSpec:
    return RegisterSpec(
        name=fields.text("name"),
        quantity=fields.text("quantity"),
        function=fields.choice("function", RegisterFunction),
        address=fields.integer("address", 0, 0xFFFF),
        dtype=fields.choice("type", DataType),
        word_order=fields.choice("word_order", WordOrder, WordOrder.BIG),
        scale=fields.number("scale", 1.0),
    )


# --- planning ------------------------------------------------------------------------------


def plan_reads(
    profile: DeviceProfile, quantities: Collection[str], *, max_gap: int = DEFAULT_MAX_GAP
) -> tuple[ReadBlock, ...]:
    """The fewest reads that fetch ``quantities``: neighbours of one function share a read
    when at most ``max_gap`` unwanted registers lie between them and the read stays within
    ``profile.max_registers_per_read``. Blocks come ordered by function, then address."""
    wanted = {spec for quantity in quantities for spec in profile.registers_for(quantity)}
    ordered = sorted(wanted, key=lambda spec: (spec.function.value, spec.address, spec.quantity))
    blocks: list[ReadBlock] = []
    for spec in ordered:
        last = blocks[-1] if blocks else None
        if last is not None and _fits(last, spec, profile.max_registers_per_read, max_gap):
            end = max(last.address + last.count, spec.address + spec.count)
            blocks[-1] = ReadBlock(
                last.function, last.address, end - last.address, (*last.specs, spec)
            )
        else:
            blocks.append(ReadBlock(spec.function, spec.address, spec.count, (spec,)))
    return tuple(blocks)


def _fits(block: ReadBlock, spec: RegisterSpec, max_per_read: int, max_gap: int) -> bool:
    gap = spec.address - (block.address + block.count)
    new_count = max(block.count, spec.address + spec.count - block.address)
    return spec.function is block.function and gap <= max_gap and new_count <= max_per_read


# --- decoding ------------------------------------------------------------------------------


def decode_register(spec: RegisterSpec, words: Sequence[int]) -> float:
    """The value of one register (``raw * scale``) from its words as read off the wire."""
    if len(words) != spec.count:
        raise RegisterDecodeError(
            f"{spec.name}: a {spec.dtype} takes {spec.count} registers, got {len(words)}"
        )
    for word in words:
        if isinstance(word, bool) or not isinstance(word, int) or not 0 <= word <= 0xFFFF:
            raise RegisterDecodeError(f"{spec.name}: {word!r} is not a 16-bit register value")
    if spec.count == 1:
        raw = words[0]
    else:
        high, low = (
            (words[0], words[1]) if spec.word_order is WordOrder.BIG else (words[1], words[0])
        )
        raw = (high << 16) | low
    value: float
    match spec.dtype:
        case DataType.UINT16 | DataType.UINT32:
            value = raw
        case DataType.INT16:
            value = raw - 0x1_0000 if raw & 0x8000 else raw
        case DataType.INT32:
            value = raw - 0x1_0000_0000 if raw & 0x8000_0000 else raw
        case DataType.FLOAT32:
            (value,) = struct.unpack(">f", raw.to_bytes(4, "big"))
    return float(value * spec.scale)


def decode_block(block: ReadBlock, words: Sequence[int]) -> dict[str, float]:
    """Quantity -> value for the registers of one read, from the words that read returned.
    A quantity with several parts in the read gets their sum (see :func:`decode_blocks`)."""
    if len(words) != block.count:
        raise RegisterDecodeError(
            f"read of {block.count} registers at {block.address:#06x} got {len(words)} words"
        )
    values: dict[str, float] = {}
    for spec in block.specs:
        start = spec.address - block.address
        value = decode_register(spec, words[start : start + spec.count])
        values[spec.quantity] = values.get(spec.quantity, 0.0) + value
    return values


def decode_blocks(blocks: Sequence[tuple[ReadBlock, Sequence[int]]]) -> dict[str, float]:
    """Quantity -> value over several reads; parts of one quantity add up across reads.

    An integer accumulator and its decimal fraction (TUF-2000-style water meters) are two
    registers of one quantity: ``123456`` m3 and ``0.789`` m3 make ``123456.789`` m3. Summing in
    float64 keeps the fraction even when the accumulator is large."""
    values: dict[str, float] = {}
    for block, words in blocks:
        for quantity, value in decode_block(block, words).items():
            values[quantity] = values.get(quantity, 0.0) + value
    return values

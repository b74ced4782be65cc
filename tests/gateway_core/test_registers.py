"""Register maps: profile parsing, read planning, and decoding words into values."""

from __future__ import annotations

import copy
import math
import struct
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.core.registers import (
    DataType,
    DeviceProfile,
    ProfileError,
    ReadBlock,
    RegisterDecodeError,
    RegisterFunction,
    RegisterSpec,
    WordOrder,
    decode_block,
    decode_blocks,
    decode_register,
    parse_profile,
    plan_reads,
)

PROFILES = Path(__file__).resolve().parents[2] / "gateway" / "modbus" / "profiles"
INPUT, HOLDING = RegisterFunction.INPUT, RegisterFunction.HOLDING
BIG, LITTLE = WordOrder.BIG, WordOrder.LITTLE


def spec(
    dtype: DataType,
    order: WordOrder = BIG,
    scale: float = 1.0,
    *,
    quantity: str = "q",
    address: int = 0,
    function: RegisterFunction = INPUT,
) -> RegisterSpec:
    return RegisterSpec(quantity, quantity, function, address, dtype, order, scale)


def load_shipped(name: str) -> DeviceProfile:
    path = PROFILES / f"{name}.toml"
    return parse_profile(tomllib.loads(path.read_text(encoding="utf-8")), path.name)


# --- decoding ------------------------------------------------------------------------------

DECODE_CASES = [
    ("uint16", spec(DataType.UINT16), [0x1234], 4660.0),
    ("uint16 max", spec(DataType.UINT16), [0xFFFF], 65535.0),
    ("int16 -1", spec(DataType.INT16), [0xFFFF], -1.0),
    ("int16 min", spec(DataType.INT16), [0x8000], -32768.0),
    ("int16 max", spec(DataType.INT16), [0x7FFF], 32767.0),
    ("uint32 high word first", spec(DataType.UINT32, BIG), [0x0001, 0x0002], 65538.0),
    ("uint32 low word first", spec(DataType.UINT32, LITTLE), [0x0002, 0x0001], 65538.0),
    ("uint32 max", spec(DataType.UINT32), [0xFFFF, 0xFFFF], 4294967295.0),
    ("int32 high word first", spec(DataType.INT32, BIG), [0xFFFF, 0xFFFE], -2.0),
    ("int32 low word first", spec(DataType.INT32, LITTLE), [0xFFFE, 0xFFFF], -2.0),
    ("int32 positive", spec(DataType.INT32), [0x0000, 0x0064], 100.0),
    ("sdm120 float32 1234.5", spec(DataType.FLOAT32, BIG), [0x449A, 0x5000], 1234.5),
    ("float32 low word first", spec(DataType.FLOAT32, LITTLE), [0x5000, 0x449A], 1234.5),
    ("float32 negative", spec(DataType.FLOAT32), [0xBFC0, 0x0000], -1.5),
    ("float32 zero", spec(DataType.FLOAT32), [0x0000, 0x0000], 0.0),
    ("float32 +inf", spec(DataType.FLOAT32), [0x7F80, 0x0000], math.inf),
    ("float32 -inf", spec(DataType.FLOAT32), [0xFF80, 0x0000], -math.inf),
    ("litres to m3", spec(DataType.UINT32, BIG, 0.001), [0x0001, 0xE240], 123.456),
    ("tenths", spec(DataType.UINT16, BIG, 0.1), [1234], 123.4),
    ("negative scale", spec(DataType.INT16, BIG, -2.0), [0x0003], -6.0),
]


@pytest.mark.parametrize(
    ("register", "words", "expected"),
    [case[1:] for case in DECODE_CASES],
    ids=[case[0] for case in DECODE_CASES],
)
def test_decode_register(register: RegisterSpec, words: list[int], expected: float) -> None:
    assert decode_register(register, words) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("words", [[0x7FC0, 0x0000], [0xFFC0, 0x0001], [0x7F80, 0x0001]])
def test_float32_nan_words_come_back_as_nan(words: list[int]) -> None:
    assert math.isnan(decode_register(spec(DataType.FLOAT32), words))


BAD_WORDS = [
    ("too few for float32", spec(DataType.FLOAT32), [0x449A], "takes 2 registers, got 1"),
    ("too many for uint16", spec(DataType.UINT16), [1, 2], "takes 1 registers, got 2"),
    ("empty", spec(DataType.INT32), [], "takes 2 registers, got 0"),
    ("word above 65535", spec(DataType.UINT16), [0x10000], "65536 is not a 16-bit"),
    ("negative word", spec(DataType.UINT32), [0, -1], "-1 is not a 16-bit"),
]


@pytest.mark.parametrize(
    ("register", "words", "message"),
    [case[1:] for case in BAD_WORDS],
    ids=[case[0] for case in BAD_WORDS],
)
def test_decode_register_refuses_bad_words(
    register: RegisterSpec, words: list[int], message: str
) -> None:
    with pytest.raises(RegisterDecodeError, match=message):
        decode_register(register, words)


def test_decode_block_maps_quantities_to_values() -> None:
    profile = load_shipped("eastron_sdm120")
    (block,) = plan_reads(profile, ["voltage_v", "current_a", "power_w"])
    words = [0] * block.count
    words[0:2] = [0x4366, 0x0000]  # 230.0 V
    words[6:8] = [0x40A0, 0x0000]  # 5.0 A
    words[12:14] = [0x448F, 0xC000]  # 1150.0 W
    assert decode_block(block, words) == {"voltage_v": 230.0, "current_a": 5.0, "power_w": 1150.0}


def test_decode_block_refuses_a_short_answer() -> None:
    block = ReadBlock(INPUT, 0x0156, 2, (spec(DataType.FLOAT32, address=0x0156),))
    with pytest.raises(RegisterDecodeError, match="read of 2 registers at 0x0156 got 1 words"):
        decode_block(block, [0x449A])


# --- shipped profiles ----------------------------------------------------------------------


def test_shipped_sdm120_profile() -> None:
    profile = load_shipped("eastron_sdm120")
    assert profile.name == "eastron_sdm120"
    assert profile.max_registers_per_read == 40
    (energy,) = profile.registers_for("electricity_kwh")
    assert (energy.function, energy.address, energy.dtype, energy.word_order, energy.count) == (
        INPUT,
        0x0156,
        DataType.FLOAT32,
        BIG,
        2,
    )
    assert {r.quantity: r.address for r in profile.registers} == {
        "voltage_v": 0x0000,
        "current_a": 0x0006,
        "power_w": 0x000C,
        "electricity_kwh": 0x0156,
    }


def test_shipped_water_profile_reads_litres_as_m3() -> None:
    profile = load_shipped("generic_water_u32")
    (volume,) = profile.registers_for("water_m3")
    assert (volume.function, volume.address, volume.dtype, volume.scale) == (
        HOLDING,
        0x0000,
        DataType.UINT32,
        0.001,
    )
    (block,) = plan_reads(profile, ["water_m3"])
    assert decode_block(block, [0x0001, 0xE240]) == {"water_m3": pytest.approx(123.456)}
    assert profile.registers_for("water_flow_lph")[0].address == 0x0002


def test_shipped_sdm630_reads_total_energy_like_the_sdm120() -> None:
    profile = load_shipped("eastron_sdm630")
    (energy,) = profile.registers_for("electricity_kwh")
    assert (energy.address, energy.dtype, energy.word_order) == (0x0156, DataType.FLOAT32, BIG)
    (block,) = plan_reads(profile, ["electricity_kwh"])
    # 1234.5 kWh as float32 is 0x449A5000: high word first.
    assert decode_block(block, [0x449A, 0x5000]) == {"electricity_kwh": 1234.5}


@pytest.mark.parametrize(
    ("accumulator", "fraction", "total"),
    [
        (123456, 0.789, 123456.789),
        (0, 0.5, 0.5),
        (16_777_217, 0.25, 16_777_217.25),  # beyond float32's integer precision: still exact
    ],
)
def test_tuf2000_total_is_accumulator_plus_fraction_low_word_first(
    accumulator: int, fraction: float, total: float
) -> None:
    profile = load_shipped("tuf2000_water")
    (block,) = plan_reads(profile, ["water_m3"])
    assert (block.function, block.address, block.count) == (HOLDING, 0x0008, 4)
    acc_words = [accumulator & 0xFFFF, accumulator >> 16]  # low word first
    raw = int.from_bytes(struct.pack(">f", fraction), "big")
    frac_words = [raw & 0xFFFF, raw >> 16]
    value = decode_blocks([(block, acc_words + frac_words)])["water_m3"]
    assert value == pytest.approx(total, abs=1e-6)


def test_parts_of_one_quantity_add_up_across_reads() -> None:
    acc = spec(DataType.UINT16, address=0, quantity="water_m3")
    frac = replace(spec(DataType.UINT16, address=100, quantity="water_m3"), name="f", scale=0.001)
    blocks = plan_reads(profile_of(acc, frac), ["water_m3"])
    assert len(blocks) == 2
    assert decode_blocks([(blocks[0], [12]), (blocks[1], [345])]) == {
        "water_m3": pytest.approx(12.345)
    }


def test_shipped_gas_profile_counts_hundredths_of_m3() -> None:
    (block,) = plan_reads(load_shipped("generic_gas_u32"), ["gas_m3"])
    assert decode_block(block, [0x0001, 0x0000]) == {"gas_m3": pytest.approx(655.36)}


def test_registers_for_an_absent_quantity() -> None:
    with pytest.raises(ProfileError, match="profile eastron_sdm120: no register for 'gas_m3'"):
        load_shipped("eastron_sdm120").registers_for("gas_m3")


# --- broken profiles -----------------------------------------------------------------------

GOOD: dict[str, object] = {
    "profile": {"name": "test_meter", "description": "A meter", "max_registers_per_read": 40},
    "registers": [
        {"name": "v", "quantity": "voltage_v", "function": "input", "address": 0,
         "type": "float32"},
        {"name": "i", "quantity": "current_a", "function": "input", "address": 6,
         "type": "float32"},
        {"name": "e", "quantity": "electricity_kwh", "function": "input", "address": 342,
         "type": "float32", "word_order": "big", "scale": 1.0},
    ],
}  # fmt: skip


def test_defaults_for_word_order_and_scale() -> None:
    profile = parse_profile(GOOD, "test.toml")
    assert profile.registers[0].word_order is BIG
    assert profile.registers[0].scale == 1.0


def _set(path: tuple[str | int, ...], value: object) -> dict[str, object]:
    data = copy.deepcopy(GOOD)
    target: object = data
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    return data


def _drop(path: tuple[str | int, ...]) -> dict[str, object]:
    data = copy.deepcopy(GOOD)
    target: object = data
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    del target[path[-1]]  # type: ignore[attr-defined]
    return data


_ALLOWED = "name, quantity, function, address, type, word_order, scale"
BROKEN = [
    (_set(("registers", 2, "type"), "float64"),
     "registers[2].type: must be one of uint16, int16, uint32, int32, float32"),
    (_drop(("profile", "name")), "profile.name: is required"),
    (_set(("profile", "name"), ""), "profile.name: must be a non-empty string"),
    (_drop(("profile",)), "profile.name: is required"),
    (_set(("profile",), "meter"), "profile: must be a table"),
    (_set(("profile", "max_registers_per_read"), 0),
     "profile.max_registers_per_read: must be between 1 and 125"),
    (_set(("profile", "max_registers_per_read"), "40"),
     "profile.max_registers_per_read: must be an integer"),
    (_set(("profile", "max_registers_per_read"), True),
     "profile.max_registers_per_read: must be an integer"),
    (_set(("profile", "vendor"), "x"),
     "profile.vendor: unknown field (allowed: name, description, max_registers_per_read)"),
    (_set(("extra",), 1), "extra: unknown field (allowed: profile, registers, identify)"),
    (_set(("registers",), []), "registers: must be a non-empty array of tables"),
    (_drop(("registers",)), "registers: must be a non-empty array of tables"),
    (_set(("registers", 1), "current"), "registers[1]: must be a table"),
    (_set(("registers", 0, "function"), "coil"),
     "registers[0].function: must be one of input, holding"),
    (_drop(("registers", 0, "function")), "registers[0].function: is required"),
    (_set(("registers", 1, "address"), 70000), "registers[1].address: must be between 0 and 65535"),
    (_set(("registers", 1, "address"), -1), "registers[1].address: must be between 0 and 65535"),
    (_set(("registers", 1, "address"), 1.5), "registers[1].address: must be an integer"),
    (_set(("registers", 0, "address"), 0xFFFF),
     "registers[0].address: a float32 here runs past register 0xffff"),
    (_set(("registers", 0, "word_order"), "middle"),
     "registers[0].word_order: must be one of big, little"),
    (_set(("registers", 0, "scale"), 0),
     "registers[0].scale: must be a finite number other than 0"),
    (_set(("registers", 0, "scale"), math.nan),
     "registers[0].scale: must be a finite number other than 0"),
    (_set(("registers", 0, "scale"), "1"), "registers[0].scale: must be a number"),
    (_set(("registers", 0, "colour"), "red"),
     f"registers[0].colour: unknown field (allowed: {_ALLOWED})"),
    (_set(("registers", 1, "name"), "v"), "registers[1].name: 'v' repeats registers[0]"),
    (_set(("registers", 1, "address"), 1), "registers[1].address: overlaps registers[0] (v)"),
    (_set(("profile", "max_registers_per_read"), 1),
     "registers[0].type: a float32 takes 2 registers,"
     " more than profile.max_registers_per_read (1)"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "message"), BROKEN, ids=[case[1] for case in BROKEN])
def test_broken_profile_is_refused_with_field_path(data: dict[str, object], message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile(data, "eastron_sdm120.toml")
    assert str(caught.value) == f"eastron_sdm120.toml: {message}"


# --- read planning -------------------------------------------------------------------------


def profile_of(*registers: RegisterSpec, max_per_read: int = 40) -> DeviceProfile:
    return DeviceProfile("test", "test", max_per_read, registers)


def at(quantity: str, address: int, dtype: DataType = DataType.FLOAT32, fn=INPUT) -> RegisterSpec:  # type: ignore[no-untyped-def]
    return spec(dtype, quantity=quantity, address=address, function=fn)


PLANS = [
    ("adjacent registers share a read",
     profile_of(at("a", 0, DataType.UINT16), at("b", 1, DataType.UINT16)), ["a", "b"],
     [(INPUT, 0, 2, ("a", "b"))]),
    ("a small gap is read through",
     profile_of(at("a", 0), at("b", 6), at("c", 12)), ["a", "b", "c"],
     [(INPUT, 0, 14, ("a", "b", "c"))]),
    ("a large gap splits",
     profile_of(at("a", 0), at("b", 0x0156)), ["a", "b"],
     [(INPUT, 0, 2, ("a",)), (INPUT, 0x0156, 2, ("b",))]),
    ("gap of exactly 8 is read through, 9 splits",
     profile_of(at("a", 0), at("b", 10), at("c", 21)), ["a", "b", "c"],
     [(INPUT, 0, 12, ("a", "b")), (INPUT, 21, 2, ("c",))]),
    ("the device limit splits",
     profile_of(at("a", 0), at("b", 2), at("c", 4), max_per_read=4), ["a", "b", "c"],
     [(INPUT, 0, 4, ("a", "b")), (INPUT, 4, 2, ("c",))]),
    ("different functions never share a read",
     profile_of(at("a", 0, DataType.UINT16), at("b", 1, DataType.UINT16, HOLDING)), ["a", "b"],
     [(HOLDING, 1, 1, ("b",)), (INPUT, 0, 1, ("a",))]),
    ("only what is asked for",
     profile_of(at("a", 0), at("b", 2), at("c", 4)), ["c"],
     [(INPUT, 4, 2, ("c",))]),
    ("order of request does not matter",
     profile_of(at("a", 0), at("b", 2)), ["b", "a", "b"],
     [(INPUT, 0, 4, ("a", "b"))]),
    ("nothing asked, nothing read", profile_of(at("a", 0)), [], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("profile", "quantities", "expected"),
    [case[1:] for case in PLANS],
    ids=[case[0] for case in PLANS],
)
def test_plan_reads(
    profile: DeviceProfile,
    quantities: list[str],
    expected: list[tuple[RegisterFunction, int, int, tuple[str, ...]]],
) -> None:
    blocks = plan_reads(profile, quantities)
    got = [(b.function, b.address, b.count, tuple(s.quantity for s in b.specs)) for b in blocks]
    assert got == expected


def test_plan_reads_max_gap_is_adjustable() -> None:
    profile = profile_of(at("a", 0), at("b", 6))
    assert len(plan_reads(profile, ["a", "b"], max_gap=0)) == 2


def test_plan_reads_for_the_shipped_sdm120() -> None:
    profile = load_shipped("eastron_sdm120")
    (energy,) = plan_reads(profile, ["electricity_kwh"])
    assert (energy.function, energy.address, energy.count) == (INPUT, 0x0156, 2)
    assert len(plan_reads(profile, [r.quantity for r in profile.registers])) == 2


def test_plan_reads_refuses_an_unknown_quantity() -> None:
    with pytest.raises(ProfileError, match="no register for 'gas_m3'"):
        plan_reads(load_shipped("eastron_sdm120"), ["gas_m3"])

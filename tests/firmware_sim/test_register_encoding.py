"""Register encoding: values in, words out; and what is encoded decodes with the gateway's own
decoder and the gateway's shipped device profiles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_sim.register_encoding import (
    DEVICE_MAPS,
    EASTRON_SDM120,
    Encoding,
    MeterState,
    RegisterTable,
    encode_identity,
    encode_registers,
    float32_high_first,
    uint32_high_first,
    uint32_low_first,
)
from gateway.core.registers import (
    DeviceProfile,
    RegisterSpec,
    decode_blocks,
    decode_register,
    plan_reads,
)
from gateway.modbus.device_profiles import load_profiles

# --- words ---------------------------------------------------------------------------------

FLOAT32_CASES = [
    ("zero", 0.0, (0x0000, 0x0000)),
    ("one", 1.0, (0x3F80, 0x0000)),
    ("minus two", -2.0, (0xC000, 0x0000)),
    ("230 V", 230.0, (0x4366, 0x0000)),
    ("1234.5 kWh", 1234.5, (0x449A, 0x5000)),
    ("0.1 rounds to nearest float32", 0.1, (0x3DCC, 0xCCCD)),
]


@pytest.mark.parametrize(
    ("value", "words"), [c[1:] for c in FLOAT32_CASES], ids=[c[0] for c in FLOAT32_CASES]
)
def test_float32_high_word_first(value: float, words: tuple[int, int]) -> None:
    assert float32_high_first(value) == words


UINT32_CASES = [
    ("zero", 0, (0x0000, 0x0000), (0x0000, 0x0000)),
    ("one", 1, (0x0000, 0x0001), (0x0001, 0x0000)),
    ("65538", 65538, (0x0001, 0x0002), (0x0002, 0x0001)),
    ("142.9 m3 in litres", 142_900, (0x0002, 0x2E34), (0x2E34, 0x0002)),
    ("max", 0xFFFF_FFFF, (0xFFFF, 0xFFFF), (0xFFFF, 0xFFFF)),
]


@pytest.mark.parametrize(
    ("value", "high_first", "low_first"),
    [c[1:] for c in UINT32_CASES],
    ids=[c[0] for c in UINT32_CASES],
)
def test_uint32_word_orders(
    value: int, high_first: tuple[int, int], low_first: tuple[int, int]
) -> None:
    assert uint32_high_first(value) == high_first
    assert uint32_low_first(value) == low_first


@pytest.mark.parametrize("value", [-1, 1 << 32])
def test_uint32_out_of_range_is_refused_not_wrapped(value: int) -> None:
    with pytest.raises(ValueError, match="32-bit"):
        uint32_high_first(value)


def test_a_uint32_encoding_refuses_a_fraction() -> None:
    with pytest.raises(ValueError, match="whole number"):
        Encoding.UINT32_HIGH_FIRST.encode(1.5)


# --- device maps ---------------------------------------------------------------------------

STATE = MeterState(total=3020.25, rate_per_hour=0.46, mains_voltage=230.0)
WATER = MeterState(total=142.9375, rate_per_hour=0.026)
GAS = MeterState(total=812.3456, rate_per_hour=0.2)

DEVICE_CASES = [
    (
        "sdm120",
        "eastron_sdm120",
        STATE,
        {
            0x0000: 0x4366, 0x0001: 0x0000,  # 230.0 V
            0x0006: 0x4000, 0x0007: 0x0000,  # 460 W / 230 V = 2.0 A
            0x000C: 0x43E6, 0x000D: 0x0000,  # 460.0 W
            0x0156: 0x453C, 0x0157: 0xC400,  # 3020.25 kWh
        },
    ),
    (
        "water",
        "generic_water_u32",
        WATER,
        {0x0000: 0x0002, 0x0001: 0x2E59, 0x0002: 0x0000, 0x0003: 0x001A},  # 142937 L, 26 L/h
    ),
    ("gas", "generic_gas_u32", GAS, {0x0000: 0x0001, 0x0001: 0x3D52}),  # 81234 x 0.01 m3
]  # fmt: skip


@pytest.mark.parametrize(
    ("device", "state", "words"), [c[1:] for c in DEVICE_CASES], ids=[c[0] for c in DEVICE_CASES]
)
def test_device_registers(device: str, state: MeterState, words: dict[int, int]) -> None:
    assert encode_registers(DEVICE_MAPS[device], state) == words


def test_the_litre_counter_wraps_like_the_device() -> None:
    words = encode_registers(DEVICE_MAPS["generic_water_u32"], MeterState(2**32 / 1000 + 5, 0.0))
    assert (words[0] << 16) | words[1] == 5000


def test_devices_answer_on_the_gateway_profile_tables() -> None:
    assert DEVICE_MAPS["eastron_sdm120"].table is RegisterTable.INPUT
    assert DEVICE_MAPS["eastron_sdm120"].table.read_function_code == 4
    assert DEVICE_MAPS["generic_water_u32"].table is RegisterTable.HOLDING
    assert DEVICE_MAPS["generic_water_u32"].table.read_function_code == 3
    assert DEVICE_MAPS["generic_gas_u32"].table is RegisterTable.HOLDING


# --- round trip through the gateway's decoder ----------------------------------------------

PROFILES = load_profiles()
# Our register name -> the quantity the gateway's profile reads there.
QUANTITY_OF = {
    "voltage": "voltage_v",
    "current": "current_a",
    "active_power": "power_w",
    "total_active_energy": "electricity_kwh",
    "total_volume": "water_m3",
    "flow_rate": "water_flow_lph",
}
QUANTITY_OF_GAS = {"total_volume": "gas_m3"}


def gateway_spec(device: str, quantity: str) -> RegisterSpec:
    (spec,) = PROFILES[device].registers_for(quantity)  # one register, not parts
    return spec


@pytest.mark.parametrize("device", sorted(DEVICE_MAPS))
def test_every_register_sits_where_the_gateway_profile_reads_it(device: str) -> None:
    device_map = DEVICE_MAPS[device]
    profile: DeviceProfile = PROFILES[device]
    quantities = QUANTITY_OF_GAS if device == "generic_gas_u32" else QUANTITY_OF
    assert len(profile.registers) == len(device_map.fields)
    for field in device_map.fields:
        spec = gateway_spec(device, quantities[field.name])
        assert (spec.address, spec.function.value) == (field.address, device_map.table.value)
        assert spec.count == field.count


def _decoded(device: str, state: MeterState) -> dict[str, float]:
    """Encode ``state`` into a register image and read it back as the gateway would; registers
    between the mapped ones read 0, as they do from the server."""
    image = encode_registers(DEVICE_MAPS[device], state)
    profile = PROFILES[device]
    blocks = plan_reads(profile, {spec.quantity for spec in profile.registers})
    return decode_blocks(
        [(block, [image.get(block.address + i, 0) for i in range(block.count)]) for block in blocks]
    )


def test_sdm120_round_trip() -> None:
    values = _decoded("eastron_sdm120", STATE)
    assert values["electricity_kwh"] == 3020.25
    assert values["voltage_v"] == 230.0
    assert values["power_w"] == pytest.approx(460.0)
    assert values["current_a"] == pytest.approx(2.0)


def test_water_round_trip_in_cubic_metres() -> None:
    values = _decoded("generic_water_u32", WATER)
    assert values["water_m3"] == pytest.approx(142.937)
    assert values["water_flow_lph"] == 26.0


def test_gas_round_trip_in_cubic_metres() -> None:
    assert _decoded("generic_gas_u32", GAS)["gas_m3"] == pytest.approx(812.34)


@given(st.floats(min_value=0.0, max_value=1e6, allow_nan=False))
def test_any_energy_total_survives_the_gateway_decoder_at_float32_precision(total: float) -> None:
    spec = gateway_spec("eastron_sdm120", "electricity_kwh")
    decoded = decode_register(spec, float32_high_first(total))
    assert decoded == pytest.approx(total, rel=2**-23, abs=1e-38)


@given(st.integers(min_value=0, max_value=4_000_000_000))
def test_any_litre_count_survives_the_gateway_decoder(litres: int) -> None:
    spec = gateway_spec("generic_water_u32", "water_m3")
    assert decode_register(spec, uint32_high_first(litres)) == pytest.approx(litres / 1000)


def test_sdm120_identity_registers_satisfy_the_profiles_model_code_rule() -> None:
    identity = EASTRON_SDM120.identity
    assert identity is not None
    words = encode_identity(identity, serial=24_000_011)
    (rule,) = [r for r in load_profiles()["eastron_sdm120"].identify if r.is_model_code]
    assert rule.spec.address == identity.address + 2
    assert rule.accepts(decode_register(rule.spec, [words[rule.spec.address]]))
    assert (words[identity.address] << 16) | words[identity.address + 1] == 24_000_011

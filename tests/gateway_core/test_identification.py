"""Meter identification as a table: what a device answered in, the fitting profiles out."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import pytest

from gateway.core.identification import Probe, identify, probes_for
from gateway.core.registers import ProfileError, RegisterFunction, parse_profile
from gateway.modbus.device_profiles import load_profiles

PROFILES = load_profiles()
HOLD, INP = RegisterFunction.HOLDING, RegisterFunction.INPUT


def f32(value: float) -> list[int]:
    raw = int.from_bytes(struct.pack(">f", value), "big")
    return [raw >> 16, raw & 0xFFFF]


def u32(value: int) -> list[int]:
    return [value >> 16, value & 0xFFFF]


ENERGY = Probe(INP, 0x0156, 2)
VOLTAGE = Probe(INP, 0x0000, 2)
METER_CODE = Probe(HOLD, 0xFC02, 1)
LITRES = Probe(HOLD, 0x0000, 2)
FLOW = Probe(HOLD, 0x0002, 2)

Answers = dict[Probe, Sequence[int] | None]
SDM120: Answers = {ENERGY: f32(1234.5), VOLTAGE: f32(230.0), METER_CODE: [0x0020]}

CASES: list[tuple[str, Answers, list[tuple[str, bool]]]] = [
    ("SDM120 by its meter code", SDM120, [("eastron_sdm120", True)]),
    ("SDM630 by its meter code", {**SDM120, METER_CODE: [0x0070]}, [("eastron_sdm630", True)]),
    ("an unknown Eastron code fits nothing", {**SDM120, METER_CODE: [0x0099]}, []),
    ("an energy meter without a voltage is not an SDM", {**SDM120, VOLTAGE: f32(12.0)}, []),
    ("no meter code: no SDM", {**SDM120, METER_CODE: None}, []),
    (
        "litres and a flow: water first, a bare counter possible",
        {LITRES: u32(100_000), FLOW: u32(20)},
        [("generic_water_u32", False), ("generic_gas_u32", False)],
    ),
    (
        "a counter without a flow register: gas",
        {LITRES: u32(5000), FLOW: None},
        [("generic_gas_u32", False)],
    ),
    (
        "an absurd flow is no water meter",
        {LITRES: u32(5), FLOW: u32(10**7)},
        [("generic_gas_u32", False)],
    ),
    ("answers nothing useful", {LITRES: None, ENERGY: None}, []),
    (
        "a NaN total fits nothing",
        {ENERGY: f32(float("nan")), VOLTAGE: f32(230.0), METER_CODE: [0x20]},
        [],
    ),
]


@pytest.mark.parametrize(("answers", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_identify(answers: Answers, expected: list[tuple[str, bool]]) -> None:
    fits = identify(PROFILES.values(), answers)
    assert [(fit.profile, fit.confirmed) for fit in fits] == expected


def test_probes_read_totals_first_and_each_register_once() -> None:
    probes = probes_for(PROFILES.values())
    assert len(set(probes)) == len(probes)
    assert probes.index(ENERGY) < probes.index(METER_CODE)
    assert {ENERGY, VOLTAGE, METER_CODE, LITRES, FLOW} <= set(probes)
    # The lift terminal's map is not a meter's: it adds no probes of its own.
    assert Probe(HOLD, 0x0010, 64) not in probes


def test_evidence_names_what_matched() -> None:
    (fit,) = identify(PROFILES.values(), SDM120)
    assert fit.evidence == "meter_code = 0x0020, voltage = 230"
    assert fit.kind == "electricity_kwh"
    assert fit.total == 1234.5


BASE = {
    "profile": {"name": "p", "description": "d", "max_registers_per_read": 8},
    "registers": [
        {"name": "t", "quantity": "water_m3", "function": "holding", "address": 0, "type": "uint32"}
    ],
}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "c", "function": "holding", "address": 9, "type": "uint16"}, "needs equals"),
        (
            {"name": "c", "function": "holding", "address": 9, "type": "uint16", "equals": [1],
             "min": 0},
            "either equals or min/max",
        ),
        ({"name": "c", "function": "holding", "address": 9, "type": "uint16", "min": 5, "max": 1},
         "above max"),
        ({"name": "c", "function": "holding", "address": 9, "type": "uint16", "equals": "x"},
         "array of numbers"),
        ({"name": "c", "function": "coil", "address": 9, "type": "uint16", "equals": [1]},
         "must be one of"),
    ],
)  # fmt: skip
def test_identify_rules_are_checked(rule: dict[str, object], message: str) -> None:
    with pytest.raises(ProfileError, match=message) as caught:
        parse_profile({**BASE, "identify": [rule]}, "p.toml")
    assert str(caught.value).startswith("p.toml: identify[0]")

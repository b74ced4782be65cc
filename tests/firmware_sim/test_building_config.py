"""The building file: the demo building loads; each broken file is refused with one line per
problem naming the file, the field path and the rule."""

from __future__ import annotations

import math
from pathlib import Path
from typing import get_args

import pytest

from firmware_sim.building_config import (
    BuildingConfig,
    BuildingConfigError,
    DeviceModel,
    load_building_config,
)
from firmware_sim.register_encoding import DEVICE_MAPS

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo" / "building.toml"

GOOD = """
[building]
id = "b-1"
utc_offset = "+08:00"

[[units]]
unit_id = "0101"
floor = 1
area_m2 = 44.0
rooms = 1
occupants = 2
  [[units.meters]]
  kind = "electricity_kwh"
  device = "eastron_sdm120"
  device_id = 11
  initial_total = 1500.0
  [[units.meters]]
  kind = "water_m3"
  device = "generic_water_u32"
  device_id = 12
  [[units.changes]]
  at_day = 1.0
  occupants = 9
  label = "group_rental"

[[units]]
unit_id = "0102"
floor = 1
area_m2 = 60.0
rooms = 2
occupants = 3
  [[units.meters]]
  kind = "water_m3"
  device = "generic_water_u32"
  device_id = 22
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "building.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(BuildingConfigError) as caught:
        load_building_config(write(tmp_path, text))
    return str(caught.value)


def test_a_good_file_loads_into_frozen_values(tmp_path: Path) -> None:
    config = load_building_config(write(tmp_path, GOOD))
    assert config.building.id == "b-1"
    assert (config.modbus_tcp.host, config.modbus_tcp.port) == ("127.0.0.1", 5020)
    first = config.units[0]
    assert first.meter("electricity_kwh") is not None
    assert first.meter("gas_m3") is None
    assert first.changes[0].label == "group_rental"
    assert config.building.timezone.utcoffset(None).total_seconds() == 8 * 3600
    with pytest.raises(ValueError, match="frozen"):
        first.occupants = 5  # type: ignore[misc]


def test_the_demo_building() -> None:
    config: BuildingConfig = load_building_config(DEMO)
    assert config.building.id == "demo-building"
    ids = [unit.unit_id for unit in config.units]
    assert ids == [f"0{floor}0{pos}" for floor in range(1, 5) for pos in range(1, 4)]
    for unit in config.units:
        floor, position = int(unit.unit_id[:2]), int(unit.unit_id[2:])
        electricity, water = unit.meter("electricity_kwh"), unit.meter("water_m3")
        assert electricity is not None and water is not None
        assert electricity.device == "eastron_sdm120"
        assert electricity.device_id == 10 * (3 * (floor - 1) + position) + 1
        assert (water.device, water.device_id) == ("generic_water_u32", electricity.device_id + 1)
        assert 40 <= unit.area_m2 <= 95 and 1 <= unit.rooms <= 3
        cap = min(2 * unit.rooms, math.floor(unit.area_m2 / 5))
        assert 1 <= unit.occupants <= min(cap, 5), unit.unit_id
    by_id = {unit.unit_id: unit for unit in config.units}
    rental = by_id["0302"]
    assert (rental.area_m2, rental.rooms, rental.occupants) == (44.0, 1, 2)
    assert [(c.at_day, c.occupants, c.label) for c in rental.changes] == [(1.0, 9, "group_rental")]
    assert [u.unit_id for u in config.units if u.changes] == ["0302"]
    assert any((u.occupants, u.rooms, u.area_m2) == (5, 3, 90.0) for u in config.units)


BROKEN = [
    (
        "area not positive",
        ("area_m2 = 44.0", "area_m2 = 0"),
        "building.toml: units[0].area_m2: Input should be greater than 0",
    ),
    ("no rooms", ("rooms = 2", "rooms = 0"), "building.toml: units[1].rooms: Input should be"),
    (
        "device id out of range",
        ("device_id = 22", "device_id = 248"),
        "building.toml: units[1].meters[0].device_id: Input should be less than or equal to 247",
    ),
    (
        "unknown device",
        ('device = "eastron_sdm120"', 'device = "sdm999"'),
        "building.toml: units[0].meters[0].device: Input should be",
    ),
    (
        "device cannot measure the kind",
        ('kind = "electricity_kwh"', 'kind = "gas_m3"'),
        "building.toml: units[0].meters[0].device: eastron_sdm120 measures electricity_kwh,"
        " not gas_m3",
    ),
    (
        "negative reading",
        ("initial_total = 1500.0", "initial_total = -1.0"),
        "building.toml: units[0].meters[0].initial_total: Input should be greater than or equal",
    ),
    (
        "unknown field",
        ("rooms = 1", "rooms = 1\nbalconies = 2"),
        "building.toml: units[0].balconies: Extra inputs are not permitted",
    ),
    (
        "bad offset",
        ('utc_offset = "+08:00"', 'utc_offset = "8"'),
        "building.toml: building.utc_offset: must look like +08:00",
    ),
    (
        "duplicate device id",
        ("device_id = 22", "device_id = 12"),
        "building.toml: units[1].meters[0].device_id: 12 is already used by units[0].meters[1]"
        " (unit 0101); device ids must be unique in a building",
    ),
    (
        "duplicate unit",
        ('unit_id = "0102"', 'unit_id = "0101"'),
        "building.toml: units[1].unit_id: '0101' is already used by units[0]",
    ),
    (
        "two meters of one kind",
        (
            'kind = "electricity_kwh"\n  device = "eastron_sdm120"',
            'kind = "water_m3"\n  device = "generic_water_u32"',
        ),
        "building.toml: units[0].meters[1].kind: a second water_m3 meter in one unit",
    ),
]


@pytest.mark.parametrize(
    ("edit", "message"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_a_broken_file_is_refused_with_the_field_path(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    old, new = edit
    assert old in GOOD
    text = refusal(tmp_path, GOOD.replace(old, new, 1))
    assert any(line.startswith(message) for line in text.splitlines()), text


def test_every_problem_gets_its_own_line(tmp_path: Path) -> None:
    text = refusal(
        tmp_path, GOOD.replace("area_m2 = 44.0", "area_m2 = -3").replace("rooms = 2", "rooms = 0")
    )
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("building.toml: units[0].area_m2: ")
    assert lines[1].startswith("building.toml: units[1].rooms: ")


def test_changes_must_be_in_order(tmp_path: Path) -> None:
    text = refusal(
        tmp_path,
        GOOD.replace(
            'label = "group_rental"',
            'label = "group_rental"\n  [[units.changes]]\n  at_day = 0.5\n  occupants = 2',
        ),
    )
    assert text == (
        "building.toml: units[0].changes[1].at_day: must be later than changes[0] (1);"
        " list changes in order"
    )


def test_every_device_model_has_a_register_map() -> None:
    assert set(get_args(DeviceModel)) == set(DEVICE_MAPS)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(BuildingConfigError, match="file not found"):
        load_building_config(tmp_path / "nowhere.toml")
    assert refusal(tmp_path, "[building\n").startswith("building.toml: not valid TOML: ")
    no_units = 'units = []\n[building]\nid = "b"\n'
    assert refusal(tmp_path, no_units) == "building.toml: units: must list at least one unit"

"""Gateway configuration: a good file loads into typed values; each broken one is refused with
the file, the field path and the rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config.detection import load_detection_config
from gateway.config.gateway_file import load_gateway_config
from gateway.errors import ConfigError

GOOD = """
[gateway]
id = "gw-1"
key_file = "keys/gw-1.key.pem"
utc_offset = "+08:00"

[mqtt]
port = 1884

[[modbus_tcp]]
name = "conv-1"
host = "127.0.0.1"
port = 5020

[[units]]
unit_id = "0101"
floor = 1
area_m2 = 44.0
rooms = 1
  [[units.meters]]
  kind = "electricity_kwh"
  bus = "conv-1"
  device_id = 11
  profile = "eastron_sdm120"
  [[units.meters]]
  kind = "water_m3"
  bus = "conv-1"
  device_id = 12
  profile = "generic_water_u32"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads_with_resolved_paths_and_core_parameters(tmp_path: Path) -> None:
    config = load_gateway_config(write(tmp_path, GOOD))
    assert config.gateway.key_file == tmp_path / "keys" / "gw-1.key.pem"
    assert config.gateway.store_path == tmp_path / "gateway.sqlite"
    assert config.topic("alert") == "bldg/v1/gw-1/alert"
    assert config.occupancy_rules.max_persons_per_room == 2
    assert config.gateway.timezone.utcoffset(None).total_seconds() == 8 * 3600
    limits = config.counter_limits(config.units[0])
    assert set(limits) == {"water_m3", "electricity_kwh", "gas_m3"}
    assert limits["water_m3"].rollover_at is None


def test_a_meter_that_wraps_early_carries_its_rollover_into_the_core(tmp_path: Path) -> None:
    text = GOOD.replace(
        'profile = "generic_water_u32"', 'profile = "generic_water_u32"\n  rollover_at = 100000.0'
    )
    config = load_gateway_config(write(tmp_path, text))
    limits = config.counter_limits(config.units[0])
    assert limits["water_m3"].rollover_at == 100000.0
    assert limits["electricity_kwh"].rollover_at is None


def test_the_door_section_reaches_the_detector_and_the_backtest(tmp_path: Path) -> None:
    door = "[door]\ncredentials_per_person = 2.0\nknown_present_days = 4\nmin_newcomers = 3\n"
    path = write(tmp_path, GOOD.replace("[mqtt]", door + "\n[mqtt]"))
    settings = load_gateway_config(path).detector_settings
    assert settings.locks.credentials_per_person == 2.0
    assert settings.locks.known_present_days == 4
    assert settings.locks.unlocks_per_person_day == 1.2  # the default
    assert settings.residents.min_newcomers == 3
    # gateway backtest --config reads the same section from the same file.
    replayed = load_detection_config(path).detector_settings("gw-1")
    assert replayed.locks == settings.locks and replayed.residents == settings.residents


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "[mqtt]",
            "[door]\nknown_present_days = 9\n\n[mqtt]",
            "gateway.toml: door: known_present_days (9) must not exceed window_days (7)",
        ),
        (
            "[mqtt]",
            "[door]\ncredentials_per_person = 0.5\n\n[mqtt]",
            "gateway.toml: door.credentials_per_person: Input should be greater than or equal to 1",
        ),
        (
            "area_m2 = 44.0",
            "area_m2 = 0",
            "gateway.toml: units[0].area_m2: Input should be greater than 0",
        ),
        (
            "rooms = 1",
            "rooms = 0",
            "gateway.toml: units[0].rooms: Input should be greater than or equal to 1",
        ),
        ('id = "gw-1"', 'id = "gw 1"', "gateway.toml: gateway.id: String should match pattern"),
        (
            'bus = "conv-1"\n  device_id = 12',
            'bus = "conv-9"\n  device_id = 12',
            "units[0].meters[1].bus: no bus named 'conv-9' in [[modbus_tcp]] or [[modbus_rtu]]",
        ),
        (
            "device_id = 12",
            "device_id = 11",
            "units[0].meters[1].device_id: 11 on conv-1 is already used by units[0].meters[0]",
        ),
        (
            'kind = "water_m3"',
            'kind = "steam"',
            "gateway.toml: units[0].meters[1].kind:"
            " Input should be 'water_m3', 'electricity_kwh' or 'gas_m3'",
        ),
        (
            "port = 1884",
            "port = 70000",
            "gateway.toml: mqtt.port: Input should be less than or equal to 65535",
        ),
        (
            'utc_offset = "+08:00"',
            'utc_offset = "CST"',
            "gateway.toml: gateway.utc_offset: must look like +08:00",
        ),
        ("[mqtt]", "[mqtt]\nhots = 1", "gateway.toml: mqtt.hots: Extra inputs are not permitted"),
        (
            'kind = "water_m3"',
            'kind = "electricity_kwh"',
            "gateway.toml: units[0]: more than one electricity_kwh meter",
        ),
    ],
)
def test_broken_file_names_file_path_and_rule(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in GOOD
    with pytest.raises(ConfigError) as caught:
        load_gateway_config(write(tmp_path, GOOD.replace(old, new, 1)))
    assert message in str(caught.value)


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"gateway.toml: not valid TOML"):
        load_gateway_config(write(tmp_path, "[gateway\n"))
    with pytest.raises(ConfigError, match="file not found"):
        load_gateway_config(tmp_path / "absent.toml")


def test_check_config_cli_prints_one_clear_line_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('profile = "eastron_sdm120"', 'profile = "sdm999"'))
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "units[0].meters[0].profile: no device profile named 'sdm999'" in result.stderr
    assert "Traceback" not in result.stderr

    ok = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", str(write(tmp_path, GOOD))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: gateway gw-1, 1 units, 2 meters")

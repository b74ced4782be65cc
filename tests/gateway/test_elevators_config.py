"""Lifts in the gateway: ``[[elevators]]`` validated with field paths (in either mode), and the
store's round trip of their floor-stop counters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gateway.config.gateway_file import load_gateway_config
from gateway.errors import ConfigError
from gateway.modbus.bus_poller import build_pollers
from gateway.observations import ElevatorSample
from gateway.store.gateway_store import GatewayStore
from simclock import SimClock

CST = timezone(timedelta(hours=8))

BASE = """
[gateway]
id = "gw"
key_file = "k.pem"

[[modbus_tcp]]
name = "conv"
host = "127.0.0.1"

[[units]]
unit_id = "0201"
floor = 2
area_m2 = 50
rooms = 2
  [[units.meters]]
  kind = "water_m3"
  bus = "conv"
  device_id = 12
  profile = "generic_water_u32"
"""
LIFT = """
[[elevators]]
elevator_id = "L1"
bus = "conv"
device_id = 100
floors = [1, 2, 3, 4]
"""


def load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    build_pollers(load_gateway_config(path), SimClock.real(), check_only=True)


def test_a_lift_with_the_reference_profile_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(BASE + LIFT, encoding="utf-8")
    config = load_gateway_config(path)
    (lift,) = config.elevators
    assert (lift.profile, lift.floors) == ("elevator_floor_counters", (1, 2, 3, 4))
    build_pollers(config, SimClock.real(), check_only=True)


POSITION_LIFT = LIFT + 'mode = "position"\n'
# A terminal that knows only where its car is: no stop counters, no door.
CAR_ONLY_PROFILE = """profile.name = "car_only"
profile.description = "car position only"
profile.max_registers_per_read = 8
registers = [
  { name = "car_floor", quantity = "car_floor", function = "holding", address = 0, type = "int16" },
]
"""


def test_a_lift_in_position_mode_needs_no_stop_counters(tmp_path: Path) -> None:
    # Floor 40: the reference map has no counter there, and position mode needs none.
    path = tmp_path / "gateway.toml"
    path.write_text(BASE + POSITION_LIFT.replace("[1, 2, 3, 4]", "[1, 40]"), encoding="utf-8")
    config = load_gateway_config(path)
    (lift,) = config.elevators
    assert (lift.mode, lift.position_poll_s, lift.floors) == ("position", 2.0, (1, 40))
    build_pollers(config, SimClock.real(), check_only=True)


def test_existing_lifts_keep_counting(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(BASE + LIFT, encoding="utf-8")
    (lift,) = load_gateway_config(path).elevators
    assert lift.mode == "counters"


@pytest.mark.parametrize(
    ("lift", "message"),
    [
        (
            POSITION_LIFT + 'profile = "car_only"\n',
            "elevators[0].profile: profile car_only has no door_open register, which position"
            " mode reads",
        ),
        (
            POSITION_LIFT + 'profile = "generic_water_u32"\n',
            "elevators[0].profile: profile generic_water_u32 has no car_floor or door_open"
            " register",
        ),
        (POSITION_LIFT + "position_poll_s = 0\n", "elevators[0].position_poll_s: Input should"
         " be greater than 0"),
        (POSITION_LIFT + "position_poll_s = 900\n", "elevators[0].position_poll_s: Input"
         " should be less than or equal to 60"),
        (
            LIFT + "position_poll_s = 2\n",
            'elevators[0].position_poll_s: only a lift in position mode is sampled for its'
            ' position; add mode = "position" or remove it',
        ),
        (LIFT + 'mode = "doors"\n', "elevators[0].mode: Input should be 'counters' or"
         " 'position'"),
    ],
)  # fmt: skip
def test_bad_position_lifts_are_refused_with_their_field_path(
    tmp_path: Path, lift: str, message: str
) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "car_only.toml").write_text(CAR_ONLY_PROFILE, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, 'profile_dirs = ["profiles"]\n' + BASE + lift)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("lift", "message"),
    [
        (LIFT.replace('bus = "conv"', 'bus = "conv-9"'), "elevators[0].bus: no bus named 'conv-9'"),
        (
            LIFT.replace("device_id = 100", "device_id = 12"),
            "elevators[0].device_id: 12 on conv is already used by units[0].meters[0]",
        ),
        (
            LIFT + LIFT.replace("device_id = 100", "device_id = 101"),
            "elevators[1].elevator_id: 'L1' repeats elevators[0]",
        ),
        (
            LIFT + LIFT.replace('"L1"', '"L2"'),
            "elevators[1].device_id: 100 on conv is already used by elevators[0]",
        ),
        (LIFT.replace("[1, 2, 3, 4]", "[1, 2, 2]"), "elevators[0].floors: floor 2 is listed twice"),
        (LIFT.replace("[1, 2, 3, 4]", "[]"), "elevators[0].floors: Tuple should have at least 1"),
        (
            LIFT + 'profile = "otis_9000"\n',
            "elevators[0].profile: unknown device profile 'otis_9000'",
        ),
        (
            LIFT.replace("[1, 2, 3, 4]", "[1, 33]"),
            "elevators[0].floors: profile elevator_floor_counters has no stop counter for"
            " floor(s) 33",
        ),
    ],
)
def test_bad_lifts_are_refused_with_their_field_path(
    tmp_path: Path, lift: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, BASE + lift)
    assert message in str(caught.value)


def test_floor_counters_round_trip_around_a_day(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "gw.sqlite")
    day_start = datetime(2026, 3, 2, tzinfo=CST)
    hours = range(-6, 31, 3)  # from 18:00 the day before to 06:00 the day after
    samples = [
        ElevatorSample(lift, floor, day_start + timedelta(hours=h), 1000.0 * floor + h + 6)
        for lift in ("L1", "L2")
        for floor in (1, 2)
        for h in hours
    ]
    assert store.lifts.add(samples) == len(samples)
    counters = store.lifts.between(day_start, day_start + timedelta(days=1), CST)
    assert set(counters) == {1, 2} and set(counters[2]) == {"L1", "L2"}
    series = counters[2]["L1"]
    # From the last reading at/before midnight to the first at/after the next midnight.
    assert [r.ts for r in series] == [day_start + timedelta(hours=h) for h in range(0, 25, 3)]
    assert [r.total for r in series] == [2000.0 + h + 6 for h in range(0, 25, 3)]
    assert series[0].ts.utcoffset() == timedelta(hours=8)
    dropped = store.lifts.prune(day_start)
    assert dropped == 2 * 2 * 2  # the -6 h and -3 h readings of each series
    assert (
        store.lifts.between(day_start - timedelta(days=1), day_start, CST)[1]["L1"][0].ts
        == day_start
    )
    store.close()
    reopened = GatewayStore(tmp_path / "gw.sqlite")  # the table survives a restart
    assert len(reopened.lifts.between(day_start, day_start, CST)[1]["L2"]) == 1
    reopened.close()

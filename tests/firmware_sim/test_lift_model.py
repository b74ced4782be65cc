"""The simulated lift: its counters follow the households, its car stops where they tick, and
its registers read back through the gateway's own reference profile."""

from __future__ import annotations

import ast
import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from firmware_sim.building_config import (
    BuildingConfig,
    BuildingConfigError,
    load_building_config,
)
from firmware_sim.lift_model import (
    DOOR_OPEN_S,
    STOPS_PER_PERSON_DAY,
    CarPosition,
    LiftModel,
    building_lifts,
)
from firmware_sim.register_encoding import encode_lift_registers
from gateway.core.registers import decode_blocks, plan_reads
from gateway.modbus.device_profiles import load_profiles

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CST)  # local midnight

# unit -> (floor, occupants, occupants from day 2 on)
UNITS = {"0101": (1, 3, 3), "0201": (2, 2, 2), "0202": (2, 1, 1), "0301": (3, 2, 7)}


def building_text(elevators: str) -> str:
    units = "".join(
        f'[[units]]\nunit_id = "{u}"\nfloor = {f}\narea_m2 = 50\nrooms = 2\noccupants = {n}\n'
        f'  [[units.meters]]\n  kind = "water_m3"\n  device = "generic_water_u32"\n'
        f"  device_id = {10 + i}\n"
        + (f"  [[units.changes]]\n  at_day = 2.0\n  occupants = {later}\n" if later != n else "")
        for i, (u, (f, n, later)) in enumerate(UNITS.items())
    )
    return '[building]\nid = "lifted"\n' + units + elevators


def config(tmp_path: Path, elevators: str) -> BuildingConfig:
    path = tmp_path / "building.toml"
    path.write_text(building_text(elevators), encoding="utf-8")
    return load_building_config(path)


ONE_LIFT = '[[elevators]]\nelevator_id = "L1"\ndevice_id = 100\nfloors = [1, 2, 3]\n'


def lifts(tmp_path: Path, elevators: str = ONE_LIFT) -> list[LiftModel]:
    return building_lifts(config(tmp_path, elevators), START, 1, timedelta(hours=8))


def day_stops(model: LiftModel, floor: int, day: int) -> int:
    begin, end = START + timedelta(days=day), START + timedelta(days=day + 1)
    return model.stops_at(floor, end) - model.stops_at(floor, begin)


def test_each_floor_counts_its_residents_and_the_ground_floor_everyones(tmp_path: Path) -> None:
    (lift,) = lifts(tmp_path)
    # Day 0: floor 2 holds 3 people, floor 3 two; the ground floor's residents take the stairs.
    assert day_stops(lift, 2, 0) == pytest.approx(3 * STOPS_PER_PERSON_DAY, abs=1)
    assert day_stops(lift, 3, 0) == pytest.approx(2 * STOPS_PER_PERSON_DAY, abs=1)
    assert day_stops(lift, 1, 0) == pytest.approx(5 * STOPS_PER_PERSON_DAY, abs=1)
    # From day 2, seven people live in 0301: its floor's counter follows.
    assert day_stops(lift, 3, 3) == pytest.approx(7 * STOPS_PER_PERSON_DAY, abs=1)


def test_counters_never_fall_and_follow_the_hours_of_the_day(tmp_path: Path) -> None:
    (lift,) = lifts(tmp_path)
    hours = [lift.stops_at(1, START + timedelta(hours=h)) for h in range(0, 72)]
    assert hours == sorted(hours)
    night = hours[4] - hours[2]  # 02:00-04:00
    morning = hours[9] - hours[7]  # 07:00-09:00
    assert night < morning


def test_two_lifts_share_a_floor_they_both_serve(tmp_path: Path) -> None:
    both = ONE_LIFT + '[[elevators]]\nelevator_id = "L2"\ndevice_id = 101\nfloors = [1, 3]\n'
    l1, l2 = lifts(tmp_path, both)
    assert day_stops(l1, 3, 0) + day_stops(l2, 3, 0) == pytest.approx(
        2 * STOPS_PER_PERSON_DAY, abs=2
    )
    assert day_stops(l2, 2, 0) == 0  # L2 does not serve floor 2
    assert day_stops(l1, 2, 0) == pytest.approx(3 * STOPS_PER_PERSON_DAY, abs=1)


def test_the_same_seed_gives_the_same_counters(tmp_path: Path) -> None:
    t = START + timedelta(days=1, hours=7, minutes=13)
    (a,), (b,) = lifts(tmp_path), lifts(tmp_path)
    assert a.state_at(t) == b.state_at(t)


def test_the_car_stops_where_a_counter_ticks_and_holds_its_door_open_a_while(
    tmp_path: Path,
) -> None:
    (lift,) = lifts(tmp_path)
    begin = START + timedelta(days=1, hours=6)
    end = begin + timedelta(hours=6)
    made = lift.stops_between(begin, end)
    assert len(made) >= 10
    assert made == sorted(made)
    for floor in (1, 2, 3):  # one stop per tick of the floor's counter
        ticks = lift.stops_at(floor, end) - lift.stops_at(floor, begin)
        assert len([f for _, f in made if f == floor]) == ticks
    second = timedelta(seconds=1)
    for (at, floor), (then, _) in itertools.pairwise([*made, (end + 60 * second, 0)]):
        assert lift.stops_at(floor, at) == lift.stops_at(floor, at - second / 10) + 1
        assert lift.last_stop(at + second) == (at, floor)
        if then - at > (DOOR_OPEN_S + 1) * second:
            assert lift.car_at(at + second) == CarPosition(floor, True)
            assert lift.car_at(at + (DOOR_OPEN_S + 0.5) * second) == CarPosition(floor, False)
            assert lift.car_at(then - second) == CarPosition(floor, False)  # it waits there


def test_before_its_first_stop_the_car_waits_at_the_ground_floor(tmp_path: Path) -> None:
    (lift,) = lifts(tmp_path)
    assert lift.last_stop(START) is None
    assert lift.car_at(START) == CarPosition(1, False)
    assert lift.state_at(START).stops == {f: lift.stops_at(f, START) for f in (1, 2, 3)}


def test_floors_with_alike_households_do_not_stop_the_car_together(tmp_path: Path) -> None:
    units = "".join(
        f'[[units]]\nunit_id = "0{f}01"\nfloor = {f}\narea_m2 = 50\nrooms = 2\noccupants = 4\n'
        f'  [[units.meters]]\n  kind = "water_m3"\n  device = "generic_water_u32"\n'
        f"  device_id = {f}\n"
        for f in (2, 3, 4)
    )
    path = tmp_path / "alike.toml"
    path.write_text(
        '[building]\nid = "alike"\n' + units + ONE_LIFT.replace("[1, 2, 3]", "[1, 2, 3, 4]"),
        encoding="utf-8",
    )
    (lift,) = building_lifts(load_building_config(path), START, 1, timedelta(hours=8))
    made = lift.stops_between(START, START + timedelta(days=1))
    assert {floor for _, floor in made} == {1, 2, 3, 4}
    gaps = [(b - a).total_seconds() for (a, _), (b, _) in itertools.pairwise(made)]
    assert min(gaps) > DOOR_OPEN_S


def test_registers_read_back_through_the_gateway_reference_profile(tmp_path: Path) -> None:
    (lift,) = lifts(tmp_path)
    state = lift.state_at(START + timedelta(days=1, hours=9))
    image = encode_lift_registers(state.stops, car_floor=-2, door_open=True)
    profile = load_profiles()["elevator_floor_counters"]
    quantities = [f"stops_floor_{floor}" for floor in state.stops] + ["car_floor", "door_open"]
    blocks = plan_reads(profile, quantities)
    values = decode_blocks(
        [(block, [image.get(block.address + i, 0) for i in range(block.count)]) for block in blocks]
    )
    assert {f: values[f"stops_floor_{f}"] for f in state.stops} == state.stops
    assert (values["car_floor"], values["door_open"]) == (-2, 1)


@pytest.mark.parametrize(
    ("elevators", "message"),
    [
        (
            ONE_LIFT.replace("device_id = 100", "device_id = 11"),
            "elevators[0].device_id: 11 is already used by units[1].meters[0]",
        ),
        (ONE_LIFT.replace("[1, 2, 3]", "[2, 3]"), "ground_floor: 1 is not among the floors"),
        (ONE_LIFT.replace("[1, 2, 3]", "[1, 2, 2]"), "floors: 2 is listed twice"),
        (ONE_LIFT.replace("[1, 2, 3]", "[1, 40]"), "40 has no counter in the terminal"),
        (
            ONE_LIFT + '[[faults]]\ndevice_id = 100\nkind = "stuck"\n',
            "faults[0].kind: a lift terminal takes only faults on the wire",
        ),
    ],
)
def test_bad_lifts_are_refused_with_their_field_path(
    tmp_path: Path, elevators: str, message: str
) -> None:
    with pytest.raises(BuildingConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config(tmp_path, elevators)


def test_a_silent_fault_on_a_lift_is_accepted(tmp_path: Path) -> None:
    building = config(tmp_path, ONE_LIFT + '[[faults]]\ndevice_id = 100\nkind = "silent"\n')
    assert building.faults[0].device_id == building.elevators[0].device_id


def test_the_lift_model_is_pure() -> None:
    from tests.firmware_sim.test_pure_modules import FORBIDDEN, PACKAGE, imports_of

    tree = ast.parse((PACKAGE / "lift_model.py").read_text(encoding="utf-8"))
    assert not {m for m in imports_of(tree) if m.split(".")[0] in FORBIDDEN}

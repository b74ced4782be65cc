"""Scripted faults: when they hold, what a meter then shows, and how a bad fault is refused."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from firmware_sim.building_config import BuildingConfigError, load_building_config
from firmware_sim.faults import FaultSpec, active_fault, damaged_frame, shown_total


def fault(kind: str, **extra: object) -> FaultSpec:
    return FaultSpec.model_validate({"device_id": 12, "kind": kind, **extra})


@pytest.mark.parametrize(
    ("spec", "total", "at_start", "shown"),
    [
        (None, 150.0, 100.0, 150.0),
        (fault("slow"), 150.0, 100.0, 150.0),  # acts on the wire, not on the value
        (fault("stuck"), 150.0, 100.0, 100.0),
        (fault("reset"), 150.0, 100.0, 50.0),
        (fault("rollover", rollover_at=1000.0), 100.25, 100.0, 999.75),
        (fault("rollover", rollover_at=1000.0), 101.0, 100.0, 0.5),  # wrapped
    ],
)
def test_what_a_meter_shows(
    spec: FaultSpec | None, total: float, at_start: float, shown: float
) -> None:
    assert shown_total(spec, total, at_start) == pytest.approx(shown)


def test_nan_and_the_window_of_a_fault() -> None:
    assert math.isnan(shown_total(fault("nan"), 1.0, 0.0))
    window = [fault("silent", from_day=1.0, to_day=2.0), fault("stuck", from_day=3.0)]
    assert active_fault(window, 12, 0.5) is None
    assert active_fault(window, 12, 1.5).kind == "silent"  # type: ignore[union-attr]
    assert active_fault(window, 12, 2.0) is None
    assert active_fault(window, 12, 9.0).kind == "stuck"  # type: ignore[union-attr]
    assert active_fault(window, 13, 9.0) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "rollover"}, "needs rollover_at"),
        ({"kind": "silent", "from_day": 2.0, "to_day": 1.0}, "to_day must be later"),
        ({"kind": "melt"}, "Input should be"),
    ],
)
def test_a_fault_that_makes_no_sense_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FaultSpec.model_validate({"device_id": 12, **fields})


def test_building_file_names_the_fault_that_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "building.toml"
    path.write_text(
        '[building]\nid = "b"\nname = "B"\n[[units]]\nunit_id = "0101"\nfloor = 1\n'
        'area_m2 = 40\nrooms = 1\noccupants = 1\n[[units.meters]]\nkind = "water_m3"\n'
        'device = "generic_water_u32"\ndevice_id = 12\ninitial_total = 1.0\n'
        '[[faults]]\ndevice_id = 12\nkind = "nan"\n[[faults]]\ndevice_id = 99\nkind = "silent"\n',
        encoding="utf-8",
    )
    with pytest.raises(BuildingConfigError) as caught:
        load_building_config(path)
    assert "faults[0].kind: a generic_water_u32 has no float registers" in str(caught.value)
    assert "faults[1].device_id: no meter has device id 99" in str(caught.value)


RTU_ANSWER = bytes.fromhex("0b0404466c7e8d") + bytes.fromhex("a1b2")  # id, fc, count, data, crc
TCP_ANSWER = bytes.fromhex("000100000007") + bytes.fromhex("0b0404466c7e8d")


def test_a_bad_crc_flips_the_crc_of_rtu_answers_only() -> None:
    bad = damaged_frame(fault("bad_crc"), RTU_ANSWER, rtu=True, answer_number=1)
    assert bad[:-2] == RTU_ANSWER[:-2] and bad[-2:] != RTU_ANSWER[-2:]
    assert damaged_frame(fault("bad_crc"), TCP_ANSWER, rtu=False, answer_number=1) == TCP_ANSWER


@pytest.mark.parametrize(("rtu", "frame", "kept"), [(True, RTU_ANSWER, 1), (False, TCP_ANSWER, 7)])
def test_a_garbled_answer_keeps_its_address_and_length(rtu: bool, frame: bytes, kept: int) -> None:
    garbled = damaged_frame(fault("garbled"), frame, rtu=rtu, answer_number=1)
    assert len(garbled) == len(frame)
    assert garbled[:kept] == frame[:kept] and garbled[kept:] != frame[kept:]
    # The same frame is garbled the same way: a run can be repeated.
    assert damaged_frame(fault("garbled"), frame, rtu=rtu, answer_number=1) == garbled


def test_every_nth_answer_is_damaged() -> None:
    every_3 = fault("garbled", every=3)
    damaged = [
        damaged_frame(every_3, RTU_ANSWER, rtu=True, answer_number=n) != RTU_ANSWER
        for n in range(1, 8)
    ]
    assert damaged == [True, False, False, True, False, False, True]

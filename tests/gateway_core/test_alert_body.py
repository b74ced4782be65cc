"""Alert bodies: the wire contract, the stable case id, and the inspector's sentence."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from gateway.core.alert_body import UnitFacts, alert_id_for, build_alert_body
from gateway.core.alert_decision import (
    CaseState,
    DayAssessment,
    Decision,
    DecisionAction,
    DecisionParams,
    decide,
    initial_case_state,
)
from gateway.core.daily_usage import DailyUsage
from gateway.core.occupancy import PerCapitaNorms, estimate_occupancy

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "schemas" / "alert.schema.json"
VALIDATOR = Draft202012Validator(
    json.loads(SCHEMA_PATH.read_text(encoding="utf-8")),
    format_checker=Draft202012Validator.FORMAT_CHECKER,
)
SHANGHAI = timezone(timedelta(hours=8))
FLAT_0302 = UnitFacts(unit_id="0302", floor=3, area_m2=44.0, rooms=1)
FIRST_DAY = date(2026, 3, 2)


def day_of(
    i: int, water: float | None, electricity: float | None, gas: float | None = None
) -> DayAssessment:
    day = FIRST_DAY + timedelta(days=i)
    usage = DailyUsage("0302", day, water, electricity, gas, {"water_m3": 1.0}, ())
    return DayAssessment(day, usage, estimate_occupancy(usage, PerCapitaNorms()), 2)


def case_after(
    days: list[DayAssessment], params: DecisionParams | None = None
) -> tuple[CaseState, list[Decision]]:
    state, decisions = initial_case_state(), []
    for day in days:
        state, decision = decide(state, day, params or DecisionParams())
        if decision is not None:
            decisions.append(decision)
    return state, decisions


def body_for(state: CaseState, decision: Decision) -> dict[str, object]:
    raised_at = datetime(2026, 3, 5, 0, 10, tzinfo=SHANGHAI)
    return build_alert_body(
        gateway_id="demo-gw-0001",
        unit=FLAT_0302,
        state=state,
        decision=decision,
        raised_at=raised_at,
    )


def test_a_raised_case_matches_the_wire_contract() -> None:
    crowded = [day_of(0, 1.05, 15.2), day_of(1, 1.08, 15.6), day_of(2, 1.11, 16.0)]
    state, (raised,) = case_after(crowded, DecisionParams(sustain_days=3))
    body = body_for(state, raised)
    VALIDATOR.validate(body)
    assert body == {
        "schema": "bldg.alert/v1",
        "alert_id": "demo-gw-0001.0302.overcrowding.20260302",
        "revision": 0,
        "gateway_id": "demo-gw-0001",
        "unit_id": "0302",
        "kind": "overcrowding",
        "raised_at": "2026-03-05T00:10:00+08:00",
        "window": {"from": "2026-03-02", "to": "2026-03-04"},
        "legal_cap": 2,
        "estimated_occupancy": {"point": 9.3, "low": 7.0, "high": 11.6},
        "confidence": 0.998,
        "unit": {"floor": 3, "area_m2": 44.0, "rooms": 1},
        "evidence": {
            "summary": "Water 1.08 m3/day and electricity 15.6 kWh/day over 3 days suggest about"
            " 9 occupants (7-12); the legal cap for 44 m2 with 1 room is 2.",
            "signals": ["water", "electricity"],
            "days": [
                {"date": "2026-03-02", "water_m3": 1.05, "electricity_kwh": 15.2, "gas_m3": None,
                 "estimate": 8.8, "by_signal": {"water": 8.8, "electricity": 8.8}},
                {"date": "2026-03-03", "water_m3": 1.08, "electricity_kwh": 15.6, "gas_m3": None,
                 "estimate": 9.0, "by_signal": {"water": 9.0, "electricity": 9.1}},
                {"date": "2026-03-04", "water_m3": 1.11, "electricity_kwh": 16.0, "gas_m3": None,
                 "estimate": 9.3, "by_signal": {"water": 9.3, "electricity": 9.3}},
            ],
        },
    }  # fmt: skip


def test_an_update_keeps_the_alert_id_and_raises_the_revision() -> None:
    crowded = [day_of(i, 1.08, None) for i in range(9)]
    state, (_, update) = case_after(crowded)
    assert update.action is DecisionAction.UPDATE
    body = body_for(state, update)
    VALIDATOR.validate(body)
    assert body["alert_id"] == "demo-gw-0001.0302.overcrowding.20260302"
    assert body["revision"] == 1
    assert body["window"] == {"from": "2026-03-02", "to": "2026-03-10"}
    assert body["evidence"]["signals"] == ["water"]  # type: ignore[index]
    assert body["evidence"]["summary"].startswith("Water 1.08 m3/day over 9 days suggest")  # type: ignore[index]


def test_a_single_day_with_gas_and_two_rooms_reads_well() -> None:
    state, (raised,) = case_after([day_of(0, 1.2, 20.0, 3.3)], DecisionParams(sustain_days=1))
    body = body_for(state, raised)
    VALIDATOR.validate(body)
    summary = body["evidence"]["summary"]  # type: ignore[index]
    assert summary.startswith(
        "Water 1.20 m3/day, electricity 20.0 kWh/day and gas 3.30 m3/day over 1 day"
    )
    assert body["evidence"]["signals"] == ["water", "electricity", "gas"]  # type: ignore[index]


def test_frugal_renters_the_lock_counts_are_named_in_the_evidence() -> None:
    # Water says 3 people, electricity 2; six credentials opened the door on the same days.
    days = []
    for i in range(3):
        day = FIRST_DAY + timedelta(days=i)
        usage = DailyUsage("0302", day, 0.36, 5.0, None, {"water_m3": 1.0}, ())
        estimate = estimate_occupancy(usage, PerCapitaNorms(), {"locks": 4.3}, at_least=6.0)
        days.append(DayAssessment(day, usage, estimate, 2))
    state, (raised,) = case_after(days, DecisionParams(sustain_days=3, excess_persons=1))
    body = body_for(state, raised)
    VALIDATOR.validate(body)
    assert body["confidence"] == 1.0
    assert body["estimated_occupancy"]["point"] == 6.0  # type: ignore[index]
    assert [row["known_present"] for row in body["evidence"]["days"]] == [6, 6, 6]  # type: ignore[index]
    assert (
        "At least 6 different lock credentials opened the door on the same day, on several"
        " days of a week." in body["evidence"]["summary"]  # type: ignore[index]
    )


def test_evidence_rows_are_capped_at_the_schema_limit() -> None:
    crowded = [day_of(i, 1.08, None) for i in range(70)]
    state, decisions = case_after(crowded, DecisionParams(max_evidence_days=60))
    body = body_for(state, decisions[-1])
    VALIDATOR.validate(body)
    assert len(body["evidence"]["days"]) == 60  # type: ignore[index]


def test_a_close_has_no_body() -> None:
    state, decisions = case_after(
        [day_of(0, 1.08, None), day_of(1, 1.08, None)]
        + [day_of(i, 0.24, None) for i in range(2, 7)]
    )
    assert decisions[-1].action is DecisionAction.CLOSE
    with pytest.raises(ValueError, match="close decision"):
        body_for(state, decisions[-1])


def test_raised_at_must_carry_an_offset() -> None:
    state, (raised,) = case_after([day_of(0, 1.08, None), day_of(1, 1.08, None)])
    with pytest.raises(ValueError, match="UTC offset"):
        build_alert_body(
            gateway_id="gw", unit=FLAT_0302, state=state, decision=raised,
            raised_at=datetime(2026, 3, 5, 0, 10),
        )  # fmt: skip
    utc_body = build_alert_body(
        gateway_id="gw", unit=FLAT_0302, state=state, decision=raised,
        raised_at=datetime(2026, 3, 4, 16, 10, 5, 123456, tzinfo=UTC),
    )  # fmt: skip
    assert utc_body["raised_at"] == "2026-03-04T16:10:05+00:00"


@pytest.mark.parametrize(
    ("gateway_id", "unit_id", "kind", "opened_on", "expected"),
    [
        (
            "demo-gw-0001",
            "0302",
            "overcrowding",
            date(2026, 3, 2),
            "demo-gw-0001.0302.overcrowding.20260302",
        ),
        ("gw_7", "B-12_3", "leak", date(2025, 12, 31), "gw_7.B-12_3.leak.20251231"),
    ],
)
def test_alert_id_for(
    gateway_id: str, unit_id: str, kind: str, opened_on: date, expected: str
) -> None:
    assert alert_id_for(gateway_id, unit_id, kind, opened_on) == expected


def test_alert_id_refuses_characters_outside_the_contract() -> None:
    with pytest.raises(ValueError, match="does not match"):
        alert_id_for("gw 1", "0302", "overcrowding", FIRST_DAY)

"""What is known of a flat becomes the weight of its evidence; a flat with no history is judged
against its cohort; a known leak is not counted as people."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import pytest

from gateway.core.alert_body import UnitFacts
from gateway.core.alert_decision import (
    OVERCROWDING,
    CasePhase,
    CaseState,
    DecisionParams,
    initial_case_state,
)
from gateway.core.baselines import UnitBaseline, note_leak
from gateway.core.building_day import (
    DetectorSettings,
    UnitDayInputs,
    close_building_day,
    overcrowding_evidence_weight,
)
from gateway.core.cohorts import CohortParams, Kind, cohort_ratio, peers_of
from gateway.core.counters import CounterLimits, Reading
from gateway.core.daily_usage import DailyUsage
from gateway.core.lock_activity import LockDay
from gateway.core.occupancy import OccupancyRules, PerCapitaNorms, leak_taken_off_m3
from gateway.core.other_cases import LEAK
from gateway.core.residents import ResidentParams, Residents

DAY0 = date(2026, 3, 1)
CST = timezone(timedelta(hours=8))
PARAMS = ResidentParams(min_days=3, present_days=2)
DECISION = DecisionParams(
    sequential=True,
    min_confidence=0.75,
    partial_evidence_from=0.65,
    excess_persons=1,
    resident_evidence_weight=0.5,
    unlearned_evidence_weight=0.6,
    newcomer_evidence_weight=2.0,
    cohort_strong_ratio=2.5,
    moved_in_within_days=4,
)
KNOWN = UnitBaseline(
    learned={"water_m3": 0.24, "electricity_kwh": 5.0},
    residents=Residents({}, frozenset({"mum", "dad"})),
)


def lock_day(n: int, *credentials: str) -> LockDay:
    return LockDay(DAY0 + timedelta(days=n), len(credentials), 0, frozenset(credentials), 1, 0)


@pytest.mark.parametrize(
    ("baseline", "at_the_door", "cohort", "weight"),
    [
        (KNOWN, ["mum", "guest"], None, 0.5),  # the household is home: maybe a visit
        (KNOWN, ["renter-1", "renter-2"], None, 2.0),  # strangers took over
        (replace(KNOWN, last_empty=DAY0 + timedelta(days=19)), [], None, 2.0),  # just empty
        (KNOWN, [], None, 1.0),  # nothing else known
        (UnitBaseline(), [], None, 0.6),  # no history yet
        (UnitBaseline(), [], 1.4, 0.6),  # no history, like its cohort
        (UnitBaseline(), [], 3.0, 1.0),  # no history, three times its cohort's water
    ],
)
def test_what_is_known_of_the_household_weighs_the_evidence(
    baseline: UnitBaseline, at_the_door: list[str], cohort: float | None, weight: float
) -> None:
    lock_days = [lock_day(20, *at_the_door), lock_day(21, *at_the_door)] if at_the_door else None
    today = DAY0 + timedelta(days=21)
    got = overcrowding_evidence_weight(baseline, lock_days, DECISION, PARAMS, today, cohort)
    assert got == weight


def _usage(water: float | None) -> DailyUsage:
    return DailyUsage("u", DAY0, water, None, None, {"water_m3": 1.0}, ())


def test_the_cohort_is_the_flats_of_the_same_kind() -> None:
    kinds = [Kind(1, 40.0), Kind(1, 42.0), Kind(1, 44.0), Kind(1, 38.0), Kind(2, 41.0)]
    peers = peers_of(kinds, CohortParams(area_band=0.15, min_units=3))
    assert peers[0] == (1, 2, 3)  # not itself, not the two-room flat
    usages = [_usage(w) for w in (0.9, 0.3, 0.25, 0.35, 2.0)]
    params = CohortParams(min_units=3)
    assert cohort_ratio(usages, peers[0], 0, "water_m3", params) == pytest.approx(3.0)
    assert cohort_ratio(usages, peers[4], 4, "water_m3", params) is None  # no peers
    quiet = [_usage(w) for w in (0.9, 0.0, 0.01, 0.0, 2.0)]
    assert cohort_ratio(quiet, peers[0], 0, "water_m3", params) is None  # empty flats


def test_a_known_leak_is_taken_off_even_when_the_quietest_hour_dipped() -> None:
    norms = PerCapitaNorms(water_leak_lph=4.0)
    dipped = replace(_usage(0.72), quietest_hour={"water_m3": 0.0})
    assert leak_taken_off_m3(dipped, norms) == 0.0
    assert leak_taken_off_m3(dipped, norms, leak_floor_m3h=0.02) == pytest.approx(0.48)
    running = replace(_usage(0.72), quietest_hour={"water_m3": 0.025})
    assert leak_taken_off_m3(running, norms, leak_floor_m3h=0.02) == pytest.approx(0.6)
    assert leak_taken_off_m3(replace(_usage(0.3), quietest_hour={}), norms, 0.02) == 0.3
    baseline = note_leak(UnitBaseline(), running, 0.025)
    assert (baseline.leak_floor_m3h, baseline.leak_seen_on) == (0.025, DAY0)
    assert UnitBaseline.from_dict(baseline.to_dict()) == baseline


LIMITS = {"water_m3": CounterLimits(2.0), "electricity_kwh": CounterLimits(20.0)}


def _leaking_day(day: date) -> dict[str, list[Reading]]:
    """Two people (0.24 m3 from 07:00) and a 20 L/h leak whose flapper sealed from 02:00 to
    03:00 that day, read every hour; electricity for two."""
    start = datetime.combine(day, time(0), tzinfo=CST)
    water, kwh = 100.0, 900.0
    waters, kwhs = [Reading(start, water)], [Reading(start, kwh)]
    for h in range(24):
        water += (0.0 if h == 2 else 0.02) + (0.24 / 17 if h >= 7 else 0.0)
        kwh += 5.0 / 24
        waters.append(Reading(start + timedelta(hours=h + 1), water))
        kwhs.append(Reading(start + timedelta(hours=h + 1), kwh))
    return {"water_m3": waters, "electricity_kwh": kwhs}


@pytest.mark.parametrize(
    ("leak_phase", "seen_days_ago", "taken_off"),
    [
        (CasePhase.OPEN, 30, True),  # the leak's case is open
        (CasePhase.SUSPECT, 30, True),  # or suspected
        (CasePhase.WATCHING, 3, True),  # or it ran through every hour three days ago
        (CasePhase.WATCHING, 30, False),  # long ago, and no case: nothing known
    ],
)
def test_a_suspected_or_open_leak_is_not_counted_as_people(
    leak_phase: CasePhase, seen_days_ago: int, taken_off: bool
) -> None:
    day = DAY0 + timedelta(days=40)
    baseline = replace(KNOWN, leak_floor_m3h=0.02, leak_seen_on=day - timedelta(days=seen_days_ago))
    states: dict[str, CaseState] = {LEAK: replace(initial_case_state(), phase=leak_phase)}
    unit = UnitDayInputs(
        UnitFacts("0302", 3, 44.0, 1), _leaking_day(day), LIMITS, states, None, baseline
    )
    settings = DetectorSettings("gw", OccupancyRules(), PerCapitaNorms(), DECISION)
    closed_at = datetime.combine(day + timedelta(days=1), time(0, 10), tzinfo=CST)
    (result,) = close_building_day([unit], day, CST, settings, closed_at)
    estimate = result.assessment.estimate
    assert estimate is not None
    if taken_off:
        assert result.assessment.context["leak_litres_taken_off"] == pytest.approx(480.0)
        assert estimate.by_signal["water"] == pytest.approx(2.0, abs=0.3)
    else:
        assert "leak_litres_taken_off" not in result.assessment.context
        assert estimate.by_signal["water"] > 5.0  # the leak read as four more people
    assert OVERCROWDING in result.states

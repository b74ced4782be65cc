"""A household's own lock credentials, and the longer wait while they keep coming home."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import pytest

from gateway.core.alert_body import UnitFacts
from gateway.core.alert_decision import OVERCROWDING, CasePhase, CaseState, DecisionParams
from gateway.core.baselines import UnitBaseline
from gateway.core.building_day import (
    DetectorSettings,
    UnitDayInputs,
    close_building_day,
    overcrowding_wait_days,
)
from gateway.core.counters import CounterLimits, Reading
from gateway.core.lock_activity import LockDay
from gateway.core.occupancy import OccupancyRules, PerCapitaNorms
from gateway.core.residents import (
    ResidentParams,
    Residents,
    learn_residents,
    newcomers_only,
    residents_present,
)

PARAMS = ResidentParams(min_days=3, present_days=2)
DAY0 = date(2026, 3, 1)


def lock_day(n: int, *credentials: str) -> LockDay:
    return LockDay(DAY0 + timedelta(days=n), len(credentials), 0, frozenset(credentials), 1, 0)


def learned_from(days: list[LockDay]) -> Residents:
    residents = Residents()
    for i, day in enumerate(days):
        residents = learn_residents(residents, day, i == len(days) - 1, PARAMS)
    return residents


def test_credentials_seen_on_enough_learning_days_become_residents() -> None:
    days = [lock_day(i, "mum", "dad") for i in range(5)] + [lock_day(5, "mum", "plumber")]
    residents = learned_from(days)
    assert residents.learned == frozenset({"mum", "dad"})  # the plumber came once
    # Learned once, kept: later days change nothing.
    assert learn_residents(residents, lock_day(9, "x", "y"), True, PARAMS) is residents


def test_nothing_is_learned_before_the_baseline_is() -> None:
    residents = learn_residents(Residents(), lock_day(0, "mum"), False, PARAMS)
    assert residents.learned is None
    assert residents.days_seen == {"mum": 1}
    assert not residents_present(residents, [lock_day(1, "mum")], PARAMS)


@pytest.mark.parametrize(
    ("recent", "present"),
    [
        ([lock_day(20, "mum", "guest-pin"), lock_day(21, "guest-pin")], True),  # a visit
        ([lock_day(20, "mum"), lock_day(21, "r1"), lock_day(22, "r2", "r3")], False),  # moved out
        ([lock_day(20, "r1", "r2"), lock_day(21, "r3")], False),  # a crowd of strangers
        ([], False),
    ],
)
def test_the_household_is_present_while_its_credentials_open_the_door(
    recent: list[LockDay], present: bool
) -> None:
    residents = learned_from([lock_day(i, "mum", "dad") for i in range(4)])
    assert residents_present(residents, recent, PARAMS) is present


@pytest.mark.parametrize(
    ("recent", "newcomers"),
    [
        ([lock_day(20, "mum"), lock_day(21, "r1"), lock_day(22, "r2", "r3")], True),  # moved out
        ([lock_day(20, "mum", "guest-pin"), lock_day(21, "guest-pin")], False),  # a visit
        ([lock_day(20, "r1"), lock_day(21), lock_day(22)], False),  # nobody opened the door
        ([lock_day(20, "mum"), lock_day(21), lock_day(22, "guest-pin")], False),  # one stranger
        ([], False),
    ],
)
def test_newcomers_only_when_strangers_open_the_door_and_the_household_does_not(
    recent: list[LockDay], newcomers: bool
) -> None:
    residents = learned_from([lock_day(i, "mum", "dad") for i in range(4)])
    assert newcomers_only(residents, recent, PARAMS) is newcomers
    # Not knowing the household, nobody is a newcomer.
    assert not newcomers_only(Residents({"mum": 4}), recent, PARAMS)


def test_residents_survive_the_store() -> None:
    residents = learned_from([lock_day(i, "mum", "dad") for i in range(4)])
    baseline = UnitBaseline(learned={"water_m3": 0.3}, residents=residents)
    assert UnitBaseline.from_dict(baseline.to_dict()) == baseline
    learning = UnitBaseline(residents=Residents({"mum": 2}))
    assert UnitBaseline.from_dict(learning.to_dict()) == learning
    # Stored before residents existed, or damaged: learning starts again, nothing breaks.
    assert UnitBaseline.from_dict({"samples": {}, "learned": {}}).residents == Residents()
    damaged = {"samples": {}, "learned": {}, "residents": {"days_seen": {"mum": "x"}}}
    assert UnitBaseline.from_dict(damaged).residents == Residents()


CST = timezone(timedelta(hours=8))
LIMITS = {"water_m3": CounterLimits(2.0), "electricity_kwh": CounterLimits(20.0)}
SETTINGS = DetectorSettings(
    "gw",
    OccupancyRules(),
    PerCapitaNorms(),
    DecisionParams(sustain_days=3, min_confidence=0.75, excess_persons=1, resident_sustain_days=7),
)


def crowded_day(day: date) -> dict[str, list[Reading]]:
    """Nine people's water and electricity, read every hour, used between 06:00 and 24:00."""
    start = datetime.combine(day, time(0), tzinfo=CST)
    used = [max(0, h - 6) / 18 for h in range(25)]  # share of the day's use by each hour
    return {
        "water_m3": [
            Reading(start + timedelta(hours=h), 100 + 1.08 * u) for h, u in enumerate(used)
        ],
        "electricity_kwh": [
            Reading(start + timedelta(hours=h), 900 + 15.5 * u) for h, u in enumerate(used)
        ],
    }


HOUSEHOLD_LEARNED = UnitBaseline(
    learned={"water_m3": 0.24, "electricity_kwh": 5.0},
    residents=Residents({}, frozenset({"mum", "dad"})),
)


def first_alert_day(
    at_the_door: list[str] | None, baseline: UnitBaseline = HOUSEHOLD_LEARNED
) -> int | None:
    """Close ten crowded days of a 44 m2 one-room flat (by default one whose household, mum and
    dad, was learned); ``at_the_door`` opens the door every day (``None``: the flat has no
    lock). The day index of the first overcrowding alert."""
    states: dict[str, CaseState] = {}
    window: list[LockDay] = []
    for n in range(10):
        day = DAY0 + timedelta(days=n)
        window = [*window, lock_day(n, *(at_the_door or []))][-7:]
        unit = UnitDayInputs(
            UnitFacts("0302", 3, 44.0, 1),
            crowded_day(day),
            LIMITS,
            states,
            None if at_the_door is None else window,
            baseline,
        )
        closed_at = datetime.combine(day + timedelta(days=1), time(0, 10), tzinfo=CST)
        (result,) = close_building_day([unit], day, CST, SETTINGS, closed_at)
        if any(a["kind"] == OVERCROWDING for a in result.alerts):
            return n
        states, baseline = result.states, result.baseline
    return None


def test_a_visit_waits_longer_than_a_crowd_of_strangers() -> None:
    strangers = [f"renter-{i}" for i in range(9)]
    visit = ["mum", "dad", *(f"guest-{i}" for i in range(7))]  # as many people at the door
    # The household's credentials stopped and strangers' took over: nobody left to visit, so
    # the second over day raises (newcomer_sustain_days).
    assert first_alert_day(strangers) == 1
    assert first_alert_day(visit) == 6  # the household is home: the seventh


def test_a_crowd_that_moves_in_while_the_baseline_is_learned_is_not_the_household() -> None:
    # Eleven ordinary days learned so far: the baseline completes on the third crowded day, by
    # when the renters have opened the door on three days. Over-cap days teach nothing.
    learning = UnitBaseline(samples={"water_m3": (0.24,) * 11, "electricity_kwh": (5.0,) * 11})
    strangers = [f"renter-{i}" for i in range(9)]
    assert first_alert_day(strangers, learning) == 2


@pytest.mark.parametrize(
    ("baseline", "at_the_door", "sustain"),
    [
        (UnitBaseline(), ["mum", "dad"], 7),  # nobody knows the household yet
        (UnitBaseline(), [], 7),  # nor a flat without a lock
        (HOUSEHOLD_LEARNED, ["mum", "guest"], 7),  # the household is home: maybe a visit
        (HOUSEHOLD_LEARNED, ["renter-1", "renter-2"], 2),  # strangers took over
        (HOUSEHOLD_LEARNED, [], 3),  # no lock, or nobody used it: the configured wait
        (UnitBaseline(learned={"water_m3": 0.24}), ["r1"], 3),  # learned, no credentials
        # The flat stood empty three days before: nobody there to visit, a household moved in,
        (replace(HOUSEHOLD_LEARNED, last_empty=DAY0 + timedelta(days=18)), [], 2),
        (UnitBaseline(last_empty=DAY0 + timedelta(days=20)), [], 2),  # learned or not,
        # unless the household's own credentials still open the door,
        (replace(HOUSEHOLD_LEARNED, last_empty=DAY0 + timedelta(days=20)), ["mum", "g"], 7),
        # or the empty day was long ago (moved_in_within_days).
        (replace(HOUSEHOLD_LEARNED, last_empty=DAY0 + timedelta(days=16)), [], 3),
    ],
)
def test_the_wait_before_a_case_depends_on_what_is_known_of_the_household(
    baseline: UnitBaseline, at_the_door: list[str], sustain: int
) -> None:
    decision = DecisionParams(
        sustain_days=3,
        resident_sustain_days=7,
        unlearned_sustain_days=7,
        newcomer_sustain_days=2,
        moved_in_within_days=4,
    )
    lock_days = [lock_day(20, *at_the_door), lock_day(21, *at_the_door)] if at_the_door else None
    today = DAY0 + timedelta(days=21)
    assert overcrowding_wait_days(baseline, lock_days, decision, PARAMS, today) == sustain
    if baseline.last_empty is not None:  # the rule turned off: as if no empty day were known,
        off = replace(decision, moved_in_within_days=0)  # even one on the surge's first day
        emptied_today = replace(baseline, last_empty=today)
        unknown = replace(baseline, last_empty=None)
        expected = overcrowding_wait_days(unknown, lock_days, decision, PARAMS, today)
        assert overcrowding_wait_days(emptied_today, lock_days, off, PARAMS, today) == expected


def test_a_crowd_in_a_flat_that_just_stood_empty_is_raised_as_soon_as_strangers() -> None:
    # No lock: only the meters. The household moved out and the flat stood empty the day
    # before the crowd came; the second over day raises, as for strangers at the door.
    household_gone = replace(
        HOUSEHOLD_LEARNED, residents=Residents(), last_empty=DAY0 - timedelta(days=1)
    )
    assert first_alert_day(None, household_gone) == 1
    assert first_alert_day(None, replace(household_gone, last_empty=None)) == 2


def test_the_flat_stood_empty_before_the_surge_began_not_before_today() -> None:
    # A slow crowd: its suspicion began two days after the flat stood empty, four days ago, and
    # has one day of evidence so far. The empty day is six days before today, yet the surge is
    # still a household moving in: the second day with evidence raises it.
    suspicion = CaseState(CasePhase.SUSPECT, 1, DAY0 - timedelta(days=4), 0, None, (), 1.0)
    baseline = replace(
        HOUSEHOLD_LEARNED, residents=Residents(), last_empty=DAY0 - timedelta(days=6)
    )
    unit = UnitDayInputs(
        UnitFacts("0302", 3, 44.0, 1),
        crowded_day(DAY0),
        LIMITS,
        {OVERCROWDING: suspicion},
        None,
        baseline,
    )
    closed_at = datetime.combine(DAY0 + timedelta(days=1), time(0, 10), tzinfo=CST)
    (result,) = close_building_day([unit], DAY0, CST, SETTINGS, closed_at)
    assert [a["kind"] for a in result.alerts] == [OVERCROWDING]
    # An empty day five days before the surge began is too long before it: the usual wait.
    late = replace(unit, baseline=replace(baseline, last_empty=DAY0 - timedelta(days=9)))
    (result,) = close_building_day([late], DAY0, CST, SETTINGS, closed_at)
    assert result.alerts == []

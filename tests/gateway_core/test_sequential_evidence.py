"""Sequential evidence (``core.alert_decision``, ``sequential``): days in, decisions out.

Each day is a head count in a flat whose cap is 2 (no margin), with the interval of
``estimate`` below: ``9`` people are over the cap at a confidence of about 0.998 (a strongest
day), ``2.9`` at about 0.71 (just over the 0.65 reference), ``2`` at about 0.16 (plainly
quiet), ``None`` no data."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from gateway.core.alert_decision import (
    CasePhase,
    CaseState,
    DayAssessment,
    DecisionAction,
    DecisionParams,
    Observation,
    day_evidence,
    decide,
    initial_case_state,
    observe,
)
from gateway.core.case_state_json import case_state_from_dict, case_state_to_dict
from gateway.core.daily_usage import DailyUsage
from gateway.core.occupancy import OccupancyEstimate

FIRST_DAY = date(2026, 3, 1)
CAP = 2
SEQ = DecisionParams(
    sequential=True,
    min_confidence=0.75,
    partial_evidence_from=0.65,
    evidence_threshold=4.0,
    strongest_day=4.0,
)
OLD = DecisionParams(min_confidence=0.75, partial_evidence_from=0.65, sustain_days=4)
SYMBOLS = {"O": 9.0, "m": 2.9, "U": 2.0, "?": None, "X": 13.0}
ACTIONS = {DecisionAction.RAISE: "R", DecisionAction.UPDATE: "P", DecisionAction.CLOSE: "C"}


def _assessment(day: date, point: float | None) -> DayAssessment:
    water = None if point is None else point * 0.12
    usage = DailyUsage("0302", day, water, None, None, {"water_m3": 1.0}, ())
    if point is None:
        return DayAssessment(day, usage, None, CAP)
    half = max(0.5, 0.25 * point)
    estimate = OccupancyEstimate(point, max(0.0, point - half), point + half, ("water",))
    return DayAssessment(day, usage, estimate, CAP)


def run(days: str, params: DecisionParams) -> tuple[CaseState, str]:
    state = initial_case_state()
    out = ""
    for i, symbol in enumerate(days):
        day = FIRST_DAY + timedelta(days=i)
        state, decision = decide(state, _assessment(day, SYMBOLS[symbol]), params)
        out += "." if decision is None else ACTIONS[decision.action]
    return state, out


CASES = [
    # name, days, params, decisions, final phase
    ("a strong night raises at once", "O", SEQ, "R", CasePhase.OPEN),
    ("the old day count waited four", "OOOO", OLD, "...R", CasePhase.OPEN),
    (
        "a visit's prior halves the support: two nights",
        "OO",
        replace(SEQ, evidence_weight=0.5),
        ".R",
        CasePhase.OPEN,
    ),
    (
        "weak but lasting evidence takes as long as it needs",
        "mmmmmmmm",
        SEQ,
        ".......R",
        CasePhase.OPEN,
    ),
    ("a quiet day pays back", "mmmUmmmm", SEQ, "........", CasePhase.SUSPECT),
    (
        "a visit that ends never raises",
        "OU",
        replace(SEQ, evidence_weight=0.5),
        "..",
        CasePhase.WATCHING,
    ),
    (
        "unknown days change nothing",
        "?O",
        replace(SEQ, evidence_weight=0.5),
        "..",
        CasePhase.SUSPECT,
    ),
    (
        "a cooldown counts from the close",
        "OUUOOOO",
        replace(SEQ, clear_days=2, cooldown_days=3),
        "R.C..R.",
        CasePhase.OPEN,
    ),
    (
        "without a cooldown the next case raises at once",
        "OUUO",
        replace(SEQ, clear_days=2),
        "R.CR",
        CasePhase.OPEN,
    ),
    (
        "revisions only on a material change",
        "OOOOOOO",
        replace(SEQ, update_every_days=2, revise_min_persons=2.0),
        "R......",
        CasePhase.OPEN,
    ),
    (
        "a revision when the estimate moves",
        "OOOXXXX",
        replace(SEQ, update_every_days=2, revise_min_persons=2.0),
        "R...P.P",
        CasePhase.OPEN,
    ),
    (
        "no thresholds: every update_every_days",
        "OOOOO",
        replace(SEQ, update_every_days=2),
        "R.P.P",
        CasePhase.OPEN,
    ),
]


@pytest.mark.parametrize(
    ("days", "params", "expected", "phase"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_sequences(days: str, params: DecisionParams, expected: str, phase: CasePhase) -> None:
    state, decisions = run(days, params)
    assert decisions == expected
    assert state.phase is phase


@pytest.mark.parametrize(
    ("point", "evidence"), [(9.0, 4.0), (2.9, pytest.approx(0.58, abs=0.02)), (2.0, -2.0)]
)
def test_a_days_evidence_is_its_log_odds_against_the_reference(
    point: float, evidence: object
) -> None:
    day = _assessment(FIRST_DAY, point)
    observation, confidence = observe(day, SEQ)
    assert day_evidence(observation, confidence, SEQ) == evidence


def test_what_the_last_alert_said_and_the_close_survive_a_restart() -> None:
    state, _ = run("OUU", replace(SEQ, clear_days=2))
    assert state.closed_on == FIRST_DAY + timedelta(days=2)
    assert case_state_from_dict(case_state_to_dict(state)) == state
    opened, _ = run("O", SEQ)
    assert opened.sent_point == 9.0 and opened.sent_confidence is not None
    assert case_state_from_dict(case_state_to_dict(opened)) == opened
    legacy = case_state_to_dict(opened)
    for key in ("sent_point", "sent_confidence", "closed_on"):
        del legacy[key]
    assert case_state_from_dict(legacy).sent_point is None


@pytest.mark.parametrize(
    ("confidence", "evidence"),
    [
        (0.65, pytest.approx(0.0, abs=1e-6)),  # the reference: no evidence either way
        (0.75, pytest.approx(1.0)),  # min_confidence: one day's worth
        (0.85, 1.0),  # a family with guests stands here: only the days tell
        (0.95, pytest.approx(1.0)),  # strong_from
        (0.98, pytest.approx(2.2, abs=0.1)),
        (0.995, pytest.approx(4.0)),  # strongest_confidence
        (1.0, 4.0),  # known at the door: certain
        (0.3, -2.0),  # a plainly quiet day takes two away
    ],
)
def test_only_strong_days_count_more_than_one(confidence: float, evidence: object) -> None:
    observation = Observation.OVER if confidence >= 0.75 else Observation.UNDER
    assert day_evidence(observation, confidence, SEQ) == evidence

"""The case lifecycle: sequences of days in, decisions out; and the state's JSON round trip."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest

from gateway.core.alert_decision import (
    TRANSITIONS,
    CasePhase,
    CaseState,
    DayAssessment,
    Decision,
    DecisionAction,
    DecisionParams,
    Observation,
    decide,
    initial_case_state,
    over_cap_confidence,
)
from gateway.core.case_state_json import CaseStateError, case_state_from_dict, case_state_to_dict
from gateway.core.daily_usage import DailyUsage
from gateway.core.occupancy import OccupancyEstimate

FIRST_DAY = date(2026, 3, 1)
CAP = 2
DEFAULTS = DecisionParams()
PARTIAL = replace(DEFAULTS, sustain_days=3, partial_evidence_from=0.55)
WATCHING, SUSPECT = CasePhase.WATCHING, CasePhase.SUSPECT
OPEN, CLEARING = CasePhase.OPEN, CasePhase.CLEARING


def estimate(point: float) -> OccupancyEstimate:
    half = max(0.5, 0.25 * point)
    return OccupancyEstimate(point, max(0.0, point - half), point + half, ("water",))


def assessment(day: date, symbol: str) -> DayAssessment:
    """``O``: nine people in a flat for two; ``U``: two people; ``m``: 2.9 people, over the cap
    with a confidence of about 0.7, under DEFAULTS' 0.8; ``d``: 2.5 people, as likely over the
    cap as not; ``?``: no data."""
    point = {"O": 9.0, "U": 2.0, "m": 2.9, "d": 2.5, "?": None}[symbol]
    water = None if point is None else point * 0.12
    usage = DailyUsage("0302", day, water, None, None, {"water_m3": 1.0}, ())
    return DayAssessment(day, usage, None if point is None else estimate(point), CAP)


def run(
    days: str, params: DecisionParams = DEFAULTS, state: CaseState | None = None
) -> tuple[CaseState, list[Decision | None]]:
    state = state or initial_case_state()
    decisions = []
    for i, symbol in enumerate(days):
        state, decision = decide(state, assessment(FIRST_DAY + timedelta(days=i), symbol), params)
        decisions.append(decision)
    return state, decisions


ACTION_SYMBOL = {DecisionAction.RAISE: "R", DecisionAction.UPDATE: "P", DecisionAction.CLOSE: "C"}

SEQUENCES = [
    # name, days, params, expected decision per day, final phase
    ("two over days raise", "OO", DEFAULTS, ".R", OPEN),
    ("one over day is only a suspicion", "O", DEFAULTS, ".", SUSPECT),
    ("an unknown day neither breaks nor extends", "O?O", DEFAULTS, "..R", OPEN),
    ("unknown days alone do nothing", "????", DEFAULTS, "....", WATCHING),
    ("an under day drops the suspicion", "OUO", DEFAULTS, "...", SUSPECT),
    ("flapping never raises", "OUOUOUOU", DEFAULTS, "........", WATCHING),
    ("with partial evidence a doubtful day costs little", "OOdOO", PARTIAL, "....R", OPEN),
    ("a plainly quiet day costs two", "OOUOOO", PARTIAL, ".....R", OPEN),
    ("and two quiet days drop it", "OOUUO", PARTIAL, ".....", SUSPECT),
    ("flapping never raises either", "OUOUOUOU", PARTIAL, "........", WATCHING),
    ("lasting moderate days add up, later", "mmmmmmm", PARTIAL, ".....R.", OPEN),
    ("without partial evidence they never do", "mmmmmmm", DEFAULTS, ".......", WATCHING),
    ("a moderate day between over days helps", "OOmO", PARTIAL, "...R", OPEN),
    ("moderate days keep a case open", "OOOmmmmmm", PARTIAL, "..R......", OPEN),
    ("a long case raises once", "OOOOOO", DEFAULTS, ".R....", OPEN),
    ("updates every 7 days", "O" * 16, DEFAULTS, ".R......P......P", OPEN),
    ("five under days close", "OOUUUUU", DEFAULTS, ".R....C", WATCHING),
    ("four under days are still clearing", "OOUUUU", DEFAULTS, ".R....", CLEARING),
    ("over while clearing reopens without a raise", "OOUUOUUUUU", DEFAULTS, ".R.......C",
     WATCHING),
    ("unknown days while clearing do not count", "OOUU??UUU", DEFAULTS, ".R......C", WATCHING),
    ("a short dip stays one case", "OOOUUOOO", DEFAULTS, ".R......", OPEN),
    ("a new case after a close raises again", "OOUUUUUOO", DEFAULTS, ".R....C.R", OPEN),
    ("sustain 3", "OOUOOO", DecisionParams(sustain_days=3), ".....R", OPEN),
    ("sustain 1 raises on the first day", "UO", DecisionParams(sustain_days=1), ".R", OPEN),
    ("clear 1 closes on the first under day", "OOU", DecisionParams(clear_days=1), ".RC",
     WATCHING),
    ("update every 2 days", "OOOOOO", DecisionParams(update_every_days=2), ".R.P.P", OPEN),
    ("an update comes on reopening if due", "OOUUUOO", DecisionParams(update_every_days=3),
     ".R...P.", OPEN),
]  # fmt: skip


@pytest.mark.parametrize(
    ("days", "params", "expected", "phase"),
    [case[1:] for case in SEQUENCES],
    ids=[case[0] for case in SEQUENCES],
)
def test_sequences(days: str, params: DecisionParams, expected: str, phase: CasePhase) -> None:
    state, decisions = run(days, params)
    got = "".join("." if d is None else ACTION_SYMBOL[d.action] for d in decisions)
    assert got == expected
    assert state.phase is phase


def test_clear_1_closes_on_the_first_under_day() -> None:
    _, decisions = run("OOU", DecisionParams(clear_days=1))
    assert [d and d.action for d in decisions] == [None, DecisionAction.RAISE, DecisionAction.CLOSE]


def test_the_raise_carries_the_case() -> None:
    state, decisions = run("UO?O")
    raised = decisions[-1]
    assert raised is not None
    assert (raised.action, raised.kind) == (DecisionAction.RAISE, "overcrowding")
    assert raised.confidence > 0.99
    assert [a.day for a in raised.evidence] == [date(2026, 3, 2), date(2026, 3, 4)]
    assert raised.evidence[-1].day == date(2026, 3, 4)
    assert (state.opened_on, state.revision, state.last_sent_on) == (
        date(2026, 3, 2),
        0,
        date(2026, 3, 4),
    )


def test_updates_raise_the_revision_and_keep_the_opening_day() -> None:
    state, decisions = run("O" * 16)
    updates = [d for d in decisions if d is not None and d.action is DecisionAction.UPDATE]
    assert len(updates) == 2
    assert state.revision == 2
    assert state.opened_on == FIRST_DAY
    assert len(updates[-1].evidence) == DEFAULTS.max_evidence_days
    assert updates[-1].evidence[-1].day == FIRST_DAY + timedelta(days=15)


def test_close_resets_the_case() -> None:
    state, decisions = run("OOUUUUU")
    closed = decisions[-1]
    assert closed is not None and closed.action is DecisionAction.CLOSE
    assert closed.evidence[0].day == FIRST_DAY
    assert (state.phase, state.streak, state.opened_on, state.revision) == (WATCHING, 0, None, 0)
    assert len(state.recent) == 7


def test_a_new_case_has_a_new_opening_day() -> None:
    state, decisions = run("OOUUUUUOO")
    assert state.opened_on == FIRST_DAY + timedelta(days=7)
    raised = decisions[-1]
    assert raised is not None
    assert [a.day for a in raised.evidence] == [
        FIRST_DAY + timedelta(days=7),
        FIRST_DAY + timedelta(days=8),
    ]


def test_recent_is_bounded() -> None:
    state, _ = run("U" * 20, DecisionParams(max_evidence_days=5))
    assert [a.day for a in state.recent] == [FIRST_DAY + timedelta(days=i) for i in range(15, 20)]


def test_a_day_already_assessed_is_ignored() -> None:
    state, _ = run("O")
    again, decision = decide(state, assessment(FIRST_DAY, "O"), DEFAULTS)
    assert decision is None
    assert again is state


def test_the_transition_table_covers_every_phase_and_observation() -> None:
    assert set(TRANSITIONS) == {(p, o) for p in CasePhase for o in Observation}


@pytest.mark.parametrize(
    ("point", "cap", "low", "high"),
    [
        (9.0, 2, 0.99, 1.0),
        (2.0, 2, 0.0, 0.2),
        (4.0, 2, 0.9, 0.95),
        (2.5, 2, 0.5, 0.5),  # right on the threshold
        (0.0, 0, 0.0, 0.2),
    ],
)
def test_over_cap_confidence(point: float, cap: int, low: float, high: float) -> None:
    assert low <= over_cap_confidence(estimate(point), cap) <= high


def test_over_cap_confidence_without_spread() -> None:
    assert over_cap_confidence(OccupancyEstimate(3.0, 3.0, 3.0, ()), 2) == 1.0
    assert over_cap_confidence(OccupancyEstimate(2.0, 2.0, 2.0, ()), 2) == 0.0


def test_people_known_to_be_there_make_a_crowd_certain_only_over_the_cap() -> None:
    # Cap 2, one person of grace: over means 4 or more (threshold 3.5).
    meters = OccupancyEstimate(3.0, 1.0, 5.0, ("water", "locks"))
    assert over_cap_confidence(meters, 2, excess=1) == pytest.approx(0.40, abs=0.01)
    # Three known present (a family at its cap + 1): the meters decide, as without the floor.
    three = replace(meters, low=3.0, at_least=3.0)
    assert over_cap_confidence(three, 2, excess=1) == over_cap_confidence(meters, 2, excess=1)
    # Four known present: over whatever the meters say.
    four = replace(meters, low=4.0, at_least=4.0)
    assert over_cap_confidence(four, 2, excess=1) == 1.0
    assert over_cap_confidence(four, 3, excess=1) < 1.0


@pytest.mark.parametrize("days", ["", "OO?", "OOUU", "O" * 20, "OOUUUUU"])
def test_json_round_trip(days: str) -> None:
    state, _ = run(days)
    stored = json.loads(json.dumps(case_state_to_dict(state)))
    assert case_state_from_dict(stored) == state


def test_a_suspicion_keeps_its_evidence_through_the_store() -> None:
    state, _ = run("mm", PARTIAL)
    assert state.phase is SUSPECT and 0 < state.evidence < 2
    stored = json.loads(json.dumps(case_state_to_dict(state)))
    assert case_state_from_dict(stored) == state
    # Stored before the evidence sum existed: read as none.
    del stored["evidence"]
    assert case_state_from_dict(stored).evidence == 0.0


def test_people_known_to_be_there_survive_the_store() -> None:
    state, _ = run("OO")
    day = state.recent[-1]
    assert day.estimate is not None
    known = replace(state, recent=(replace(day, estimate=replace(day.estimate, at_least=6.0)),))
    stored = json.loads(json.dumps(case_state_to_dict(known)))
    assert case_state_from_dict(stored) == known
    # Stored before the floor existed: read as none.
    del stored["recent"][0]["estimate"]["at_least"]
    assert case_state_from_dict(stored).recent[0].estimate.at_least == 0.0  # type: ignore[union-attr]


def _stored() -> dict[str, object]:
    state, _ = run("OO?")
    data: dict[str, object] = json.loads(json.dumps(case_state_to_dict(state)))
    return data


def _broken(change: dict[str, object]) -> dict[str, object]:
    return _stored() | change


def _broken_day(key: str, value: object) -> dict[str, object]:
    data = _stored()
    recent = data["recent"]
    assert isinstance(recent, list)
    recent[1][key] = value
    return data


BROKEN_STATES = [
    (_broken({"version": 2}), "case state: version: must be 1"),
    (_broken({"phase": "closed"}),
     "case state: phase: must be one of watching, suspect, open, clearing"),
    (_broken({"streak": "2"}), "case state: streak: must be an integer"),
    (_broken({"opened_on": "yesterday"}), "case state: opened_on: must be a date like 2026-03-02"),
    (_broken({"recent": {}}), "case state: recent: must be a list"),
    (_broken_day("legal_cap", None), "case state: recent[1].legal_cap: must be an integer"),
    (_broken_day("estimate", {"point": 1.0}), "case state: recent[1].estimate.low: is missing"),
    (_broken_day("usage", []), "case state: recent[1].usage: must be an object"),
    ({k: v for k, v in _stored().items() if k != "revision"}, "case state: revision: is missing"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "message"), BROKEN_STATES, ids=[c[1] for c in BROKEN_STATES])
def test_a_broken_stored_state_is_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(CaseStateError) as caught:
        case_state_from_dict(data)
    assert str(caught.value) == message

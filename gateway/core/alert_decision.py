"""When to raise, update and close an overcrowding case: one case, one alert.

Each closed day of a unit is observed as OVER (at least ``min_confidence`` that more people
live there than the legal cap), UNDER, or UNKNOWN (no estimate: meters offline or too little
coverage). An unknown day neither raises nor clears: it does not break a streak nor extend it.

The case lifecycle is the literal table :data:`TRANSITIONS` from (phase, observation) to a
handler; ``decide`` only looks it up. In words:

- WATCHING --OVER--> SUSPECT, which weighs the evidence of each day: an over day counts 1.
  A case is raised (-> OPEN, one RAISE, ``opened_on`` = the first day of the suspicion) once
  the evidence reaches ``sustain_days`` and the suspicion has lasted ``wait_days`` days with
  evidence (``wait_days`` defaults to ``sustain_days``; the building sets it longer while a
  surge may still be a visit, shorter once strangers replaced the household). Without
  ``partial_evidence_from`` an under day drops the suspicion (SUSPECT --UNDER--> WATCHING: a
  guest, a party, a holiday at home);
- with ``partial_evidence_from`` (a confidence below ``min_confidence``) the evidence is a
  bounded CUSUM: an under day counts by where its confidence stands between that reference
  (0) and ``min_confidence`` (1) on the log-odds scale, clipped to [-2, 1]; the sum stays
  within [0, ``sustain_days``] and the suspicion ends when it is back at 0. With the gateway's
  defaults (0.65 and 0.75) a day at 0.72 adds two thirds of a day, a plainly quiet one takes
  two away. Strong evidence is raised after
  ``sustain_days``; weaker but lasting evidence (frugal renters whose meters understate them)
  later instead of never. Once open, a day that would add to a suspicion also keeps the case
  open (hysteresis), so such a case does not close;
- OPEN --OVER--> OPEN, with an UPDATE (revision + 1) at most every ``update_every_days``;
- OPEN --UNDER--> CLEARING, counting under days; CLEARING --OVER--> OPEN again, never a new
  raise; after ``clear_days`` under days -> WATCHING with a CLOSE (logged by the shell).

**Sequential evidence** (``sequential``, the gateway's default): instead of counting days,
each judged day adds its log-likelihood ratio against a reference, in units of "one day at
``min_confidence``": ``(logit(c) - logit(partial_evidence_from)) / (logit(min_confidence) -
logit(partial_evidence_from))``, clipped to [-2, 1] (a Wald test on the days' over-cap
confidences, bounded like a CUSUM). Above ``strong_from`` (0.95) a day counts more, linearly in
log-odds, up to ``strongest_day`` (4) at ``strongest_confidence`` (0.995) and above: the
confidence of nine people in a flat for two, or of more people known at the door than the cap
allows. Between 0.75 and 0.95 a day still counts one: on the tuning seeds that is where a
family with three or four guests stands, whose meters alone cannot tell a visit from a crowd;
only the days tell it, and the days are what the sum counts. What supports a crowd is
multiplied by the unit's ``evidence_weight``, set each day by the building from what is known
of the household (a prior: a surge while the household's own credentials keep opening the
door is more likely a visit, so it counts half; a surge after the household left counts
double). A case is raised once the sum reaches ``evidence_threshold``, whatever the number of
days: a strongest night raises at once where nothing argues for a visit, two where the flat is
new; evidence just over the reference takes as many days as it needs; every quiet day pays
back. The sum saturates at the threshold, so a long visit builds no reserve.

Two rules keep a case from alarming again about what it already said: an open case is
revised (UPDATE) at most every ``update_every_days`` and only when the median estimate of the
days since the last alert moved by ``revise_min_persons`` or the confidence by
``revise_min_confidence`` (0: always); and after a case closes, no new case is raised for
``cooldown_days`` counted from the day it closed (its evidence may build up meanwhile).

``recent`` keeps the last ``max_evidence_days`` assessments, the evidence an alert carries.
A day not later than the last one assessed is ignored, so closing a day twice (after a restart)
changes nothing. The state survives restarts as JSON (``core.case_state_json``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Final

from gateway.core.daily_usage import DailyUsage
from gateway.core.occupancy import OccupancyEstimate

OVERCROWDING = "overcrowding"
CASE_STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class DayAssessment:
    day: date
    usage: DailyUsage
    estimate: OccupancyEstimate | None
    legal_cap: int
    # Comparisons an inspector can read: e.g. water_vs_baseline (times the unit's own normal),
    # water_vs_building (times the building's median per m2), common_electricity (the factor
    # every flat's electricity shared that day).
    context: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DecisionParams:
    sustain_days: int = 2
    clear_days: int = 5
    min_confidence: float = 0.8
    update_every_days: int = 7
    max_evidence_days: int = 14
    # People above the legal cap before a day counts as over: 0 flags any excess; 1 asks for
    # at least cap + 2, so a household at its cap with a heavy day is not a case.
    excess_persons: int = 0
    # Days under ``min_confidence`` still count, partly, above this confidence, and against
    # the case below it (see the module's docstring). None: an under day drops a suspicion.
    partial_evidence_from: float | None = None
    # Days with evidence a suspicion must last before it is raised, for this unit today (set by
    # the building from what is known of the household); None: sustain_days.
    wait_days: int | None = None
    # While the household's own lock credentials keep opening the door (``core.residents``),
    # wait this many over days instead: a visit ends within a week, a crowd stays.
    resident_sustain_days: int = 7
    # While the unit's baseline is still being learned (its first days under watch), the
    # household is a stranger too: a surge may be a visit, so wait as long as for residents.
    unlearned_sustain_days: int = 7
    # When the household's credentials have stopped opening the door and others have taken
    # over (``core.residents``), the surge is not a visit: there is nobody left to visit.
    newcomer_sustain_days: int = 2
    # A crowd arriving this few days after the flat stood empty (``core.baselines``) is a new
    # household moving in, not a visit: it waits ``newcomer_sustain_days`` too. 0: never.
    moved_in_within_days: int = 4
    # Sequential evidence (the module's docstring); False: the day counts above.
    sequential: bool = False
    evidence_threshold: float = 4.0  # what a case needs, in days at min_confidence
    strongest_day: float = 4.0  # the most one day can add, at strongest_confidence
    strong_from: float = 0.95  # above this a day counts more than one
    strongest_confidence: float = 0.995
    # What supports a crowd counts this much for this unit today (set by the building: the
    # prior of a visit); the weights it chooses from, by what is known of the household.
    evidence_weight: float = 1.0
    resident_evidence_weight: float = 0.5
    unlearned_evidence_weight: float = 0.6
    newcomer_evidence_weight: float = 2.0
    # An unlearned flat using this many times the water of its cohort (same rooms and size
    # in the building) is judged like a known one: the cohort says what a household uses.
    cohort_strong_ratio: float = 2.5
    # Revisions only on a material change (0 and 0: every update_every_days).
    revise_min_persons: float = 0.0
    revise_min_confidence: float = 0.0
    # No new case this many days after a case closed, counted from its close.
    cooldown_days: int = 0


class CasePhase(StrEnum):
    WATCHING = "watching"
    SUSPECT = "suspect"
    OPEN = "open"
    CLEARING = "clearing"


class Observation(StrEnum):
    OVER = "over"
    UNDER = "under"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CaseState:
    """Where one unit's case stands.

    ``streak`` counts days with evidence in SUSPECT, over days in OPEN, under days in CLEARING,
    0 in WATCHING; ``evidence`` is the suspicion's sum in days (0 outside SUSPECT).
    ``opened_on`` is the first day of the suspicion or case; ``revision`` and
    ``last_sent_on`` describe the last alert sent for the open case.
    """

    phase: CasePhase
    streak: int
    opened_on: date | None
    revision: int
    last_sent_on: date | None
    recent: tuple[DayAssessment, ...]
    evidence: float = 0.0
    # What the last alert said (estimate point, confidence), and when the last case closed.
    sent_point: float | None = None
    sent_confidence: float | None = None
    closed_on: date | None = None


def initial_case_state() -> CaseState:
    return CaseState(CasePhase.WATCHING, 0, None, 0, None, ())


class DecisionAction(StrEnum):
    RAISE = "raise"
    UPDATE = "update"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to tell the outside world. ``evidence`` holds the case's days with an estimate,
    oldest first; for RAISE and UPDATE the last one is the over-cap day that fired it."""

    action: DecisionAction
    kind: str
    confidence: float
    evidence: tuple[DayAssessment, ...]


def over_cap_confidence(estimate: OccupancyEstimate, legal_cap: int, excess: int = 0) -> float:
    """Probability-like 0..1 that more than ``legal_cap + excess`` people live in the unit.

    The head count is taken as normal with mean ``point`` and sigma ``high - point`` (the upper
    half-width, which the clipping of ``low`` at zero does not shorten). People come whole, so
    "more than the cap" means at least cap + 1, and the threshold sits half-way, at cap + 0.5.
    When ``at_least`` people are known to be there (the estimate's point is already raised to
    it), the confidence is certain once that floor alone is over the threshold. A floor under
    the threshold does not cut the normal's lower tail: a family at its cap whose meters read
    high (a home business, air conditioning) must not become more certainly a crowd because
    its members open their own door.
    """
    threshold = legal_cap + excess + 0.5
    # ``at_least`` people known to be there: N >= at_least, i.e. above at_least - 0.5.
    known_floor = estimate.at_least - 0.5
    if known_floor >= threshold:
        return 1.0
    sigma = estimate.high - estimate.point
    if not sigma > 0:
        return 1.0 if estimate.point > threshold else 0.0
    probability = _normal_above(threshold, estimate.point, sigma)
    return min(1.0, max(0.0, probability))


def _normal_above(x: float, mean: float, sigma: float) -> float:
    return 0.5 * math.erfc((x - mean) / (sigma * math.sqrt(2)))


def observe(assessment: DayAssessment, params: DecisionParams) -> tuple[Observation, float]:
    """The day's observation and its over-cap confidence (0.0 when unknown)."""
    if assessment.estimate is None:
        return Observation.UNKNOWN, 0.0
    confidence = over_cap_confidence(
        assessment.estimate, assessment.legal_cap, params.excess_persons
    )
    over = confidence >= params.min_confidence
    return (Observation.OVER if over else Observation.UNDER), confidence


MOST_AGAINST_DAYS = 2.0  # what one quiet day can take from a suspicion


def day_evidence(observation: Observation, confidence: float, params: DecisionParams) -> float:
    """What one judged day adds to a suspicion, in days: 1 when over; when under, -1 (a
    suspicion is dropped) or, with ``partial_evidence_from``, where the confidence stands
    between that reference (0) and ``min_confidence`` (1) in log-odds, clipped to
    [-MOST_AGAINST_DAYS, 1]. No day is decisive for a case, but a plainly ordinary day counts
    more against one than a busy day for it: a crowd that lives somewhere does not vanish for
    a day, a visit ends."""
    if observation is Observation.UNKNOWN:
        return 0.0
    if params.sequential:
        return _log_likelihood_ratio(confidence, params)
    if observation is Observation.OVER:
        return 1.0
    reference = params.partial_evidence_from
    if reference is None:
        return -1.0
    scale = _log_odds(params.min_confidence) - _log_odds(reference)
    if not scale > 0:
        return -1.0
    weight = (_log_odds(confidence) - _log_odds(reference)) / scale
    return max(-MOST_AGAINST_DAYS, min(1.0, weight))


def _log_likelihood_ratio(confidence: float, params: DecisionParams) -> float:
    """A day's sequential evidence, before the unit's weight (the module's docstring)."""
    reference = params.partial_evidence_from
    if reference is None:
        reference = 1.0 - params.min_confidence
    scale = _log_odds(params.min_confidence) - _log_odds(reference)
    if not scale > 0:
        base = 1.0 if confidence >= params.min_confidence else -1.0
    else:
        base = (_log_odds(confidence) - _log_odds(reference)) / scale
    base = max(-MOST_AGAINST_DAYS, min(1.0, base))
    span = _log_odds(params.strongest_confidence) - _log_odds(params.strong_from)
    if base < 1.0 or not span > 0 or params.strongest_day <= 1.0:
        return base
    above = (_log_odds(confidence) - _log_odds(params.strong_from)) / span
    return 1.0 + (params.strongest_day - 1.0) * max(0.0, min(1.0, above))


def _log_odds(probability: float) -> float:
    p = min(1.0 - 1e-9, max(1e-9, probability))
    return math.log(p / (1.0 - p))


@dataclass(frozen=True, slots=True)
class _Step:
    assessment: DayAssessment
    confidence: float
    params: DecisionParams
    kind: str
    evidence: float  # what the day adds to a suspicion (``day_evidence``)

    @property
    def day(self) -> date:
        return self.assessment.day


_Outcome = tuple[CaseState, Decision | None]
_Handler = Callable[[CaseState, _Step], _Outcome]


def _stay(state: CaseState, step: _Step) -> _Outcome:
    return state, None


def _weigh_evidence(state: CaseState, step: _Step) -> _Outcome:
    if step.params.sequential:
        return _weigh_sequentially(state, step)
    params, weight = step.params, step.evidence
    if state.phase is CasePhase.WATCHING and weight <= 0:
        return state, None
    suspect = state.phase is CasePhase.SUSPECT
    strength = (state.evidence if suspect else 0.0) + weight
    if strength <= 0 or (params.partial_evidence_from is None and weight < 0):
        dropped = replace(state, phase=CasePhase.WATCHING, streak=0, opened_on=None, evidence=0.0)
        return dropped, None
    # The strength saturates at sustain_days: a long visit builds no reserve that would outlast
    # it, so two plainly quiet days after any visit leave little of the suspicion.
    strength = min(strength, float(params.sustain_days))
    days = (state.streak if suspect else 0) + (1 if weight > 0 else 0)
    wait = params.wait_days or params.sustain_days
    first_day = state.opened_on if suspect else step.day
    # A tiny tolerance: three days of 1/3 each make one day.
    if strength < min(params.sustain_days, wait) - 1e-9 or days < wait or _cooling(state, step):
        suspicion = replace(
            state, phase=CasePhase.SUSPECT, streak=days, opened_on=first_day, evidence=strength
        )
        return suspicion, None
    return _raise(state, step, days, first_day)


def _weigh_sequentially(state: CaseState, step: _Step) -> _Outcome:
    """The sequential test (the module's docstring): support weighted by the unit's prior,
    raised when the sum reaches the threshold."""
    params = step.params
    weight = step.evidence * (params.evidence_weight if step.evidence > 0 else 1.0)
    if state.phase is CasePhase.WATCHING and weight <= 0:
        return state, None
    suspect = state.phase is CasePhase.SUSPECT
    strength = (state.evidence if suspect else 0.0) + weight
    if strength <= 0:
        dropped = replace(state, phase=CasePhase.WATCHING, streak=0, opened_on=None, evidence=0.0)
        return dropped, None
    threshold = params.evidence_threshold
    strength = min(strength, threshold)
    days = (state.streak if suspect else 0) + (1 if weight > 0 else 0)
    first_day = state.opened_on if suspect else step.day
    if strength < threshold - 1e-9 or _cooling(state, step):
        suspicion = replace(
            state, phase=CasePhase.SUSPECT, streak=days, opened_on=first_day, evidence=strength
        )
        return suspicion, None
    return _raise(state, step, days, first_day)


def _cooling(state: CaseState, step: _Step) -> bool:
    """Within ``cooldown_days`` of the day the unit's last case closed."""
    closed = state.closed_on
    return closed is not None and (step.day - closed).days < step.params.cooldown_days


def _raise(state: CaseState, step: _Step, days: int, first_day: date | None) -> _Outcome:
    opened = replace(
        state,
        phase=CasePhase.OPEN,
        streak=days,
        opened_on=first_day,
        revision=0,
        last_sent_on=step.day,
        evidence=0.0,
        sent_point=_point(step.assessment),
        sent_confidence=step.confidence,
    )
    return opened, Decision(DecisionAction.RAISE, step.kind, step.confidence, _evidence(opened))


def _point(assessment: DayAssessment) -> float | None:
    return None if assessment.estimate is None else assessment.estimate.point


def _keep_open(state: CaseState, step: _Step) -> _Outcome:
    streak = state.streak + 1 if state.phase is CasePhase.OPEN else 1
    still_open = replace(state, phase=CasePhase.OPEN, streak=streak)
    last_sent = state.last_sent_on
    if last_sent is not None and (step.day - last_sent).days < step.params.update_every_days:
        return still_open, None
    if not _changed_materially(still_open, step):
        return still_open, None
    updated = replace(
        still_open,
        revision=state.revision + 1,
        last_sent_on=step.day,
        sent_point=_median_point_since(still_open, last_sent),
        sent_confidence=step.confidence,
    )
    return updated, Decision(DecisionAction.UPDATE, step.kind, step.confidence, _evidence(updated))


def _median_point_since(state: CaseState, since: date | None) -> float | None:
    points = [
        a.estimate.point
        for a in state.recent
        if a.estimate is not None and (since is None or a.day > since)
    ]
    return statistics.median(points) if points else None


def _changed_materially(state: CaseState, step: _Step) -> bool:
    """Whether what an alert would say now differs enough from the last one sent (always,
    when neither ``revise_min_persons`` nor ``revise_min_confidence`` is set)."""
    params = step.params
    if params.revise_min_persons <= 0 and params.revise_min_confidence <= 0:
        return True
    point = _median_point_since(state, state.last_sent_on)
    sent_point, sent_confidence = state.sent_point, state.sent_confidence
    moved = (
        params.revise_min_persons > 0
        and point is not None
        and sent_point is not None
        and abs(point - sent_point) >= params.revise_min_persons
    )
    surer = (
        params.revise_min_confidence > 0
        and sent_confidence is not None
        and abs(step.confidence - sent_confidence) >= params.revise_min_confidence
    )
    return moved or surer


def _count_under_day(state: CaseState, step: _Step) -> _Outcome:
    streak = state.streak + 1 if state.phase is CasePhase.CLEARING else 1
    if streak < step.params.clear_days:
        return replace(state, phase=CasePhase.CLEARING, streak=streak), None
    closed = replace(initial_case_state(), recent=state.recent, closed_on=step.day)
    return closed, Decision(DecisionAction.CLOSE, step.kind, step.confidence, _evidence(state))


def _evidence(state: CaseState) -> tuple[DayAssessment, ...]:
    opened_on = state.opened_on
    return tuple(
        assessment
        for assessment in state.recent
        if assessment.estimate is not None and (opened_on is None or assessment.day >= opened_on)
    )


TRANSITIONS: Final[Mapping[tuple[CasePhase, Observation], _Handler]] = {
    (CasePhase.WATCHING, Observation.OVER): _weigh_evidence,
    (CasePhase.WATCHING, Observation.UNDER): _weigh_evidence,  # partial evidence may start one
    (CasePhase.WATCHING, Observation.UNKNOWN): _stay,
    (CasePhase.SUSPECT, Observation.OVER): _weigh_evidence,
    (CasePhase.SUSPECT, Observation.UNDER): _weigh_evidence,
    (CasePhase.SUSPECT, Observation.UNKNOWN): _stay,
    (CasePhase.OPEN, Observation.OVER): _keep_open,
    (CasePhase.OPEN, Observation.UNDER): _count_under_day,
    (CasePhase.OPEN, Observation.UNKNOWN): _stay,
    (CasePhase.CLEARING, Observation.OVER): _keep_open,
    (CasePhase.CLEARING, Observation.UNDER): _count_under_day,
    (CasePhase.CLEARING, Observation.UNKNOWN): _stay,
}


Judge = Callable[[DayAssessment, DecisionParams], tuple[Observation, float]]
_CASE_OPEN = frozenset({CasePhase.OPEN, CasePhase.CLEARING})


def decide(
    state: CaseState,
    assessment: DayAssessment,
    params: DecisionParams,
    *,
    kind: str = OVERCROWDING,
    judge: Judge = observe,
) -> tuple[CaseState, Decision | None]:
    """One step of a case for one newly closed day: the next state and what to send.

    ``judge`` turns the day into an observation and its confidence; the default judges
    overcrowding. Other kinds of case (a leak, a meter fault) reuse the same lifecycle with a
    judge of their own."""
    if state.recent and assessment.day <= state.recent[-1].day:
        return state, None
    observation, confidence = judge(assessment, params)
    evidence = day_evidence(observation, confidence, params)
    if state.phase in _CASE_OPEN and observation is Observation.UNDER and evidence > 0:
        # Hysteresis: what may start a suspicion also keeps an open case open.
        observation = Observation.OVER
    recent = (*state.recent, assessment)[-params.max_evidence_days :]
    handler = TRANSITIONS[(state.phase, observation)]
    step = _Step(assessment, confidence, params, kind, evidence)
    return handler(replace(state, recent=recent), step)

"""One closed day of a whole building: from raw signals to every unit's decision and alert.

This is the single path every consumer of the detector takes: the live daemon's day closer and
``gateway backtest`` both call :func:`close_building_day`, so a replayed trace is judged exactly
as the live building would be. The shells differ only in where the inputs come from (SQLite or
a trace) and where the alert bodies go (signed into the outbox, or a JSON Lines file).

The day is closed for the building at once because the signals are not all per unit: an
elevator's stop counter belongs to a floor, so a unit's share can only be told after its
neighbours have been estimated. In order:

1. each unit's meters become daily usage, its lock events a head count over the lock window;
   what every flat shares that day (``core.baselines``: seasons, habits) is divided out;
2. a first estimate per unit from meters and locks;
3. the building's stops per person are calibrated on the day's floors; each floor's stops, less
   what the neighbours' first estimates explain, give the unit's elevator head count; the final
   estimate adds it;
4. each of the unit's cases (overcrowding, leak, meter fault) takes one step; a RAISE or
   UPDATE comes with its alert body.

Along the way each unit's water is compared with its cohort's (``core.cohorts``), a leak
suspected or open is taken off its water (``leak_floor_m3h``), and what is known of the
household becomes the weight of its evidence (:func:`overcrowding_evidence_weight`) or, with
the older day counts, its wait (:func:`overcrowding_wait_days`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo

from gateway.core.alert_body import UnitFacts, build_alert_body
from gateway.core.alert_decision import (
    OVERCROWDING,
    CasePhase,
    CaseState,
    DayAssessment,
    Decision,
    DecisionAction,
    DecisionParams,
    Judge,
    Observation,
    decide,
    initial_case_state,
    observe,
)
from gateway.core.baselines import (
    BaselineParams,
    UnitBaseline,
    common_factors,
    deflate,
    learn,
    note_empty,
    note_leak,
    ratio_to_baseline,
    ratio_to_building,
)
from gateway.core.cohorts import CohortParams, Kind, cohort_ratio, peers_of
from gateway.core.counters import CounterLimits, Reading
from gateway.core.daily_usage import DailyUsage, summarise_day
from gateway.core.floor_stops import ElevatorNorms, calibrated_norms, unit_head_count_from_stops
from gateway.core.lock_activity import LockDay, LockNorms, lock_head_count
from gateway.core.occupancy import (
    OccupancyRules,
    PerCapitaNorms,
    estimate_occupancy,
    leak_flow_m3h,
    leak_taken_off_m3,
    legal_cap,
)
from gateway.core.other_cases import (
    FAULT_PARAMS,
    LEAK,
    LEAK_PARAMS,
    METER_FAULT,
    judge_meter_fault,
    leak_judge,
)
from gateway.core.residents import (
    ResidentParams,
    learn_residents,
    newcomers_only,
    residents_present,
)


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Everything the detector needs that is not data: one per building."""

    gateway_id: str
    rules: OccupancyRules
    norms: PerCapitaNorms
    decision: DecisionParams
    locks: LockNorms = field(default_factory=LockNorms)
    elevators: ElevatorNorms = field(default_factory=ElevatorNorms)
    baselines: BaselineParams = field(default_factory=BaselineParams)
    residents: ResidentParams = field(default_factory=ResidentParams)
    cohorts: CohortParams = field(default_factory=CohortParams)


@dataclass(frozen=True, slots=True)
class UnitDayInputs:
    """What the shell gathered about one unit for the day being closed."""

    facts: UnitFacts
    readings: Mapping[str, Sequence[Reading]]  # by meter kind, around the day
    limits: Mapping[str, CounterLimits]  # by meter kind
    states: Mapping[str, CaseState]  # the unit's cases by kind before this day (absent: new)
    lock_days: Sequence[LockDay] | None = None  # the lock window up to this day; None: no lock
    baseline: UnitBaseline = field(default_factory=UnitBaseline)


@dataclass(frozen=True, slots=True)
class UnitDayResult:
    unit_id: str
    assessment: DayAssessment
    states: dict[str, CaseState]  # every kind of case after this day
    decisions: list[Decision]  # what changed, at most one per kind
    alerts: list[dict[str, object]]  # bodies to sign or write, for RAISE and UPDATE decisions
    baseline: UnitBaseline  # after learning from this day


def close_building_day(
    units: Sequence[UnitDayInputs],
    day: date,
    tz: tzinfo,
    settings: DetectorSettings,
    closed_at: datetime,
    floor_stops: Mapping[int, float | None] | None = None,
) -> list[UnitDayResult]:
    """Assess every unit on local ``day``, step its case, and build the alert bodies due.

    ``floor_stops`` maps a floor to the day's elevator stops there (``None``: no counter)."""
    usages = [summarise_day(u.facts.unit_id, day, tz, u.readings, u.limits) for u in units]
    factors = common_factors(usages, [u.baseline for u in units], settings.baselines)
    counted = [deflate(usage, factors) for usage in usages]
    lock_counts: list[dict[str, float]] = []
    known_present: list[float] = []
    for unit in units:
        count = None if unit.lock_days is None else lock_head_count(unit.lock_days, settings.locks)
        lock_counts.append({} if count is None else {"locks": count.persons})
        known_present.append(0.0 if count is None else float(count.known_present))
    water_factor = factors.get("water_m3", 1.0)
    leak_floors = [
        _leak_floor(unit, day, settings.norms.leak_memory_days) / water_factor for unit in units
    ]
    first = [
        estimate_occupancy(usage, settings.norms, locks, at_least, floor)
        for usage, locks, at_least, floor in zip(
            counted, lock_counts, known_present, leak_floors, strict=True
        )
    ]
    peers = peers_of([Kind(u.facts.rooms, u.facts.area_m2) for u in units], settings.cohorts)
    areas = [unit.facts.area_m2 for unit in units]
    elevators = settings.elevators
    if floor_stops:
        persons_by_floor: dict[int, float] = {}
        for unit, estimate in zip(units, first, strict=True):
            if estimate is not None:
                floor = unit.facts.floor
                persons_by_floor[floor] = persons_by_floor.get(floor, 0.0) + estimate.point
        elevators = calibrated_norms(floor_stops, persons_by_floor, elevators)
    results = []
    for i, unit in enumerate(units):
        others = dict(lock_counts[i])
        if floor_stops:
            neighbours = [
                estimate.point
                for j, (other, estimate) in enumerate(zip(units, first, strict=True))
                if j != i and other.facts.floor == unit.facts.floor and estimate is not None
            ]
            stops = unit_head_count_from_stops(
                floor_stops.get(unit.facts.floor), unit.facts.floor, neighbours, elevators
            )
            if stops is not None:
                others["elevator"] = stops
        context = _context(usages, areas, i, unit.baseline, factors, settings.baselines)
        cohort = cohort_ratio(usages, peers[i], i, "water_m3", settings.cohorts)
        if cohort is not None:
            context["water_vs_cohort"] = cohort
        leak_off = leak_taken_off_m3(counted[i], settings.norms, leak_floors[i])
        if leak_off > 0:
            context["leak_litres_taken_off"] = leak_off * 1000
        assessment = DayAssessment(
            day=day,
            usage=usages[i],
            estimate=estimate_occupancy(
                counted[i], settings.norms, others, known_present[i], leak_floors[i]
            ),
            legal_cap=legal_cap(unit.facts.rooms, unit.facts.area_m2, settings.rules),
            context=context,
        )
        observation, confidence = observe(assessment, settings.decision)
        if assessment.estimate is not None:
            context["over_cap_confidence"] = confidence
        baseline = note_empty(
            learn(unit.baseline, usages[i], settings.baselines), usages[i], settings.baselines
        )
        baseline = note_leak(baseline, usages[i], leak_flow_m3h(usages[i], settings.norms))
        # Only an ordinary day teaches who lives here: on a day over the cap the people at the
        # door may be guests or a crowd that moved in while the baseline was being learned.
        ordinary_day = observation is not Observation.OVER
        at_the_door = unit.lock_days[-1] if unit.lock_days and ordinary_day else None
        residents = learn_residents(
            unit.baseline.residents, at_the_door, bool(baseline.learned), settings.residents
        )
        baseline = replace(baseline, residents=residents)
        results.append(_step_cases(unit, assessment, settings, closed_at, baseline))
    return results


def _leak_floor(unit: UnitDayInputs, day: date, memory_days: int) -> float:
    """The unit's leak floor (m3/h) while its leak is suspected or open, or was seen running
    through every hour within ``memory_days``; else 0."""
    baseline = unit.baseline
    if baseline.leak_floor_m3h <= 0:
        return 0.0
    leak = unit.states.get(LEAK)
    open_or_suspected = leak is not None and leak.phase is not CasePhase.WATCHING
    seen = baseline.leak_seen_on
    recent = seen is not None and 0 <= (day - seen).days <= memory_days
    return baseline.leak_floor_m3h if open_or_suspected or recent else 0.0


def _context(
    usages: Sequence[DailyUsage],
    areas: Sequence[float],
    index: int,
    baseline: UnitBaseline,
    factors: Mapping[str, float],
    params: BaselineParams,
) -> dict[str, float]:
    context: dict[str, float] = {}
    for kind, name in (("water_m3", "water"), ("electricity_kwh", "electricity")):
        own = ratio_to_baseline(usages[index], baseline, kind, params)
        if own is not None:
            context[f"{name}_vs_baseline"] = own
        building = ratio_to_building(usages, areas, index, kind)
        if building is not None:
            context[f"{name}_vs_building"] = building
        if factors.get(kind, 1.0) != 1.0:
            context[f"common_{name}"] = factors[kind]
    return context


def overcrowding_wait_days(
    baseline: UnitBaseline,
    lock_days: Sequence[LockDay] | None,
    decision: DecisionParams,
    residents: ResidentParams,
    surge_began: date | None = None,
) -> int:
    """Days with evidence an overcrowding case needs before it is raised, by what is known of
    the unit (``DecisionParams.wait_days``); ``surge_began`` is the first day of the suspicion.

    A crowd and a visit look alike for a few days; what tells them apart is who is there and
    how long it lasts. While the household's own credentials still open the door, or while the
    unit's baseline is still being learned (nobody knows the household yet), a surge may be
    guests: wait long enough for a visit to end. When the household's credentials stopped and
    strangers' took over, or the flat stood empty a few days before the surge began (nobody to
    visit), it is a new household: ``newcomer_sustain_days``. Otherwise ``sustain_days``."""
    if residents_present(baseline.residents, lock_days, residents):
        return max(decision.sustain_days, decision.resident_sustain_days)
    if newcomers_only(baseline.residents, lock_days, residents) or _moved_in(
        baseline, surge_began, decision
    ):
        return min(decision.sustain_days, decision.newcomer_sustain_days)
    if not baseline.learned:
        return max(decision.sustain_days, decision.unlearned_sustain_days)
    return decision.sustain_days


def overcrowding_evidence_weight(
    baseline: UnitBaseline,
    lock_days: Sequence[LockDay] | None,
    decision: DecisionParams,
    residents: ResidentParams,
    surge_began: date | None = None,
    water_vs_cohort: float | None = None,
) -> float:
    """How much a day's support for a crowd counts for this unit today, with sequential
    evidence (``DecisionParams.evidence_weight``): the same knowledge as
    :func:`overcrowding_wait_days`, as a prior instead of a day count. While the household's
    own credentials still open the door a surge may be guests (``resident_evidence_weight``);
    once strangers replaced them, or the flat stood empty just before, there is nobody to
    visit (``newcomer_evidence_weight``); while the baseline is learned nobody knows the
    household (``unlearned_evidence_weight``), unless the flat uses ``cohort_strong_ratio``
    times its cohort's water: no household of its kind does (``core.cohorts``)."""
    if residents_present(baseline.residents, lock_days, residents):
        return decision.resident_evidence_weight
    if newcomers_only(baseline.residents, lock_days, residents) or _moved_in(
        baseline, surge_began, decision
    ):
        return decision.newcomer_evidence_weight
    if not baseline.learned:
        strong = water_vs_cohort is not None and water_vs_cohort >= decision.cohort_strong_ratio
        return 1.0 if strong else decision.unlearned_evidence_weight
    return 1.0


def _moved_in(baseline: UnitBaseline, surge_began: date | None, decision: DecisionParams) -> bool:
    """The flat stood empty within ``moved_in_within_days`` before the surge began (0: never
    asked)."""
    within = decision.moved_in_within_days
    if within <= 0 or surge_began is None or baseline.last_empty is None:
        return False
    return 0 <= (surge_began - baseline.last_empty).days <= within


def _surge_began(state: CaseState | None, today: date) -> date:
    """The first day of the unit's current suspicion of a crowd, or ``today`` if none."""
    if state is not None and state.phase is CasePhase.SUSPECT and state.opened_on is not None:
        return state.opened_on
    return today


def _step_cases(
    unit: UnitDayInputs,
    assessment: DayAssessment,
    settings: DetectorSettings,
    closed_at: datetime,
    baseline: UnitBaseline,
) -> UnitDayResult:
    surge_began = _surge_began(unit.states.get(OVERCROWDING), assessment.day)
    params = settings.decision
    if params.sequential:
        weight = overcrowding_evidence_weight(
            baseline,
            unit.lock_days,
            params,
            settings.residents,
            surge_began,
            assessment.context.get("water_vs_cohort"),
        )
        overcrowding = replace(params, evidence_weight=weight)
    else:
        wait = overcrowding_wait_days(
            baseline, unit.lock_days, params, settings.residents, surge_began
        )
        overcrowding = replace(params, wait_days=wait)
    judges: list[tuple[str, DecisionParams, Judge]] = [
        (OVERCROWDING, overcrowding, observe),
        (LEAK, LEAK_PARAMS, leak_judge(settings.norms)),
        (METER_FAULT, FAULT_PARAMS, judge_meter_fault),
    ]
    result = UnitDayResult(unit.facts.unit_id, assessment, {}, [], [], baseline)
    for kind, params, judge in judges:
        before = unit.states.get(kind) or initial_case_state()
        state, decision = decide(before, assessment, params, kind=kind, judge=judge)
        result.states[kind] = state
        if decision is None:
            continue
        result.decisions.append(decision)
        if decision.action is not DecisionAction.CLOSE:
            result.alerts.append(
                build_alert_body(
                    gateway_id=settings.gateway_id,
                    unit=unit.facts,
                    state=state,
                    decision=decision,
                    raised_at=closed_at,
                )
            )
    return result

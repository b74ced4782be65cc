"""Risk tiers of units and buildings, from a 100-point index and a scoring table.

Like Shenzhen Pingshan's grading, each unit holds a 100-point index: it starts at 100 and
every inspection is scored by :data:`SCORING_TABLE`, one row per fact that counts against the
unit (people above the legal cap, partitioned rooms, bunk beds, a confirmed group rental, a
relapse, a fire or structural hazard), each deducting its points per occurrence. A clean
inspection (no row counts) gives points back, but at most once per ``clean_spacing_days`` since
the last adverse finding or credited clean inspection: a red unit inspected daily still needs
weeks of clean visits to move down, which is what "clean inspections over time" means here.

The points map to four tiers by their floors (relaxed/green >= 85, watch/yellow >= 70,
strict/orange >= 40, below that prohibited/red). One-vote veto: while the latest inspection
shows a fire or structural hazard the unit is prohibited whatever its points.

A building follows its units: any prohibited unit makes the building prohibited (the danger is
shared by the whole stairwell); otherwise the building takes its worst unit's tier when at
least ``building_share`` of its graded units hold that tier, and one tier below it when fewer
do. So one orange flat among a hundred makes the building yellow, twenty make it orange.

All numbers live in :class:`TierPolicy`; the table's points are defaults it may override. The
defaults are calibrated so that a typical confirmed case (9 people for a cap of 4, three
partitions, four bunk beds: -48) lands in strict, weekly inspections, and needs two spaced clean
inspections to reach watch and four to reach relaxed; a relapse or a hazard makes it red.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from cloud_bridge.cases.case_file import Case
from cloud_bridge.cases.commands import RecordVisit, RevisitFailed, RevisitPassed
from cloud_bridge.cases.errors import InvalidPolicy
from cloud_bridge.cases.findings import Findings
from cloud_bridge.cases.lifecycle import Event

__all__ = [
    "SCORING_TABLE",
    "TIER_COLOURS",
    "TIER_ORDER",
    "Grade",
    "Inspection",
    "Outcome",
    "ScoreLine",
    "ScoreRule",
    "Tier",
    "TierPolicy",
    "building_tier",
    "grade_unit",
    "inspections_of_case",
    "tier_for_points",
]

MAX_POINTS: Final = 100


class Tier(StrEnum):
    RELAXED = "relaxed"
    WATCH = "watch"
    STRICT = "strict"
    PROHIBITED = "prohibited"


TIER_ORDER: Final = (Tier.RELAXED, Tier.WATCH, Tier.STRICT, Tier.PROHIBITED)
TIER_COLOURS: Final[Mapping[Tier, str]] = MappingProxyType(
    {Tier.RELAXED: "green", Tier.WATCH: "yellow", Tier.STRICT: "orange", Tier.PROHIBITED: "red"}
)


class Outcome(StrEnum):
    """What an inspection was part of: a routine round, a case visit ending in a verdict, or
    a re-visit. A confirmed visit on a relapse ticket counts as ``relapsed``."""

    ROUTINE = "routine"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    REVISIT_PASSED = "revisit_passed"
    RELAPSED = "relapsed"


@dataclass(frozen=True, slots=True)
class Inspection:
    at: datetime
    findings: Findings
    outcome: Outcome = Outcome.ROUTINE
    legal_cap: int | None = None


@dataclass(frozen=True, slots=True)
class ScoreRule:
    """One row of the scoring table: ``points`` deducted per ``count`` of an inspection."""

    key: str
    points: int
    veto: bool
    count: Callable[[Inspection], int]
    meaning: str


def _over_cap(i: Inspection) -> int:
    return 0 if i.legal_cap is None else max(0, i.findings.people_found - i.legal_cap)


SCORING_TABLE: Final[tuple[ScoreRule, ...]] = (
    ScoreRule("person_over_cap", 3, False, _over_cap, "per person above the legal cap"),
    ScoreRule("partitioned_room", 5, False, lambda i: i.findings.rooms_partitioned, "per room"),
    ScoreRule("bunk_bed", 2, False, lambda i: i.findings.bunk_beds, "per bunk bed"),
    ScoreRule(
        "confirmed_group_rental",
        10,
        False,
        lambda i: int(i.outcome is Outcome.CONFIRMED),
        "a visit confirmed the case",
    ),
    ScoreRule(
        "relapse",
        20,
        False,
        lambda i: int(i.outcome is Outcome.RELAPSED),
        "a re-visit failed, or a relapse was confirmed",
    ),
    ScoreRule("fire_hazard", 30, True, lambda i: int(i.findings.fire_hazard), "veto"),
    ScoreRule("structural_hazard", 30, True, lambda i: int(i.findings.structural_hazard), "veto"),
)
_RULE_KEYS: Final = frozenset(rule.key for rule in SCORING_TABLE)


def _mapping(values: Mapping[Tier, int]) -> Mapping[Tier, int]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """The tier numbers: floors of the index, inspection intervals, recovery, building rule."""

    floors: Mapping[Tier, int] = field(
        default_factory=lambda: _mapping({Tier.RELAXED: 85, Tier.WATCH: 70, Tier.STRICT: 40})
    )
    inspection_interval_days: Mapping[Tier, int] = field(
        default_factory=lambda: _mapping(
            {Tier.RELAXED: 30, Tier.WATCH: 14, Tier.STRICT: 7, Tier.PROHIBITED: 1}
        )
    )
    rule_points: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    clean_inspection_points: int = 10
    clean_spacing_days: int = 7
    building_share: float = 0.2

    def __post_init__(self) -> None:
        if set(self.floors) != set(TIER_ORDER[:3]) or not all(
            0 < f <= MAX_POINTS for f in self.floors.values()
        ):
            raise InvalidPolicy("tiers.floors", "relaxed, watch and strict, each 1-100")
        relaxed, watch, strict = (self.floors[tier] for tier in TIER_ORDER[:3])
        if not relaxed > watch > strict:
            raise InvalidPolicy("tiers.floors", "relaxed > watch > strict")
        intervals = self.inspection_interval_days
        if set(intervals) != set(TIER_ORDER) or not all(1 <= d <= 366 for d in intervals.values()):
            raise InvalidPolicy("tiers.inspection_interval_days", "every tier, 1-366 days")
        unknown = sorted(set(self.rule_points) - _RULE_KEYS)
        if unknown:
            raise InvalidPolicy(f"tiers.rule_points.{unknown[0]}", f"one of {sorted(_RULE_KEYS)}")
        if not all(0 <= p <= MAX_POINTS for p in self.rule_points.values()):
            raise InvalidPolicy("tiers.rule_points", "points from 0 to 100")
        if not 0 <= self.clean_inspection_points <= MAX_POINTS:
            raise InvalidPolicy("tiers.clean_inspection_points", "points from 0 to 100")
        if not 0 <= self.clean_spacing_days <= 366:
            raise InvalidPolicy("tiers.clean_spacing_days", "0-366 days")
        if not 0 < self.building_share <= 1:
            raise InvalidPolicy("tiers.building_share", "a share above 0 and at most 1")

    def points_of(self, rule: ScoreRule) -> int:
        return self.rule_points.get(rule.key, rule.points)


@dataclass(frozen=True, slots=True)
class ScoreLine:
    """One line of a unit's grade sheet: what happened, and the points it moved."""

    at: datetime
    reason: str
    points: int


@dataclass(frozen=True, slots=True)
class Grade:
    points: int
    tier: Tier
    vetoed_by: tuple[str, ...]
    lines: tuple[ScoreLine, ...]

    @property
    def colour(self) -> str:
        return TIER_COLOURS[self.tier]


def tier_for_points(points: int, policy: TierPolicy) -> Tier:
    """The tier whose floor ``points`` reaches (the highest floor first)."""
    for tier in TIER_ORDER[:3]:
        if points >= policy.floors[tier]:
            return tier
    return Tier.PROHIBITED


def grade_unit(inspections: Iterable[Inspection], policy: TierPolicy) -> Grade:
    """The unit's index and tier after its ``inspections`` (any order; sorted by time)."""
    points = MAX_POINTS
    credited: datetime | None = None
    spacing = timedelta(days=policy.clean_spacing_days)
    lines: list[ScoreLine] = []
    ordered: Sequence[Inspection] = sorted(inspections, key=lambda i: i.at)
    for inspection in ordered:
        counted = [(rule, n) for rule in SCORING_TABLE if (n := rule.count(inspection))]
        for rule, n in counted:
            lost = min(points, policy.points_of(rule) * n)
            points -= lost
            lines.append(ScoreLine(inspection.at, f"{rule.key} x{n}", -lost))
        if counted:
            credited = inspection.at
        elif credited is None or inspection.at - credited >= spacing:
            gained = min(MAX_POINTS - points, policy.clean_inspection_points)
            points += gained
            credited = inspection.at
            if gained:
                lines.append(ScoreLine(inspection.at, "clean inspection", gained))
    last = ordered[-1] if ordered else None
    vetoed_by = tuple(r.key for r in SCORING_TABLE if r.veto and last and r.count(last))
    tier = Tier.PROHIBITED if vetoed_by else tier_for_points(points, policy)
    return Grade(points, tier, vetoed_by, tuple(lines))


def building_tier(unit_tiers: Iterable[Tier], policy: TierPolicy) -> Tier:
    """The building's tier from its graded units' tiers (rule in the module docstring);
    ``relaxed`` for a building with no graded unit."""
    ranks = [TIER_ORDER.index(tier) for tier in unit_tiers]
    if not ranks:
        return Tier.RELAXED
    worst = max(ranks)
    if TIER_ORDER[worst] is Tier.PROHIBITED:
        return Tier.PROHIBITED
    if ranks.count(worst) / len(ranks) >= policy.building_share:
        return TIER_ORDER[worst]
    return TIER_ORDER[max(worst - 1, 0)]


_OUTCOME_OF_EVENT: Final[Mapping[Event, Outcome]] = MappingProxyType(
    {
        Event.CONFIRM: Outcome.CONFIRMED,
        Event.DISMISS: Outcome.DISMISSED,
        Event.REVISIT_PASSED: Outcome.REVISIT_PASSED,
        Event.REVISIT_FAILED: Outcome.RELAPSED,
    }
)


def inspections_of_case(case: Case, legal_cap: int | None = None) -> tuple[Inspection, ...]:
    """The inspections a case file holds: each recorded visit, with the verdict that followed
    it (a confirmed visit of a relapse ticket counts as a relapse), and each re-visit."""
    found: list[Inspection] = []
    for step in case.steps:
        command = step.command
        if isinstance(command, RecordVisit | RevisitPassed | RevisitFailed):
            outcome = _OUTCOME_OF_EVENT.get(step.event, Outcome.ROUTINE)
            found.append(Inspection(step.at, command.findings, outcome, legal_cap))
        elif step.event in {Event.CONFIRM, Event.DISMISS} and found:
            outcome = _OUTCOME_OF_EVENT[step.event]
            if outcome is Outcome.CONFIRMED and case.relapse_of is not None:
                outcome = Outcome.RELAPSED
            last = found[-1]
            found[-1] = Inspection(last.at, last.findings, outcome, last.legal_cap)
    return tuple(found)

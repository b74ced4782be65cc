"""The scoring table, the veto, recovery over time, tier floors and the building rule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cloud_bridge.cases import commands as c
from cloud_bridge.cases.errors import InvalidPolicy
from cloud_bridge.cases.findings import Findings
from cloud_bridge.cases.tiers import (
    SCORING_TABLE,
    Inspection,
    Outcome,
    ScoreLine,
    Tier,
    TierPolicy,
    building_tier,
    grade_unit,
    inspections_of_case,
    tier_for_points,
)
from tests.cloud_bridge.cases.case_builders import (
    CLEAN,
    CROWDED,
    FIRE,
    FULL_LOOP,
    INSPECTOR,
    T0,
    at,
    run,
)

POLICY = TierPolicy()
R, W, S, P = Tier.RELAXED, Tier.WATCH, Tier.STRICT, Tier.PROHIBITED


def day(n: float) -> timedelta:
    return timedelta(days=n)


def seen(days: float, findings: Findings, outcome: Outcome = Outcome.ROUTINE) -> Inspection:
    return Inspection(T0 + day(days), findings, outcome, legal_cap=4)


SCORING = [
    ("never inspected", [], 100, R, ()),
    ("clean routine rounds keep 100", [seen(0, CLEAN), seen(30, CLEAN)], 100, R, ()),
    ("a confirmed crowded case", [seen(0, CROWDED, Outcome.CONFIRMED)], 52, S, ()),
    ("the same facts on a routine round", [seen(0, CROWDED)], 62, S, ()),
    (
        "a passed re-visit, then spaced clean rounds, move it down",
        [
            seen(0, CROWDED, Outcome.CONFIRMED),
            seen(17, CLEAN, Outcome.REVISIT_PASSED),
            seen(24, CLEAN),
        ],
        72,
        W,
        (),
    ),
    (
        "clean rounds closer than the spacing earn nothing",
        [seen(0, CROWDED, Outcome.CONFIRMED), *[seen(1 + n, CLEAN) for n in range(6)]],
        52,
        S,
        (),
    ),
    (
        "four spaced clean rounds reach relaxed",
        [seen(0, CROWDED, Outcome.CONFIRMED), *[seen(7 * n, CLEAN) for n in range(1, 5)]],
        92,
        R,
        (),
    ),
    (
        "a failed re-visit is a relapse",
        [seen(0, CROWDED, Outcome.CONFIRMED), seen(17, CROWDED, Outcome.RELAPSED)],
        0,
        P,
        (),
    ),
    ("a fire hazard vetoes: prohibited at 64 points", [seen(0, FIRE)], 64, P, ("fire_hazard",)),
    (
        "structural and fire hazards together",
        [seen(0, Findings(2, fire_hazard=True, structural_hazard=True))],
        40,
        P,
        ("fire_hazard", "structural_hazard"),
    ),
    ("the veto ends when the hazard is gone", [seen(0, FIRE), seen(7, CLEAN)], 74, W, ()),
    (
        "order of the input does not matter",
        [seen(7, CLEAN), seen(0, FIRE)],
        74,
        W,
        (),
    ),
    (
        "a dismissed visit with a clean unit costs nothing",
        [seen(0, CLEAN, Outcome.DISMISSED)],
        100,
        R,
        (),
    ),
]


@pytest.mark.parametrize(
    ("inspections", "points", "tier", "veto"), [s[1:] for s in SCORING], ids=[s[0] for s in SCORING]
)
def test_scoring(
    inspections: list[Inspection], points: int, tier: Tier, veto: tuple[str, ...]
) -> None:
    grade = grade_unit(inspections, POLICY)
    assert (grade.points, grade.tier, grade.vetoed_by) == (points, tier, veto)


def test_the_grade_sheet_explains_every_point() -> None:
    grade = grade_unit([seen(0, CROWDED, Outcome.CONFIRMED), seen(17, CLEAN)], POLICY)
    assert grade.lines == (
        ScoreLine(T0, "person_over_cap x5", -15),
        ScoreLine(T0, "partitioned_room x3", -15),
        ScoreLine(T0, "bunk_bed x4", -8),
        ScoreLine(T0, "confirmed_group_rental x1", -10),
        ScoreLine(T0 + day(17), "clean inspection", 10),
    )
    assert grade.colour == "orange"
    assert grade.points == 100 + sum(line.points for line in grade.lines)


def test_the_table_rows_and_their_points() -> None:
    assert [(r.key, r.points, r.veto) for r in SCORING_TABLE] == [
        ("person_over_cap", 3, False),
        ("partitioned_room", 5, False),
        ("bunk_bed", 2, False),
        ("confirmed_group_rental", 10, False),
        ("relapse", 20, False),
        ("fire_hazard", 30, True),
        ("structural_hazard", 30, True),
    ]


def test_points_can_be_configured_and_never_go_below_zero() -> None:
    lenient = TierPolicy(rule_points={"bunk_bed": 0, "partitioned_room": 1})
    assert grade_unit([seen(0, CROWDED)], lenient).points == 82
    harsh = TierPolicy(rule_points={"fire_hazard": 100})
    assert grade_unit([seen(0, FIRE)], harsh).points == 0


@pytest.mark.parametrize(
    ("points", "tier"),
    [(100, R), (85, R), (84, W), (70, W), (69, S), (40, S), (39, P), (0, P)],
)
def test_tier_floors(points: int, tier: Tier) -> None:
    assert tier_for_points(points, POLICY) is tier


BUILDINGS = [
    ([], R),
    ([R, R, R], R),
    ([R, W], W),  # one of two units (50 %) at watch
    ([R] * 99 + [S], W),  # one orange flat among a hundred: one step below it
    ([R] * 80 + [S] * 20, S),  # twenty among a hundred: the building takes it
    ([R] * 9 + [W], R),  # 10 % at watch is below the 20 % share: one step below watch
    ([R] * 99 + [P], P),  # any red flat makes the building red
    ([W] * 10, W),
]


@pytest.mark.parametrize(("units", "tier"), BUILDINGS)
def test_building_follows_its_units(units: list[Tier], tier: Tier) -> None:
    assert building_tier(units, POLICY) is tier


def test_building_share_is_configurable() -> None:
    units = [R] * 9 + [W]
    assert building_tier(units, POLICY) is R
    assert building_tier(units, TierPolicy(building_share=0.1)) is W


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"floors": {R: 70, W: 80, S: 40}}, "tiers.floors"),
        ({"floors": {R: 90, W: 80}}, "tiers.floors"),
        ({"inspection_interval_days": {R: 30}}, "tiers.inspection_interval_days"),
        ({"rule_points": {"mattress": 3}}, "tiers.rule_points.mattress"),
        ({"rule_points": {"bunk_bed": -3}}, "tiers.rule_points"),
        ({"building_share": 0}, "tiers.building_share"),
        ({"clean_spacing_days": -1}, "tiers.clean_spacing_days"),
    ],
)
def test_tier_policy_validates(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidPolicy) as caught:
        TierPolicy(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_the_inspections_of_a_case_file() -> None:
    case, _ = run(FULL_LOOP)
    found = inspections_of_case(case, legal_cap=4)
    assert [(i.at, i.findings, i.outcome) for i in found] == [
        (at(26), CROWDED, Outcome.CONFIRMED),
        (at(24 * 17 + 2), CLEAN, Outcome.REVISIT_PASSED),
    ]
    assert grade_unit(found, POLICY).points == 62
    failed, _ = run([*FULL_LOOP[:9], (c.RevisitFailed(findings=FIRE), INSPECTOR, 24 * 17 + 2)])
    assert inspections_of_case(failed)[-1].outcome is Outcome.RELAPSED
    assert grade_unit(inspections_of_case(failed, 4), POLICY).tier is P

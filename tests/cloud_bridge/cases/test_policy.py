"""The case policy: defaults as documented, loaded from plain data with field paths."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from cloud_bridge.cases.errors import InvalidPolicy
from cloud_bridge.cases.policy import CasePolicy, policy_from_mapping
from cloud_bridge.cases.tiers import Tier


def test_defaults() -> None:
    policy = CasePolicy()
    assert policy.relapse_watch_days == 90
    assert policy.deadlines.revisit_after_days == 7
    assert policy.deadlines.visit_due_days[Tier.PROHIBITED] == 1
    assert dict(policy.tiers.inspection_interval_days) == {
        Tier.RELAXED: 30,
        Tier.WATCH: 14,
        Tier.STRICT: 7,
        Tier.PROHIBITED: 1,
    }
    assert policy_from_mapping({}) == policy


def test_from_mapping() -> None:
    policy = policy_from_mapping(
        {
            "relapse_watch_days": 180,
            "deadlines": {
                "revisit_after_days": 10,
                "visit_due_days": {"relaxed": 10, "watch": 7, "strict": 3, "prohibited": 1},
            },
            "tiers": {
                "building_share": 0.25,
                "rule_points": {"bunk_bed": 1},
                "clean_spacing_days": 14,
            },
        }
    )
    assert policy.relapse_watch_days == 180
    assert policy.deadlines.revisit_after_days == 10
    assert policy.deadlines.visit_due_days[Tier.RELAXED] == 10
    assert policy.tiers.building_share == 0.25 and policy.tiers.rule_points["bunk_bed"] == 1
    with pytest.raises(TypeError):
        policy.tiers.rule_points["bunk_bed"] = 5  # type: ignore[index]


BAD: list[tuple[Any, str]] = [
    ({"revisit_days": 7}, "cases.revisit_days: unknown key"),
    ({"relapse_watch_days": "90"}, "cases.relapse_watch_days: a whole number"),
    ({"relapse_watch_days": -1}, "cases.relapse_watch_days: 0-3660 days"),
    ({"deadlines": []}, "cases.deadlines: a table"),
    ({"deadlines": {"revisit_after": 7}}, "cases.deadlines.revisit_after: unknown key"),
    ({"deadlines": {"revisit_after_days": True}}, "cases.deadlines.revisit_after_days: a whole"),
    (
        {"deadlines": {"visit_due_days": {"amber": 3}}},
        "cases.deadlines.visit_due_days.amber: unknown tier",
    ),
    (
        {"deadlines": {"visit_due_days": {"relaxed": 3}}},
        "cases.deadlines.visit_due_days: every tier",
    ),
    (
        {"tiers": {"floors": {"relaxed": 50, "watch": 70, "strict": 40}}},
        "cases.tiers.floors: relaxed > watch",
    ),
    ({"tiers": {"rule_points": {"mattress": 2}}}, "cases.tiers.rule_points.mattress: one of"),
    ({"tiers": {"building_share": "a fifth"}}, "cases.tiers.building_share: a number"),
    ({"tiers": {"building_share": 1.5}}, "cases.tiers.building_share: a share"),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_errors_name_the_field_path(data: Any, message: str) -> None:
    with pytest.raises(InvalidPolicy) as caught:
        policy_from_mapping(data)
    assert str(caught.value).startswith(f"case policy {message}")


def test_from_a_toml_table() -> None:
    document = tomllib.loads(
        """
        [cases]
        relapse_watch_days = 60

        [cases.deadlines]
        rectification_days = 30
        visit_due_days = { relaxed = 7, watch = 5, strict = 2, prohibited = 1 }

        [cases.tiers]
        floors = { relaxed = 90, watch = 75, strict = 60 }
        inspection_interval_days = { relaxed = 28, watch = 14, strict = 7, prohibited = 1 }
        """
    )
    policy = policy_from_mapping(document["cases"])
    assert (policy.relapse_watch_days, policy.deadlines.rectification_days) == (60, 30)
    assert policy.deadlines.visit_due_days[Tier.STRICT] == 2
    assert policy.tiers.floors[Tier.STRICT] == 60
    assert policy.tiers.inspection_interval_days[Tier.RELAXED] == 28

"""Visit findings: parsed from plain data into frozen objects, with field paths in errors."""

from __future__ import annotations

from typing import Any

import pytest

from cloud_bridge.cases.errors import InvalidFindings
from cloud_bridge.cases.findings import Findings, PhotoRef, parse_findings

DIGEST = "0f" * 32


def test_parse_full_findings() -> None:
    found = parse_findings(
        {
            "people_found": 8,
            "rooms_partitioned": 2,
            "bunk_beds": 4,
            "fire_hazard": True,
            "photos": [DIGEST, "1a" * 32],
            "note": "plywood walls, one window",
        }
    )
    assert found == Findings(
        8, 2, 4, True, False, (PhotoRef(DIGEST), PhotoRef("1a" * 32)), found.note
    )
    assert found.hazards == ("fire_hazard",)
    assert found.problems(legal_cap=4) == (
        "fire hazard",
        "2 partitioned room(s)",
        "4 bunk bed(s)",
        "8 people for a legal cap of 4",
    )


def test_a_clean_unit_has_no_problems() -> None:
    assert parse_findings({"people_found": 2}).problems(legal_cap=4) == ()


BAD: list[tuple[Any, str]] = [
    ({}, "findings.people_found: required"),
    ({"people_found": -1}, "findings.people_found: a whole number from 0 to 500"),
    ({"people_found": 3.5}, "findings.people_found: a whole number"),
    ({"people_found": True}, "findings.people_found: a whole number"),
    ({"people_found": 2, "bunk_beds": 501}, "findings.bunk_beds: a whole number"),
    ({"people_found": 2, "fire_hazard": "yes"}, "findings.fire_hazard: true or false"),
    ({"people_found": 2, "photos": "abc"}, "findings.photos: a list"),
    ({"people_found": 2, "photos": [DIGEST, "AB" * 32]}, "findings.photos[1]: a SHA-256"),
    ({"people_found": 2, "photos": [DIGEST, DIGEST]}, "findings.photos: each photo once"),
    ({"people_found": 2, "note": "x" * 4001}, "findings.note: text of at most 4000"),
    ({"people_found": 2, "beds": 3}, "findings.beds: unknown field"),
    ([1, 2], "findings: an object"),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_invalid_findings_name_the_field(data: Any, message: str) -> None:
    with pytest.raises(InvalidFindings) as caught:
        parse_findings(data)
    assert str(caught.value).startswith(message)


def test_direct_construction_checks_the_same_rules() -> None:
    with pytest.raises(InvalidFindings, match=r"^rooms_partitioned"):
        Findings(people_found=1, rooms_partitioned=-2)
    with pytest.raises(InvalidFindings, match=r"^sha256"):
        PhotoRef("not-a-digest")

"""A team's week: routine rounds by tier, visits and re-visits; CSV and iCalendar parsed back."""

from __future__ import annotations

import csv
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from cloud_bridge.cases.case_file import Case
from cloud_bridge.cases.errors import InvalidCommand
from cloud_bridge.cases.lifecycle import TicketState as S
from cloud_bridge.cases.schedule import (
    CaseToVisit,
    ScheduleRow,
    UnitToInspect,
    iso_week_days,
    week_schedule,
)
from cloud_bridge.cases.schedule_export import (
    CSV_COLUMNS,
    escape_text,
    fold_line,
    schedule_csv,
    schedule_ical,
)
from cloud_bridge.cases.tiers import Tier, TierPolicy
from tests.cloud_bridge.cases.case_builders import SHANGHAI

WEEK = "2026-W49"  # Monday 2026-11-30 to Sunday 2026-12-06
ADDRESS = "上海市静安区临汾路 380 弄 3 号 1204 室, 近共和新路; 北门\n二楼"


def local(m: int, d: int, h: int = 0) -> datetime:
    return datetime(2026, m, d, h, tzinfo=SHANGHAI)


def case(state: S, unit: str, **fields: Any) -> Case:
    return Case(
        state=state, unit_id=unit, opened_at=local(11, 1), updated_at=local(11, 2), **fields
    )


UNITS = [
    UnitToInspect("red", "A 1", Tier.PROHIBITED, local(11, 29, 10)),
    UnitToInspect("orange", "A 2", Tier.STRICT, local(11, 25, 10)),
    UnitToInspect("yellow", "A 3", Tier.WATCH, local(11, 10, 10)),
    UnitToInspect("green", "A 4", Tier.RELAXED, local(11, 15, 10)),
    UnitToInspect("fresh", "A 5", Tier.RELAXED, None),
]
CASES = [
    CaseToVisit(
        11,
        "A 1",
        case(
            S.VISIT_SCHEDULED,
            "red",
            visit_due=local(12, 3),
            visit_at=local(12, 1, 14),
            inspector="i-wang",
        ),
    ),
    CaseToVisit(12, "B 7", case(S.ASSIGNED, "b7", visit_due=local(12, 4))),
    CaseToVisit(
        13,
        ADDRESS,
        case(S.RECTIFICATION_REPORTED, "c9", revisit_opens=local(12, 4), revisit_due=local(12, 5)),
    ),
    CaseToVisit(
        14, "D 2", case(S.REVISIT_DUE, "d2", revisit_opens=local(11, 20), revisit_due=local(11, 21))
    ),
    CaseToVisit(15, "E 1", case(S.RECTIFYING, "e1", rectification_due=local(12, 3))),
    CaseToVisit(16, "F 1", case(S.DISPATCHED, "f1", visit_due=local(12, 10))),
    CaseToVisit(17, "G 1", case(S.CLOSED, "g1")),
]

EXPECTED = [
    # day, kind, unit, ticket, overdue
    ("11-30", "revisit", "d2", 14, True),
    ("11-30", "routine", "fresh", None, False),
    ("11-30", "routine", "red", None, False),
    ("11-30", "routine", "yellow", None, True),
    ("12-01", "visit", "red", 11, False),
    ("12-02", "routine", "orange", None, False),
    ("12-02", "routine", "red", None, False),
    ("12-03", "visit", "b7", 12, False),
    ("12-03", "routine", "red", None, False),
    ("12-04", "revisit", "c9", 13, False),
    ("12-04", "routine", "red", None, False),
    ("12-05", "routine", "red", None, False),
    ("12-06", "routine", "red", None, False),
]


def rows() -> tuple[ScheduleRow, ...]:
    return week_schedule(WEEK, UNITS, CASES, TierPolicy(), SHANGHAI)


def test_the_week() -> None:
    got = [(f"{r.day:%m-%d}", r.kind, r.unit_id, r.ticket_id, r.overdue) for r in rows()]
    assert got == EXPECTED


def test_a_booked_visit_keeps_its_time_and_replaces_the_routine_round() -> None:
    visit = next(r for r in rows() if r.ticket_id == 11)
    assert visit.starts_at == local(12, 1, 14) and visit.inspector == "i-wang"
    assert not [
        r
        for r in rows()
        if r.unit_id == "red" and r.day == date(2026, 12, 1) and r.kind == "routine"
    ]


def test_intervals_are_configurable() -> None:
    twice_a_week = TierPolicy(
        inspection_interval_days={
            Tier.RELAXED: 30,
            Tier.WATCH: 14,
            Tier.STRICT: 3,
            Tier.PROHIBITED: 1,
        }
    )
    orange = [r.day.day for r in week_schedule(WEEK, UNITS[1:2], [], twice_a_week, SHANGHAI)]
    assert orange == [30, 3, 6]  # overdue since 11-28: Monday, then every 3 days


@pytest.mark.parametrize("week", ["2026-49", "2026-W54", "week 3"])
def test_bad_week(week: str) -> None:
    with pytest.raises(InvalidCommand, match=r"^week"):
        iso_week_days(week)


def test_iso_week_days() -> None:
    assert iso_week_days("2026-W01")[0] == date(2025, 12, 29)
    assert iso_week_days(WEEK)[-1] == date(2026, 12, 6)


def test_csv_round_trips() -> None:
    text = schedule_csv(rows(), SHANGHAI)
    assert text.endswith("\r\n") and "\r\n" in text
    parsed = list(csv.reader(text.splitlines(keepends=True)))  # one address spans two lines
    assert tuple(parsed[0]) == CSV_COLUMNS
    assert len(parsed) == 1 + len(EXPECTED)
    revisit = next(r for r in parsed[1:] if r[5] == "13")
    assert revisit[3] == ADDRESS and revisit[7] == "2026-12-05T00:00+08:00" and revisit[8] == "no"
    visit = next(r for r in parsed[1:] if r[5] == "11")
    assert visit[6] == "2026-12-01T14:00+08:00" and visit[9] == "i-wang"


# -- iCalendar ------------------------------------------------------------------------------

STAMP = datetime(2026, 11, 27, 8, 30, 5, tzinfo=UTC)


def ical() -> str:
    return schedule_ical(rows(), team="Linfen, team 2", generated_at=STAMP, tz=SHANGHAI)


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def events(text: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for line in unfold(text):
        if line == "BEGIN:VEVENT":
            found.append({})
        elif found and line != "END:VEVENT" and not line.startswith("END:VCALENDAR"):
            name, _, value = line.partition(":")
            found[-1][name] = value
    return found


def test_ical_lines_end_in_crlf_and_fold_at_75_octets() -> None:
    text = ical()
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    physical = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)
    assert any(line.startswith(" ") for line in physical), "the long address must be folded"
    for line in physical:
        line.encode("utf-8").decode("utf-8")  # no line splits a UTF-8 sequence


def test_ical_events_parse_back() -> None:
    text = ical()
    lines = unfold(text)
    assert lines[:5] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//qunzu-watch//inspection schedule//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    assert "X-WR-CALNAME:Linfen\\, team 2 inspections" in lines
    parsed = events(text)
    assert len(parsed) == len(EXPECTED)
    assert len({e["UID"] for e in parsed}) == len(parsed)
    assert all(e["DTSTAMP"] == "20261127T083005Z" for e in parsed)
    revisit = next(e for e in parsed if e["UID"] == "revisit-13@qunzu-watch")
    assert unescape(revisit["LOCATION"]) == ADDRESS
    assert revisit["DTSTART;VALUE=DATE"] == "20261204" and revisit["DTEND;VALUE=DATE"] == "20261205"
    assert unescape(revisit["DESCRIPTION"]).split("\n") == [
        "revisit of unit c9",
        "due: 2026-12-05T00:00+08:00",
    ]
    visit = next(e for e in parsed if e["UID"] == "visit-11@qunzu-watch")
    assert (visit["DTSTART"], visit["DTEND"]) == ("20261201T060000Z", "20261201T070000Z")
    assert visit["SUMMARY"] == "Visit red (ticket #11)"
    overdue = next(e for e in parsed if e["UID"] == "revisit-14@qunzu-watch")
    assert unescape(overdue["DESCRIPTION"]).endswith("OVERDUE")
    assert "routine-red-20261206@qunzu-watch" in {e["UID"] for e in parsed}


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a,b;c", "a\\,b\\;c"),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines\r\nthree\rfour", "two\\nlines\\nthree\\nfour"),
        ("bell\x07tab\t", "belltab\t"),
    ],
)
def test_escape_text(raw: str, escaped: str) -> None:
    assert escape_text(raw) == escaped


@pytest.mark.parametrize("length", [74, 75, 76, 150, 151, 300])
def test_fold_line_ascii(length: int) -> None:
    line = "X" * length
    folded = fold_line(line)
    physical = folded.split("\r\n")[:-1]
    assert len(physical[0]) == min(length, 75)
    assert all(len(p) <= 75 for p in physical)
    assert folded.replace("\r\n ", "") == line + "\r\n"


def test_fold_line_never_splits_a_character() -> None:
    line = "LOCATION:" + "临" * 60  # 3 octets each
    physical = fold_line(line).split("\r\n")[:-1]
    assert all(len(p.encode("utf-8")) <= 75 for p in physical)
    assert "".join(p[1:] if i else p for i, p in enumerate(physical)) == line


def test_an_empty_week_is_a_valid_calendar() -> None:
    text = schedule_ical([], team="t", generated_at=STAMP, tz=SHANGHAI)
    assert unfold(text)[-2:] == ["X-WR-CALNAME:t inspections", "END:VCALENDAR"]
    assert schedule_csv([], SHANGHAI) == ",".join(CSV_COLUMNS) + "\r\n"
    with pytest.raises(InvalidCommand):
        schedule_ical([], team="t", generated_at=STAMP.replace(tzinfo=None), tz=SHANGHAI)

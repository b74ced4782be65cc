"""Shared pieces of the case-model tests: actors, a clock start, findings, and a walk through
the whole closed loop as (command, actor, hours after the start) rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cloud_bridge.cases import commands as c
from cloud_bridge.cases.case_file import Case, Step, apply
from cloud_bridge.cases.findings import Findings, PhotoRef
from cloud_bridge.cases.roles import Actor, Role

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)  # Monday of ISO week 2026-W49

SYSTEM = Actor("cloud-bridge", Role.SYSTEM)
DISPATCHER = Actor("d-li", Role.DISPATCHER)
INSPECTOR = Actor("i-wang", Role.INSPECTOR)
OTHER_INSPECTOR = Actor("i-zhao", Role.INSPECTOR)
ADMIN = Actor("a-chen", Role.ADMIN)
CITY = Actor("city-platform", Role.API_CLIENT)

PHOTO = PhotoRef("ab" * 32)
CROWDED = Findings(people_found=9, rooms_partitioned=3, bunk_beds=4, photos=(PHOTO,))
CLEAN = Findings(people_found=2)
FIRE = Findings(people_found=6, fire_hazard=True)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


Row = tuple[c.Command, Actor, float]

FULL_LOOP: Sequence[Row] = (
    (c.Open(unit_id="B3-1204", note="alert a-1"), SYSTEM, 0),
    (c.Dispatch(street_office="linfen", visit_due=at(72)), SYSTEM, 0),
    (c.Assign(inspector="i-wang"), DISPATCHER, 1),
    (c.ScheduleVisit(visit_at=at(26)), INSPECTOR, 2),
    (c.RecordVisit(findings=CROWDED), INSPECTOR, 26),
    (c.Confirm(note="9 people, 3 partitions"), INSPECTOR, 27),
    (c.OrderRectification(due=at(24 * 16)), DISPATCHER, 28),
    (c.ReportRectification(revisit_opens=at(24 * 17), revisit_due=at(24 * 18)), DISPATCHER, 240),
    (c.RevisitFallsDue(), SYSTEM, 24 * 17),
    (c.RevisitPassed(findings=CLEAN), INSPECTOR, 24 * 17 + 2),
)


def run(rows: Sequence[Row], case: Case | None = None) -> tuple[Case, list[Step]]:
    steps: list[Step] = []
    for command, actor, hours in rows:
        case, step = apply(case, command, actor, at(hours))
        steps.append(step)
    assert case is not None
    return case, steps

"""Deadlines in the building's calendar days, in a zone without DST and across DST changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cloud_bridge.cases.deadlines import (
    DeadlinePolicy,
    add_local_days,
    current_deadline,
    end_of_local_day,
    escalation,
    lateness,
    local_day_start,
    rectification_due,
    revisit_is_due,
    revisit_window,
    visit_due,
)
from cloud_bridge.cases.errors import InvalidCommand, InvalidPolicy
from cloud_bridge.cases.lifecycle import TicketState as S
from cloud_bridge.cases.tiers import Tier
from tests.cloud_bridge.cases.case_builders import BERLIN, FULL_LOOP, SHANGHAI, at, run

POLICY = DeadlinePolicy()
SANTIAGO = ZoneInfo("America/Santiago")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


VISIT_DUE = [
    # dispatched (local), zone, tier -> due (UTC): the end of the Nth local day
    (datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI), SHANGHAI, Tier.STRICT, utc(2026, 12, 3, 16)),
    (
        datetime(2026, 11, 30, 23, 50, tzinfo=SHANGHAI),
        SHANGHAI,
        Tier.PROHIBITED,
        utc(2026, 12, 1, 16),
    ),
    (datetime(2026, 11, 30, 0, 5, tzinfo=SHANGHAI), SHANGHAI, Tier.RELAXED, utc(2026, 12, 7, 16)),
    # the same instant given in UTC counts the building's days, not UTC's
    (utc(2026, 11, 30, 17, 0), SHANGHAI, Tier.PROHIBITED, utc(2026, 12, 2, 16)),
    # Berlin springs forward on 2026-03-29: local midnight stays midnight
    (datetime(2026, 3, 27, 10, 0, tzinfo=BERLIN), BERLIN, Tier.WATCH, utc(2026, 4, 1, 22)),
    # and falls back on 2026-10-25: that day has 25 hours
    (datetime(2026, 10, 24, 12, 0, tzinfo=BERLIN), BERLIN, Tier.PROHIBITED, utc(2026, 10, 25, 23)),
]


@pytest.mark.parametrize(("dispatched", "tz", "tier", "due"), VISIT_DUE)
def test_visit_due_by_tier(dispatched: datetime, tz: ZoneInfo, tier: Tier, due: datetime) -> None:
    assert visit_due(dispatched, tier, POLICY, tz) == due
    assert visit_due(dispatched, tier, POLICY, tz).astimezone(tz).time().hour == 0


def test_a_skipped_midnight_is_the_instant_the_clocks_jump() -> None:
    # Chile springs forward at 24:00 on 2026-09-05: 2026-09-06 has no 00:00
    assert local_day_start(date(2026, 9, 6), SANTIAGO) == utc(2026, 9, 6, 4)
    assert end_of_local_day(datetime(2026, 9, 5, 12, tzinfo=SANTIAGO), 0, SANTIAGO) == utc(
        2026, 9, 6, 4
    )


def test_rectification_and_revisit_windows() -> None:
    ordered = datetime(2026, 3, 20, 15, 0, tzinfo=BERLIN)
    assert rectification_due(ordered, POLICY, BERLIN) == utc(2026, 4, 4, 22)
    assert revisit_window(datetime(2026, 3, 25, 15, 0, tzinfo=BERLIN), POLICY, BERLIN) == (
        utc(2026, 3, 31, 22),
        utc(2026, 4, 1, 22),
    )
    shanghai = revisit_window(datetime(2026, 12, 1, 10, tzinfo=SHANGHAI), POLICY, SHANGHAI)
    assert shanghai == (utc(2026, 12, 7, 16), utc(2026, 12, 8, 16))
    other = DeadlinePolicy(revisit_after_days=3)
    assert revisit_window(datetime(2026, 12, 1, 10, tzinfo=SHANGHAI), other, SHANGHAI)[0] == utc(
        2026, 12, 3, 16
    )


def test_local_days_keep_the_wall_clock() -> None:
    start = datetime(2026, 3, 28, 0, 0, tzinfo=BERLIN)
    assert add_local_days(start, 2, BERLIN) == utc(2026, 3, 29, 22)  # 47 hours later
    assert add_local_days(start, 2, SHANGHAI) - start == timedelta(days=2)


STATES_AND_DEADLINES = [
    (S.NEW, None),
    (S.DISPATCHED, ("visit", at(72))),
    (S.ASSIGNED, ("visit", at(72))),
    (S.VISIT_SCHEDULED, ("visit", at(72))),
    (S.VISITED, None),
    (S.CONFIRMED, None),
    (S.RECTIFYING, ("rectification", at(24 * 16))),
    (S.RECTIFICATION_REPORTED, ("revisit", at(24 * 18))),
    (S.REVISIT_DUE, ("revisit", at(24 * 18))),
    (S.CLOSED, None),
]


@pytest.mark.parametrize(("state", "deadline"), STATES_AND_DEADLINES)
def test_current_deadline_by_state(state: S, deadline: tuple[str, datetime] | None) -> None:
    _, steps = run(FULL_LOOP)
    reached = [step.to_state for step in steps].index(state)
    case, _ = run(FULL_LOOP[: reached + 1])
    assert case.state is state
    found = current_deadline(case)
    assert (None if found is None else (found.kind, found.due)) == deadline


@pytest.mark.parametrize("tz", [SHANGHAI, BERLIN])
def test_overdue_and_escalation_after_the_grace(tz: ZoneInfo) -> None:
    case, _ = run(FULL_LOOP[:3])  # assigned, visit due at(72)
    due = at(72)
    tick = timedelta(seconds=1)
    assert lateness(case, due - tick) is None
    assert lateness(case, due) == timedelta(0)
    grace_ends = add_local_days(due, POLICY.escalation_grace_days, tz)
    assert escalation(case, grace_ends - tick, POLICY, tz) is None
    raised = escalation(case, grace_ends, POLICY, tz)
    assert raised is not None and raised.escalate_to == "district"
    assert raised.deadline.kind == "visit" and raised.late_by == grace_ends - due
    now_grace = DeadlinePolicy(escalation_grace_days=0)
    assert escalation(case, due, now_grace, tz) is not None


def test_escalation_grace_counts_local_days_across_dst() -> None:
    case, _ = run(FULL_LOOP[:3])
    moved = replace(case, visit_due=utc(2026, 3, 27, 23))  # local midnight, 2026-03-28
    assert escalation(moved, utc(2026, 3, 29, 21, 59), POLICY, BERLIN) is None
    assert escalation(moved, utc(2026, 3, 29, 22), POLICY, BERLIN) is not None


def test_the_timed_revisit_event_is_due_when_the_window_opens() -> None:
    reported, _ = run(FULL_LOOP[:8])
    assert not revisit_is_due(reported, at(24 * 17 - 1))
    assert revisit_is_due(reported, at(24 * 17))
    rectifying, _ = run(FULL_LOOP[:7])
    assert not revisit_is_due(rectifying, at(24 * 30))


def test_naive_now_and_bad_policies_are_refused() -> None:
    case, _ = run(FULL_LOOP[:3])
    with pytest.raises(InvalidCommand, match=r"^now"):
        lateness(case, datetime(2026, 12, 1, 9))
    with pytest.raises(InvalidPolicy, match=r"deadlines\.visit_due_days"):
        DeadlinePolicy(visit_due_days={Tier.RELAXED: 3})
    with pytest.raises(InvalidPolicy, match=r"deadlines\.revisit_after_days"):
        DeadlinePolicy(revisit_after_days=-1)

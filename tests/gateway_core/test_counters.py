"""Cumulative totals into consumption deltas: every meter mishap, and a property test."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.counters import CounterLimits, Delta, DeltaFlag, Reading, consumption_deltas

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WATER = CounterLimits(max_rate_per_hour=3.0, reset_below=1.0)  # 0.75 m3 per 15 minutes at most
WRAPPING = CounterLimits(max_rate_per_hour=3.0, rollover_at=10_000.0, reset_below=1.0)
OK, RESET, ROLLOVER = DeltaFlag.OK, DeltaFlag.RESET, DeltaFlag.ROLLOVER
RESET_IN_GAP = DeltaFlag.RESET_IN_GAP
NEGATIVE, IMPLAUSIBLE, INVALID = DeltaFlag.NEGATIVE, DeltaFlag.IMPLAUSIBLE, DeltaFlag.INVALID
NAN, INF = math.nan, math.inf


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


CASES = [
    # name, limits, [(minute, total)], [(start minute, end minute, amount, flag)]
    ("normal", WATER, [(0, 100.0), (15, 100.1), (30, 100.25)],
     [(0, 15, 0.1, OK), (15, 30, 0.15, OK)]),
    ("flat", WATER, [(0, 5.0), (15, 5.0)], [(0, 15, 0.0, OK)]),
    ("float noise is flat, not negative", WATER, [(0, 100.0), (15, 100.0 - 1e-12)],
     [(0, 15, 0.0, OK)]),
    ("rollover", WRAPPING, [(0, 9999.9), (15, 0.2)], [(0, 15, 0.3, ROLLOVER)]),
    ("a wrap too big for the interval is no rollover", WRAPPING, [(0, 5000.0), (15, 3.0)],
     [(0, 15, 0.0, NEGATIVE)]),
    ("reset: new meter counts from zero", WATER, [(0, 523.4), (15, 0.05), (30, 0.15)],
     [(0, 15, 0.05, RESET), (15, 30, 0.1, OK)]),
    ("reset never spikes", WATER, [(0, 523.4), (15, 0.9)], [(0, 15, 0.0, RESET)]),
    ("a reset after hours without readings is a gap", WATER, [(0, 523.4), (300, 0.0), (315, 0.1)],
     [(0, 300, 0.0, RESET_IN_GAP), (300, 315, 0.1, OK)]),
    ("a reset two hours after the last reading still counts", WATER, [(0, 523.4), (120, 0.4)],
     [(0, 120, 0.4, RESET)]),
    ("negative", WATER, [(0, 100.0), (15, 90.0), (30, 90.1)],
     [(0, 15, 0.0, NEGATIVE), (15, 30, 0.1, OK)]),
    ("implausible spike costs two intervals", WATER, [(0, 100.0), (15, 150.0), (30, 100.2)],
     [(0, 15, 0.0, IMPLAUSIBLE), (15, 30, 0.0, NEGATIVE)]),
    ("plausible over a long gap", WATER, [(0, 100.0), (600, 105.0)], [(0, 600, 5.0, OK)]),
    ("NaN is skipped as an anchor", WATER, [(0, 100.0), (15, NAN), (30, 100.2)],
     [(15, 15, 0.0, INVALID), (0, 30, 0.2, OK)]),
    ("inf is skipped", WATER, [(0, 100.0), (15, INF), (30, 100.2)],
     [(15, 15, 0.0, INVALID), (0, 30, 0.2, OK)]),
    ("negative total is skipped", WATER, [(0, 100.0), (15, -3.0), (30, 100.2)],
     [(15, 15, 0.0, INVALID), (0, 30, 0.2, OK)]),
    ("missing first", WATER, [(0, NAN), (15, 100.0), (30, 100.1)],
     [(0, 0, 0.0, INVALID), (15, 30, 0.1, OK)]),
    ("time going backwards is invalid", WATER, [(0, 100.0), (30, 100.2), (15, 100.1)],
     [(0, 30, 0.2, OK), (15, 15, 0.0, INVALID)]),
    ("a repeated timestamp is invalid", WATER, [(0, 100.0), (0, 100.0), (15, 100.1)],
     [(0, 0, 0.0, INVALID), (0, 15, 0.1, OK)]),
    ("one reading, no delta", WATER, [(0, 100.0)], []),
    ("no readings", WATER, [], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("limits", "totals", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_consumption_deltas(
    limits: CounterLimits,
    totals: list[tuple[float, float]],
    expected: list[tuple[float, float, float, DeltaFlag]],
) -> None:
    readings = [Reading(minutes(m), total) for m, total in totals]
    deltas = consumption_deltas(readings, limits)
    assert [(d.start, d.end, d.flag) for d in deltas] == [
        (minutes(s), minutes(e), flag) for s, e, _, flag in expected
    ]
    assert [d.amount for d in deltas] == pytest.approx([amount for *_, amount, _ in expected])


@pytest.mark.parametrize(
    ("flag", "usable"),
    [(OK, True), (RESET, True), (ROLLOVER, True), (NEGATIVE, False), (IMPLAUSIBLE, False),
     (INVALID, False)],
)  # fmt: skip
def test_usable_flags(flag: DeltaFlag, usable: bool) -> None:
    assert Delta(T0, T0, 0.0, flag).usable is usable


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_rate_per_hour": 0.0}, "max_rate_per_hour must be > 0"),
        ({"max_rate_per_hour": math.nan}, "max_rate_per_hour must be > 0"),
        ({"max_rate_per_hour": 1.0, "rollover_at": 0.0}, "rollover_at must be > 0"),
        ({"max_rate_per_hour": 1.0, "reset_below": -1.0}, "reset_below must be >= 0"),
        ({"max_rate_per_hour": 1.0, "max_reset_hours": 0.0}, "max_reset_hours must be > 0"),
    ],
)
def test_limits_are_checked(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CounterLimits(**kwargs)


totals = st.one_of(
    st.floats(min_value=0, max_value=1e7),
    st.sampled_from([NAN, INF, -INF, -1.0, 0.0, 9999.99, 0.3]),
)
limits = st.builds(
    CounterLimits,
    max_rate_per_hour=st.floats(min_value=0.01, max_value=1e4),
    rollover_at=st.one_of(st.none(), st.floats(min_value=1.0, max_value=1e7)),
    reset_below=st.floats(min_value=0, max_value=100),
)


@settings(derandomize=True, database=None, max_examples=400, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(min_value=-60, max_value=24 * 60), totals), max_size=30),
    limits=limits,
)
def test_deltas_are_never_negative_nan_or_above_the_rate(
    steps: list[tuple[int, float]], limits: CounterLimits
) -> None:
    readings, ts = [], T0
    for step_minutes, total in steps:
        ts += timedelta(minutes=step_minutes)
        readings.append(Reading(ts, total))
    for delta in consumption_deltas(readings, limits):
        hours = (delta.end - delta.start).total_seconds() / 3600
        assert not math.isnan(delta.amount)
        assert delta.amount >= 0
        assert delta.amount <= limits.max_rate_per_hour * hours * (1 + 1e-12)
        assert delta.end >= delta.start
        if not delta.usable:
            assert delta.amount == 0.0

"""Precision from verdicts, per gateway, per kind, per building; open cases are not counted."""

from __future__ import annotations

import pytest

from cloud_bridge.cases.precision import (
    PrecisionRow,
    VerdictRecord,
    precision_by_building,
    precision_by_gateway,
    precision_by_kind,
)

C, F, OPEN = "confirmed", "false_alarm", None
RECORDS = [
    VerdictRecord("gw-1", "overcrowding", "b-1", C),
    VerdictRecord("gw-1", "overcrowding", "b-1", C),
    VerdictRecord("gw-1", "overcrowding", "b-1", F),
    VerdictRecord("gw-1", "leak", "b-1", OPEN),
    VerdictRecord("gw-2", "overcrowding", "b-2", F),
    VerdictRecord("gw-2", "overcrowding", "b-2", OPEN),
    VerdictRecord("gw-3", "leak", "b-2", C),
]


def test_per_gateway() -> None:
    assert precision_by_gateway(RECORDS) == (
        PrecisionRow("gw-1", 2, 1, 1),
        PrecisionRow("gw-2", 0, 1, 1),
        PrecisionRow("gw-3", 1, 0, 0),
    )


def test_per_kind_and_building() -> None:
    kinds = {
        row.key: (row.confirmed, row.false_alarm, row.pending) for row in precision_by_kind(RECORDS)
    }
    assert kinds == {"leak": (1, 0, 1), "overcrowding": (2, 2, 1)}
    buildings = {row.key: row.precision for row in precision_by_building(RECORDS)}
    assert buildings == {"b-1": pytest.approx(2 / 3), "b-2": 0.5}


def test_open_cases_never_enter_the_ratio() -> None:
    only_open = precision_by_gateway([VerdictRecord("gw-9", "x", "b", None)] * 3)
    assert only_open == (PrecisionRow("gw-9", 0, 0, 3),)
    assert only_open[0].precision is None and only_open[0].interval is None
    assert precision_by_gateway([]) == ()


@pytest.mark.parametrize(
    ("confirmed", "false_alarm", "low", "high"),
    [(7, 3, 0.3968, 0.8922), (70, 30, 0.6042, 0.7810), (2, 0, 0.3424, 1.0), (0, 5, 0.0, 0.4345)],
)
def test_wilson_interval(confirmed: int, false_alarm: int, low: float, high: float) -> None:
    interval = PrecisionRow("k", confirmed, false_alarm, 0).interval
    assert interval == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))

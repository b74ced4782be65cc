"""The benchmark's scoring rules (bench/detection/score.py): episodes, at-installation delays
and the delay histogram, as small tables of truth and alerts."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pytest

CHINA = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CHINA)


def _load_score() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "detection" / "score.py"
    spec = importlib.util.spec_from_file_location("bench_detection_score", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


score_module = _load_score()


def _at(days: float) -> datetime:
    return START + timedelta(days=days)


def _alert(unit: str, days: float, revision: int = 0, case: str = "a") -> object:
    return score_module.RaisedAlert(unit, f"{unit}.{case}", revision, _at(days))


def _rental(unit: str, start: float, end: float | None = None) -> object:
    return score_module.Interval(
        unit, "group_rental", _at(start), None if end is None else _at(end)
    )


@pytest.mark.parametrize(
    ("false_alert_days", "episodes"),
    [
        ((), 0),
        ((10.0,), 1),
        ((10.0, 17.0, 24.0), 1),  # a revision every 7 days: one visit, one episode
        ((10.0, 18.0, 27.0), 3),  # every 8-9 days: each one sends somebody again
        ((10.0, 12.0, 30.0), 2),
    ],
)
def test_false_alarm_episodes(false_alert_days: tuple[float, ...], episodes: int) -> None:
    alerts = [_alert("0101", day, revision=i) for i, day in enumerate(false_alert_days)]
    result = score_module.score([], alerts, units=10, trace_days=90.0, trace_start=START)
    assert result.false_alarm_episodes == episodes
    assert result.false_alarms == (1 if false_alert_days else 0)  # cases: revision 0 only


def test_true_alerts_are_not_episodes() -> None:
    truth = [_rental("0101", 5.0, 40.0)]
    alerts = [_alert("0101", 6.0), _alert("0101", 15.0, 1), _alert("0101", 50.0, 0, "b")]
    result = score_module.score(truth, alerts, units=10, trace_days=90.0, trace_start=START)
    assert result.false_alarm_episodes == 1  # only the alert after the rental ended
    assert result.delay_histogram == {1: 1}


def test_rentals_present_at_installation_are_timed_from_it() -> None:
    truth = [_rental("0101", 0.0), _rental("0202", 20.0)]
    alerts = [_alert("0101", 2.4), _alert("0202", 26.5)]
    result = score_module.score(truth, alerts, units=10, trace_days=90.0, trace_start=START)
    assert result.at_install == 1
    assert result.at_install_delays_days == [pytest.approx(2.4)]
    assert result.at_install_median_delay == pytest.approx(2.4)
    assert result.delay_histogram == {3: 1, 7: 1}
    pooled = result.add(result)
    assert pooled.at_install == 2 and pooled.false_alarm_episodes == 0

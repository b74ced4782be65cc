"""Meter registers only fall where the truth says a meter was replaced or wrapped."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_sim.scenarios import ScenarioReadings, build_scenario
from firmware_sim.scenarios.conditions import MeterReplaced, MeterRollover
from firmware_sim.scenarios.meters import (
    ODOMETER_WRAP,
    as_float32,
    float32_text,
    register_value,
)
from firmware_sim.scenarios.model import MeterSpec

pytestmark = pytest.mark.timeout(120)

SPECS = (
    MeterSpec("water_m3", 0.0, 0.001, wraps_at=ODOMETER_WRAP),
    MeterSpec("gas_m3", 0.0, 0.01, wraps_at=ODOMETER_WRAP),
    MeterSpec("electricity_kwh", 0.0, 0.01, float32=True),
)


@given(
    spec=st.sampled_from(SPECS),
    start=st.floats(0, 180_000),
    steps=st.lists(st.floats(0, 5), min_size=1, max_size=60),
)
def test_a_register_never_falls_unless_the_total_wraps(
    spec: MeterSpec, start: float, steps: list[float]
) -> None:
    totals = [start]
    for step in steps:
        totals.append(totals[-1] + step)
    values = [register_value(spec, total) for total in totals]
    for (t0, v0), (t1, v1) in itertools.pairwise(zip(totals, values, strict=True)):
        wrapped = spec.wraps_at is not None and t0 // spec.wraps_at < t1 // spec.wraps_at
        assert v1 >= v0 or wrapped
        assert 0 <= v1 <= t1 + spec.resolution  # never shows more than was used
        assert spec.wraps_at is None or v1 < spec.wraps_at


@given(st.floats(0, 1e6))
def test_float32_text_reads_back_as_the_same_float32(value: float) -> None:
    stored = as_float32(value)
    assert as_float32(float(float32_text(stored))) == stored


def test_large_electricity_totals_lose_resolution_like_an_sdm120() -> None:
    spec = SPECS[2]
    assert register_value(spec, 150_000.004) == register_value(spec, 150_000.0)
    assert register_value(spec, 1234.56) == as_float32(1234.56)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_scenario_totals_fall_only_at_labelled_resets_and_rollovers(seed: int) -> None:
    scenario = build_scenario("confounder_heavy", seed, units=12, days=14)
    readings = ScenarioReadings(scenario)
    horizon = scenario.params.days * 1440
    for timeline in scenario.timelines:
        uid = timeline.unit.unit_id
        for meter in timeline.unit.meters:
            events = [
                (c.from_minute, c.to_minute)
                for c in timeline.conditions
                if isinstance(c, MeterReplaced | MeterRollover) and c.kind == meter.kind
            ]
            last: float | None = None
            last_minute = 0
            for minute in range(0, horizon + 1, 60):
                value = readings.meter_reading(uid, meter.kind, minute)
                if value is None:
                    continue
                if last is not None and value < last:
                    assert any(last_minute < start <= minute for start, _ in events), (
                        uid,
                        meter.kind,
                        minute,
                    )
                last, last_minute = value, minute

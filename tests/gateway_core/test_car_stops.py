"""Stops told from car position and door state: one per floor visit, table-driven."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gateway.core.car_stops import CarSample, CarWatch, stops_by_floor, watch_car

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))


def series(*states: str) -> list[CarSample]:
    """``"3o"``: car at floor 3, door open; ``"3c"``: closed; one sample every 5 seconds."""
    return [
        CarSample(T0 + timedelta(seconds=5 * i), int(state[:-1]), state[-1] == "o")
        for i, state in enumerate(states)
    ]


CASES = [
    ("no samples", (), {}),
    ("car idle, door closed", ("1c", "1c", "1c"), {}),
    ("one stop", ("1c", "1o", "1c"), {1: 1}),
    ("door held and reopened: one stop", ("5c", "5o", "5c", "5o", "5c"), {5: 1}),
    ("up and down, a stop at each end", ("1c", "1o", "1c", "4c", "4o", "4c", "1c", "1o"),
     {1: 2, 4: 1}),
    ("passing floors without opening", ("1c", "2c", "3c", "4c", "4o"), {4: 1}),
    ("door open at first sample: opened before the series", ("3o", "3o", "3c"), {}),
    ("same floor left and visited again: two stops", ("2c", "2o", "2c", "3c", "2c", "2o"),
     {2: 2}),
    ("door seen open right after arriving", ("1c", "6o", "6c"), {6: 1}),
    ("basement", ("1c", "-1c", "-1o", "-1c"), {-1: 1}),
]  # fmt: skip


@pytest.mark.parametrize(("states", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_stops_by_floor(states: tuple[str, ...], expected: dict[int, int]) -> None:
    assert stops_by_floor(series(*states)) == expected


def test_a_stop_per_visit_however_long_the_series() -> None:
    visits = 50
    states = [s for i in range(visits) for s in (f"{2 + i % 3}c", f"{2 + i % 3}o", f"{2 + i % 3}o")]
    stops = stops_by_floor(series(*states))
    assert sum(stops.values()) == visits  # the series opens with a closed door


@pytest.mark.parametrize(("states", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_watching_one_sample_at_a_time_counts_the_same(
    states: tuple[str, ...], expected: dict[int, int]
) -> None:
    watch = CarWatch()
    running = []
    for sample in series(*states):
        before = watch
        watch = watch_car(watch, sample)
        running.append(sum(watch.stops.values()))
        assert before.stops == {} or set(before.stops) <= set(watch.stops)  # never forgets
    assert dict(watch.stops) == expected
    assert running == sorted(running)  # a cumulative counter, as the lift terminals keep

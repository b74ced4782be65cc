"""The heartbeat tracker as a table: promises made, time advanced, who is overdue."""

from __future__ import annotations

import pytest

from qunzu_common.heartbeats import NO_HEARTBEAT, Heartbeats, Overdue, describe_overdue


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# (steps as (advance_s, loop beaten or None, within_s), overdue names at the end)
CASES = [
    pytest.param([], [], id="fresh after registering"),
    pytest.param([(11.0, None, 0.0)], ["poll"], id="poll missed its first promise"),
    pytest.param([(9.0, "poll", 10.0), (9.0, None, 0.0)], [], id="beats keep it fresh"),
    pytest.param(
        [(5.0, "poll", 1.0), (2.0, None, 0.0)], ["poll"], id="a short promise expires first"
    ),
    pytest.param(
        [(5.0, "poll", 1000.0), (25.0, None, 0.0)], ["uplink"], id="idle sleep is not stuck"
    ),
    pytest.param([(40.0, None, 0.0)], ["poll", "uplink"], id="most late first"),
]


@pytest.mark.parametrize(("steps", "expected"), CASES)
def test_overdue_loops(steps: list[tuple[float, str | None, float]], expected: list[str]) -> None:
    clock = FakeMonotonic()
    beats = Heartbeats(clock)
    loops = {"poll": beats.register("poll", 10.0), "uplink": beats.register("uplink", 20.0)}
    for advance, name, within in steps:
        clock.now += advance
        if name is not None:
            loops[name].beat(within)
    assert [o.name for o in beats.overdue()] == expected


def test_exactly_at_the_promise_is_still_in_time() -> None:
    clock = FakeMonotonic()
    beats = Heartbeats(clock)
    beats.register("poll", 10.0)
    clock.now += 10.0
    assert beats.overdue() == []


def test_names_are_unique_and_promises_not_in_the_past() -> None:
    beats = Heartbeats(FakeMonotonic())
    beat = beats.register("poll", 1.0)
    with pytest.raises(ValueError, match="already registered"):
        beats.register("poll", 1.0)
    with pytest.raises(ValueError, match="in the past"):
        beat.beat(-1.0)


def test_unwatched_heartbeat_accepts_beats() -> None:
    # A loop nobody watches may still beat: this fails if the stand-in raises.
    assert NO_HEARTBEAT.beat(5.0) is None


def test_description_names_each_late_loop() -> None:
    text = describe_overdue([Overdue("poll:c1", 12.4), Overdue("uplink", 3.0)])
    assert text == "poll:c1 overdue by 12 s, uplink overdue by 3 s"

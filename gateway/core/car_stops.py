"""Stops of a lift car told from its position and door, for terminals without stop counters.

Some monitoring terminals report only where the car is (``car_floor``) and whether its door is
open (``door_open``). Polled every few seconds, that series says where the car stopped: a stop is
the door opening at a floor. A door that opens, closes and opens again (someone holding it, a
second passenger) before the car leaves the floor is one stop, not two: a stop is counted once
per floor visit, at its first closed-to-open transition. A visit ends when a sample shows the
car at another floor.

The first sample only sets the state: a door already open then opened before the series began,
and its stop belongs to whoever saw it open. A stop shorter than the polling interval is missed;
that is the price of this mode, and why counters are preferred where the terminal has them.

:func:`watch_car` is the same rule one sample at a time, for a poller that keeps a
:class:`CarWatch` between polls; :func:`stops_by_floor` folds it over a whole series.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class CarSample:
    ts: datetime
    car_floor: int
    door_open: bool


@dataclass(frozen=True, slots=True)
class CarWatch:
    """What is known of the car after the samples so far; ``stops`` counts from the first."""

    floor: int | None = None  # None before the first sample
    door_open: bool = False
    counted: bool = False  # a stop already counted for the current floor visit
    stops: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))


def watch_car(watch: CarWatch, sample: CarSample) -> CarWatch:
    """``watch`` after one more sample (samples in time order)."""
    if watch.floor is None:  # the first sample sets the state (see the module)
        return CarWatch(sample.car_floor, sample.door_open, sample.door_open, watch.stops)
    floor, door_open, counted = watch.floor, watch.door_open, watch.counted
    if sample.car_floor != floor:
        # The car moved: a new visit, and whatever the door shows now opened here.
        floor, door_open, counted = sample.car_floor, False, False
    stops = watch.stops
    if sample.door_open and not door_open and not counted:
        stops = MappingProxyType({**stops, floor: stops.get(floor, 0) + 1})
        counted = True
    return CarWatch(floor, sample.door_open, counted, stops)


def stops_by_floor(samples: Iterable[CarSample]) -> dict[int, int]:
    """Floor -> stops seen in ``samples`` (in time order); floors without a stop are absent."""
    watch = CarWatch()
    for sample in samples:
        watch = watch_car(watch, sample)
    return dict(watch.stops)

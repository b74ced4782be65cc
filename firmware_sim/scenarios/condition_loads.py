"""What a flat's conditions add to a day: a leak's flow, a vehicle charging, a home business.

Each function reads the flat's conditions for one day and returns its contribution per 15-minute
slot (m3 or kWh), clipped to the window the condition holds. A leak runs day and night whoever
is in; a charge and a business need somebody living there (a household away on holiday neither
charges nor opens).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from firmware_sim.scenarios.conditions import Condition, EvCharging, HomeBusiness, Leak
from firmware_sim.scenarios.presence import SLOTS_PER_DAY, day_window, slot_overlaps
from firmware_sim.scenarios.schedules import DAY_S, Window
from firmware_sim.scenarios.seasons import DayInfo

__all__ = ["BusinessDay", "business_day", "charging_load", "leak_flow"]


def _add_evenly(load: list[float], window: Window, amount_per_second: float) -> None:
    for slot, share in slot_overlaps(window):
        load[slot] += amount_per_second * share * (DAY_S / SLOTS_PER_DAY)


def _clip(window: Window, limit: Window) -> Window | None:
    start, end = max(window[0], limit[0]), min(window[1], limit[1])
    return (start, end) if start < end else None


def leak_flow(conditions: Sequence[Condition], day: int) -> list[float]:
    """m3 per slot leaking on ``day``: a constant flow from the moment the leak starts, except
    in the hours a leak with ``sealed_hours`` is sealed that day (drawn from the leak's start
    and the day, so any day can be told alone)."""
    flow = [0.0] * SLOTS_PER_DAY
    for condition in conditions:
        if isinstance(condition, Leak):
            window = day_window(condition.from_minute, condition.to_minute, day)
            if window is not None:
                _add_evenly(flow, window, condition.litres_per_hour / 1000.0 / 3600.0)
                for hour in _sealed_hours(condition, day):
                    for slot in range(hour * 4, hour * 4 + 4):
                        flow[slot] = 0.0
    return flow


def _sealed_hours(leak: Leak, day: int) -> list[int]:
    if leak.sealed_hours <= 0:
        return []
    rng = random.Random(f"leak-sealed:{leak.from_minute}:{leak.litres_per_hour}:{day}")
    start = rng.randrange(24)
    return [(start + i) % 24 for i in range(rng.randint(0, leak.sealed_hours))]


def charging_load(
    conditions: Sequence[Condition], day: DayInfo, lived_in: bool, rng: random.Random
) -> list[float]:
    """kWh per slot of an e-bike or a car charging on ``day`` (nothing unless lived in)."""
    load = [0.0] * SLOTS_PER_DAY
    for condition in conditions:
        if not isinstance(condition, EvCharging):
            continue
        holds = day_window(condition.from_minute, condition.to_minute, day.index)
        start_minute = rng.uniform(condition.start_low_minute, condition.start_high_minute)
        kwh = rng.uniform(condition.kwh_low, condition.kwh_high)
        if holds is None or not lived_in or not condition.nights >> day.weekday & 1:
            continue
        start = int(start_minute * 60)
        charge = (start, min(DAY_S, start + int(kwh / condition.power_kw * 3600)))
        clipped = _clip(charge, holds)
        if clipped is not None:
            _add_evenly(load, clipped, condition.power_kw / 3600.0)
    return load


@dataclass(frozen=True, slots=True)
class BusinessDay:
    kwh: list[float]  # per slot
    water_m3: list[float]  # expected per slot (the caller realises it in bursts)
    visits: list[Window]  # each visitor's (arrival, departure) seconds


def business_day(
    conditions: Sequence[Condition], day: DayInfo, lived_in: bool, rng: random.Random
) -> BusinessDay:
    """The extra load and the visitors of a home business open on ``day``."""
    kwh = [0.0] * SLOTS_PER_DAY
    water = [0.0] * SLOTS_PER_DAY
    visits: list[Window] = []
    for condition in conditions:
        if not isinstance(condition, HomeBusiness):
            continue
        holds = day_window(condition.from_minute, condition.to_minute, day.index)
        is_open = condition.open_days >> day.weekday & 1 and not day.public_holiday
        if holds is None or not lived_in or not is_open:
            continue
        hours = _clip((condition.opens_minute * 60, condition.closes_minute * 60), holds)
        if hours is None:
            continue
        seconds = hours[1] - hours[0]
        _add_evenly(kwh, hours, condition.extra_kwh_day * rng.uniform(0.8, 1.2) / seconds)
        _add_evenly(water, hours, condition.extra_water_m3_day * rng.uniform(0.7, 1.3) / seconds)
        expected = condition.visitors_per_day
        count = max(0, round(rng.gauss(expected, math.sqrt(expected))))
        for _ in range(count):
            arrival = rng.randint(hours[0], max(hours[0], hours[1] - 1200))
            visits.append((arrival, min(DAY_S - 1, arrival + rng.randint(1200, 5400))))
    return BusinessDay(kwh, water, sorted(visits))

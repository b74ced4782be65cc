"""When each person is out of the flat on a given day: daily routines with their jitter.

A day is seconds 0 to 86400 after local midnight. ``outings(person, day, rng)`` returns the
person's trips out as ``(leave, back)`` pairs, sorted and disjoint, where ``leave`` 0 means the
person was already out at midnight and ``back`` 86400 that they are still out at the end of the
day. Routines are tables of habits, one small function each:

- day workers leave about 06:45-09:00 and come back about 17:30-20:00 on their workdays (some
  late, some go out again in the evening); on rest days most go out once, some twice;
- students keep school hours on weekdays (senior students come back about 21:00);
- people at home go to the market in the morning and out for a walk in the afternoon;
- night-shift workers leave about 19:00-21:00 on work nights and are back about 07:00-08:45 the
  next morning, so a work night shows on two days; they sleep at home in the day;
- guests go sightseeing most days.

Routines are independent of the day before except through the person's fixed rota, so any day
can be generated on its own.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

from firmware_sim.scenarios.people import Person, Routine
from firmware_sim.scenarios.seasons import DayInfo

__all__ = ["DAY_S", "Window", "merge_windows", "outings"]

DAY_S = 86_400
Window = tuple[int, int]  # (from, to) seconds after local midnight, from < to


def merge_windows(windows: Iterable[Window]) -> list[Window]:
    """``windows`` sorted, with overlapping or touching ones joined."""
    merged: list[Window] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _seconds(trips: list[tuple[float, float]]) -> list[Window]:
    """Trips in minutes (0 and 1440 kept as the day's bounds) as disjoint windows in seconds."""
    windows = []
    for leave, back in trips:
        start = 0 if leave <= 0 else min(max(int(leave * 60), 1), DAY_S - 2)
        end = DAY_S if back >= 1440 else min(max(int(back * 60), start + 1), DAY_S - 1)
        windows.append((start, end))
    return merge_windows(windows)


def _works(person: Person, weekday: int) -> bool:
    return bool(person.workdays >> weekday & 1)


def _free_day(rng: random.Random) -> list[tuple[float, float]]:
    trips = []
    back = 0.0
    if rng.random() < 0.7:
        leave = rng.uniform(570, 930)
        back = leave + rng.uniform(90, 360)
        trips.append((leave, back))
    if rng.random() < 0.25:
        leave = max(rng.uniform(1110, 1200), back + 30)
        if leave < 1320:
            trips.append((leave, min(leave + rng.uniform(90, 180), 1430)))
    return trips


def _day_worker(person: Person, day: DayInfo, rng: random.Random) -> list[Window]:
    if day.public_holiday or not _works(person, day.weekday) or rng.random() < 0.04:
        return _seconds(_free_day(rng))
    leave = person.leave_minute + rng.gauss(0, 12)
    back = person.return_minute + rng.gauss(0, 25)
    if rng.random() < 0.12:
        back += rng.uniform(60, 200)
    back = min(back, 1430)
    trips = [(leave, back)]
    if back < 1230 and rng.random() < 0.08:
        out = rng.uniform(back + 30, 1260)
        trips.append((out, out + rng.uniform(45, 120)))
    return _seconds(trips)


def _student(person: Person, day: DayInfo, rng: random.Random) -> list[Window]:
    if day.rest_day or not _works(person, day.weekday):
        return _seconds(_free_day(rng) if rng.random() < 0.7 else [])
    leave = person.leave_minute + rng.gauss(0, 8)
    back = person.return_minute + rng.gauss(0, 20)
    return _seconds([(leave, min(back, 1430))])


def _at_home(person: Person, day: DayInfo, rng: random.Random) -> list[Window]:
    trips = []
    if rng.random() < 0.7:
        leave = rng.uniform(450, 570)
        trips.append((leave, leave + rng.uniform(40, 120)))
    if rng.random() < 0.45:
        leave = rng.uniform(870, 990)
        trips.append((leave, leave + rng.uniform(45, 120)))
    if rng.random() < 0.2:
        leave = rng.uniform(1140, 1185)
        trips.append((leave, leave + rng.uniform(45, 90)))
    return _seconds(trips)


def _night_shift(person: Person, day: DayInfo, rng: random.Random) -> list[Window]:
    trips: list[tuple[float, float]] = []
    morning_back = 0.0
    if _works(person, (day.weekday - 1) % 7):
        morning_back = person.return_minute + rng.gauss(0, 15)
        trips.append((0, morning_back))
    if _works(person, day.weekday):
        leave = person.leave_minute + rng.gauss(0, 15)
        if rng.random() < 0.3:
            out = rng.uniform(960, 1050)
            if out > morning_back + 240 and out + 90 < leave - 20:
                trips.append((out, out + rng.uniform(30, 90)))
        trips.append((leave, 1440))
    elif rng.random() < 0.5:
        out = max(rng.uniform(900, 1140), morning_back + 240)
        trips.append((out, min(out + rng.uniform(60, 180), 1430)))
    return _seconds(trips)


def _guest(person: Person, day: DayInfo, rng: random.Random) -> list[Window]:
    if rng.random() < 0.65:
        return _seconds([(rng.uniform(540, 660), rng.uniform(900, 1260))])
    if rng.random() < 0.4:
        leave = rng.uniform(600, 900)
        return _seconds([(leave, leave + rng.uniform(60, 150))])
    return []


_ROUTINES: dict[Routine, Callable[[Person, DayInfo, random.Random], list[Window]]] = {
    Routine.DAY_WORKER: _day_worker,
    Routine.STUDENT: _student,
    Routine.AT_HOME: _at_home,
    Routine.NIGHT_SHIFT: _night_shift,
    Routine.GUEST: _guest,
}


def outings(person: Person, day: DayInfo, rng: random.Random) -> list[Window]:
    """The person's trips out on ``day`` as sorted, disjoint (leave, back) seconds."""
    return _ROUTINES[person.routine](person, day, rng)

"""The calendar a building lives by: weekdays, rest days and the seasons.

``day_info(start, index)`` describes day ``index`` of a scenario: its weekday, whether it is a
rest day (a weekend or a fixed-date public holiday: New Year, Labour Day week, National Day
week), and how hard air conditioning works that day. ``cooling`` rises from late May to a
plateau in July and August and is gone by early October; ``heating`` rises from late November
to a peak in January and is gone by early March. Both are piecewise linear over the year, so
consumption changes smoothly from day to day, never in a step on the first of a month.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["DayInfo", "day_info"]

# (day of the year, factor) anchors; the year is taken as 365 days.
_COOLING = (
    (0, 0.0),
    (145, 0.0),  # 25 May
    (166, 0.35),  # 15 Jun
    (186, 0.8),  # 5 Jul
    (201, 1.0),  # 20 Jul
    (232, 1.0),  # 20 Aug
    (248, 0.6),  # 5 Sep
    (268, 0.15),  # 25 Sep
    (278, 0.0),  # 5 Oct
    (365, 0.0),
)
_HEATING = (
    (0, 0.95),  # 1 Jan
    (10, 1.0),  # 10 Jan
    (36, 0.9),  # 5 Feb
    (56, 0.3),  # 25 Feb
    (67, 0.0),  # 8 Mar
    (324, 0.0),  # 20 Nov
    (344, 0.5),  # 10 Dec
    (365, 0.95),
)
_PUBLIC_HOLIDAYS = frozenset(
    [(1, 1)] + [(5, day) for day in range(1, 6)] + [(10, day) for day in range(1, 8)]
)


@dataclass(frozen=True, slots=True)
class DayInfo:
    index: int  # days since the scenario's start
    date: date
    weekday: int  # Monday = 0
    rest_day: bool  # a weekend or a public holiday
    public_holiday: bool
    cooling: float  # 0 to 1: how much of the summer peak of air conditioning
    heating: float  # 0 to 1: how much of the winter peak of heating


def _interpolate(anchors: tuple[tuple[int, float], ...], x: float) -> float:
    for (x0, y0), (x1, y1) in itertools.pairwise(anchors):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return anchors[-1][1]


def day_info(start: date, index: int) -> DayInfo:
    """Day ``index`` of a scenario that starts on ``start``."""
    day = start + timedelta(days=index)
    of_year = min(day.timetuple().tm_yday - 1, 364)
    public = (day.month, day.day) in _PUBLIC_HOLIDAYS
    return DayInfo(
        index=index,
        date=day,
        weekday=day.weekday(),
        rest_day=public or day.weekday() >= 5,
        public_holiday=public,
        cooling=_interpolate(_COOLING, of_year),
        heating=_interpolate(_HEATING, of_year),
    )

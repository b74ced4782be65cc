"""Daily consumption per unit and meter kind, from the raw totals around one local day.

The day is [local midnight, next local midnight) in the building's time zone. The readings
given may start before it and end after it (the shell passes the last reading before midnight
and the first after), so the day is usually fully covered. Each usable delta contributes the
part of its amount that overlaps the day, pro-rated by time: consumption is assumed even inside
one polling interval, which is what a meter polled every 15 minutes can tell.

Coverage is the fraction of the day covered by usable deltas; gaps (meter offline, no readings)
and excluded deltas lower it. With enough coverage the day's amount is extrapolated to the full
day (``amount / coverage``); below ``min_coverage`` the day has no amount for that kind, which
later stages treat as "no signal", never as zero. Notable events become flags such as
``water_m3:reset`` or ``electricity_kwh:gap`` so the operator can see why a day looks odd.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from gateway.core.counters import CounterLimits, DeltaFlag, Reading, consumption_deltas

METER_KINDS = ("water_m3", "electricity_kwh", "gas_m3")
GAP_FLAG_AFTER = timedelta(hours=1)  # uncovered time in a day worth a "gap" flag
_MAX_SPAN_FOR_HOURS = timedelta(hours=1)  # longer deltas cannot tell one hour from another


@dataclass(frozen=True, slots=True)
class DailyUsage:
    unit_id: str
    day: date
    water_m3: float | None
    electricity_kwh: float | None
    gas_m3: float | None
    coverage: Mapping[str, float]
    flags: tuple[str, ...]
    # The least consumed in any fully covered clock hour of the day, per kind: a water meter
    # that never rests (a running toilet, a leak) or an electricity base load.
    quietest_hour: Mapping[str, float] = field(default_factory=dict)

    def amount(self, kind: str) -> float | None:
        """The day's amount of one meter kind (``None``: not enough data); KeyError if unknown."""
        amounts = {
            "water_m3": self.water_m3,
            "electricity_kwh": self.electricity_kwh,
            "gas_m3": self.gas_m3,
        }
        return amounts[kind]


@dataclass(frozen=True, slots=True)
class SeriesDay:
    """One cumulative series (a meter, a stop counter) over one local day."""

    amount: float | None
    coverage: float
    flags: tuple[str, ...]
    quietest_hour: float | None = None


def local_day_span(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """Local midnight of ``day`` and of the next day, as aware UTC datetimes."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def summarise_day(
    unit_id: str,
    day: date,
    tz: tzinfo,
    readings: Mapping[str, Sequence[Reading]],
    limits: Mapping[str, CounterLimits],
    *,
    min_coverage: float = 0.75,
) -> DailyUsage:
    """The unit's usage on local ``day``; kinds outside :data:`METER_KINDS` are ignored."""
    span = local_day_span(day, tz)
    summaries: dict[str, SeriesDay] = {}
    for kind in METER_KINDS:
        kind_readings = readings.get(kind, ())
        if not kind_readings:
            summaries[kind] = SeriesDay(None, 0.0, ())
        elif kind not in limits:
            summaries[kind] = SeriesDay(None, 0.0, (f"{kind}:no_limits",))
        else:
            summaries[kind] = _summarise_kind(kind, kind_readings, limits[kind], span, min_coverage)
    return DailyUsage(
        unit_id=unit_id,
        day=day,
        water_m3=summaries["water_m3"].amount,
        electricity_kwh=summaries["electricity_kwh"].amount,
        gas_m3=summaries["gas_m3"].amount,
        coverage={kind: summary.coverage for kind, summary in summaries.items()},
        flags=tuple(flag for summary in summaries.values() for flag in summary.flags),
        quietest_hour={
            kind: summary.quietest_hour
            for kind, summary in summaries.items()
            if summary.quietest_hour is not None
        },
    )


def summarise_series(
    label: str,
    readings: Sequence[Reading],
    limits: CounterLimits,
    day: date,
    tz: tzinfo,
    *,
    min_coverage: float = 0.75,
) -> SeriesDay:
    """Any cumulative counter over local ``day``, by the same rules as a meter; ``label``
    prefixes its flags (an elevator's stop counter at one floor, for instance)."""
    return _summarise_kind(label, readings, limits, local_day_span(day, tz), min_coverage)


def _summarise_kind(
    kind: str,
    readings: Sequence[Reading],
    limits: CounterLimits,
    span: tuple[datetime, datetime],
    min_coverage: float,
) -> SeriesDay:
    # Times as Unix seconds from here on: the same arithmetic, without datetime objects in the
    # loop that runs for every reading of every meter of every day.
    day_start, day_end = span[0].timestamp(), span[1].timestamp()
    day_seconds = day_end - day_start
    used = 0.0
    covered = 0.0
    events: list[str] = []
    hours = _HourBuckets(day_start, day_end)
    for delta in consumption_deltas(readings, limits):
        start, end = delta.start.timestamp(), delta.end.timestamp()
        overlap = min(end, day_end) - max(start, day_start)
        touches_day = overlap > 0 or (start == end and day_start <= start < day_end)
        if touches_day and delta.flag is not DeltaFlag.OK:
            events.append(delta.flag.value)
        if overlap > 0 and delta.usable:
            used += delta.amount * overlap / (end - start)
            covered += overlap
            hours.add(start, end, delta.amount)
    coverage = min(1.0, covered / day_seconds)
    if day_seconds - covered > GAP_FLAG_AFTER.total_seconds():
        events.append("gap")
    amount = used / coverage if coverage > 0 and coverage >= min_coverage else None
    if amount is None:
        events.append("low_coverage")
    flags = tuple(f"{kind}:{event}" for event in dict.fromkeys(events))
    return SeriesDay(amount, coverage, flags, hours.quietest())


class _HourBuckets:
    """Consumption per hour of the day, pro-rated like the day itself, to find its quietest
    hour. Hours are counted from the local midnight, so a day of 23 or 25 hours works too.
    An hour counts only when usable deltas cover all of it, and only deltas of at most
    ``_MAX_SPAN_FOR_HOURS`` say anything about one hour: a long gap spreads its consumption
    evenly, which would make a quiet night look busy. Times are Unix seconds."""

    def __init__(self, day_start: float, day_end: float) -> None:
        self._start = day_start
        count = round((day_end - day_start) / 3600)
        self._used = [0.0] * count
        self._covered = [0.0] * count

    def add(self, start: float, end: float, amount: float) -> None:
        span = end - start
        if span <= 0 or span > _MAX_SPAN_FOR_HOURS.total_seconds():
            return
        first = max(0, int((start - self._start) // 3600))
        last = min(len(self._used) - 1, int((end - self._start) // 3600))
        for hour in range(first, last + 1):
            hour_start = self._start + hour * 3600
            overlap = min(end, hour_start + 3600) - max(start, hour_start)
            if overlap > 0:
                self._used[hour] += amount * overlap / span
                self._covered[hour] += overlap

    def quietest(self) -> float | None:
        full = [
            used
            for used, covered in zip(self._used, self._covered, strict=True)
            if covered >= 3600 - 1e-6
        ]
        return min(full) if full else None

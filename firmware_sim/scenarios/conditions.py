"""What held in a flat and when: a group rental, each confounder, each meter event.

One frozen dataclass per condition, each with the label it carries in ``truth.csv``, the window
it held (``from_minute`` inclusive to ``to_minute`` exclusive, minutes since the start, None: to
the end) and the parameters the day simulation needs. A condition that is an instant (a meter
replaced, a counter wrapping) holds from that instant to the end of the next local day: the days
whose figures it disturbs, which is where a scorer should attribute a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from firmware_sim.scenarios.people import Person

__all__ = [
    "Condition",
    "EvCharging",
    "GroupRental",
    "Guests",
    "Holiday",
    "HomeBusiness",
    "LargeFamily",
    "Leak",
    "MeterOffline",
    "MeterReplaced",
    "MeterRollover",
    "Vacancy",
]


@dataclass(frozen=True, slots=True)
class GroupRental:
    label: ClassVar[str] = "group_rental"
    from_minute: int
    to_minute: int | None  # rectified (everybody moved out) at this minute
    variant: str  # ordinary, frugal, night_shift, shared_pin
    people: int

    def detail(self) -> str:
        return f"variant={self.variant};people={self.people}"


@dataclass(frozen=True, slots=True)
class LargeFamily:
    label: ClassVar[str] = "large_family"
    from_minute: int
    to_minute: int | None
    people: int

    def detail(self) -> str:
        return f"people={self.people}"


@dataclass(frozen=True, slots=True)
class Guests:
    label: ClassVar[str] = "guests"
    from_minute: int  # the guests arrive
    to_minute: int | None  # they leave
    persons: tuple[Person, ...]

    def detail(self) -> str:
        return f"people={len(self.persons)}"


@dataclass(frozen=True, slots=True)
class Holiday:
    label: ClassVar[str] = "holiday"
    from_minute: int  # the household leaves together
    to_minute: int | None  # and comes back

    def detail(self) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class Vacancy:
    label: ClassVar[str] = "vacancy"
    from_minute: int
    to_minute: int | None

    def detail(self) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class Leak:
    label: ClassVar[str] = "leak"
    from_minute: int
    to_minute: int | None  # repaired
    litres_per_hour: float  # constant, day and night (but see sealed_hours)
    # A running toilet whose flapper seals now and then: on each day up to this many hours
    # (drawn per day, see ``condition_loads.leak_flow``) without any flow. 0: a steady leak.
    sealed_hours: int = 0

    def detail(self) -> str:
        sealed = f";sealed_hours={self.sealed_hours}" if self.sealed_hours else ""
        return f"litres_per_hour={self.litres_per_hour:.1f}{sealed}"


@dataclass(frozen=True, slots=True)
class HomeBusiness:
    label: ClassVar[str] = "home_business"
    from_minute: int
    to_minute: int | None
    trade: str
    extra_kwh_day: float  # spread over opening hours
    extra_water_m3_day: float
    visitors_per_day: float  # clients and couriers, by lift, let in from inside
    open_days: int  # weekdays open as a bit mask, Monday = bit 0
    opens_minute: int
    closes_minute: int

    def detail(self) -> str:
        return f"trade={self.trade}"


@dataclass(frozen=True, slots=True)
class EvCharging:
    label: ClassVar[str] = "ev_charging"
    from_minute: int
    to_minute: int | None
    vehicle: str  # e-bike (charged in the evening) or car (on a timer in the valley tariff)
    kwh_low: float  # energy of one charge, drawn between low and high
    kwh_high: float
    power_kw: float
    nights: int  # weekdays on which a charge starts, as a bit mask, Monday = bit 0
    start_low_minute: int  # a charge starts between these minutes after midnight
    start_high_minute: int

    def detail(self) -> str:
        return f"vehicle={self.vehicle}"


@dataclass(frozen=True, slots=True)
class MeterReplaced:
    label: ClassVar[str] = "meter_replaced"
    from_minute: int  # the old meter came off and the new one counts from ``new_total``
    to_minute: int | None
    kind: str
    new_total: float

    def detail(self) -> str:
        return f"kind={self.kind}"


@dataclass(frozen=True, slots=True)
class MeterOffline:
    label: ClassVar[str] = "meter_offline"
    from_minute: int  # no readings of this meter from here to ``to_minute``
    to_minute: int | None
    kind: str

    def detail(self) -> str:
        return f"kind={self.kind}"


@dataclass(frozen=True, slots=True)
class MeterRollover:
    label: ClassVar[str] = "meter_rollover"
    from_minute: int  # the odometer passes its last digit and starts again from zero
    to_minute: int | None
    kind: str

    def detail(self) -> str:
        return f"kind={self.kind}"


Condition = (
    GroupRental
    | LargeFamily
    | Guests
    | Holiday
    | Vacancy
    | Leak
    | HomeBusiness
    | EvCharging
    | MeterReplaced
    | MeterOffline
    | MeterRollover
)

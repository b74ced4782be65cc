"""Smart-lock activity of one unit per local day, from pseudonymised lock events.

What a door lock tells about occupancy: how many distinct credentials (fingerprints, cards,
PINs, app accounts) open the door over a week, and how often the door is opened from outside.
Credentials arrive here already pseudonymised (a keyed hash made at the gateway's edge, see
``gateway.ble.credentials``); this module never sees a raw one. A mechanical key has the empty
pseudonym and counts as an unlock but not as a credential.

Each signal fails differently, which is why both are kept: residents sharing one PIN hide from
the credential count but not from the unlock count; a household that goes out and in together
opens the door less often than its size suggests, but each member enrolls a fingerprint.

Both are estimates through a norm (credentials and unlocks per person). One fact needs no
norm: credentials that open the door on the *same day* belong, with rare exceptions (a person
who uses a card after a finger, a guest given a PIN of their own), to different people. So the
number of distinct credentials reached on at least ``known_present_days`` days of the window is
a lower bound on the people who live there (``LockHeadCount.known_present``), whatever they eat,
wash or switch on. Frugal renters, who keep the meters at half a family's level each, cannot
hide from it unless they share PINs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

UNLOCK, LOCK, FAILED = "unlock", "lock", "failed"
NIGHT_HOURS = range(0, 6)


@dataclass(frozen=True, slots=True)
class LockEvent:
    ts: datetime
    event: str  # unlock, lock or failed
    credential: str  # a pseudonym; "" for a mechanical key


@dataclass(frozen=True, slots=True)
class LockDay:
    day: date
    unlocks: int
    failed: int
    credentials: frozenset[str]  # pseudonyms that unlocked the door that day
    active_hours: int  # distinct local clock hours with at least one unlock
    night_unlocks: int  # unlocks between 00:00 and 06:00 local time


@dataclass(frozen=True, slots=True)
class LockNorms:
    unlocks_per_person_day: float = 1.2  # most come home once a day, some twice
    credentials_per_person: float = 1.4  # a fingerprint, often a card or PIN too
    window_days: int = 7  # credentials are counted over this many days
    # Distinct credentials on one day, reached on at least this many days of the window, are
    # people known to live there (a lower bound, see the module's docstring).
    known_present_days: int = 3


def summarise_lock_day(events: Iterable[LockEvent], day: date, tz: tzinfo) -> LockDay:
    """The unit's lock activity on local ``day`` (events of other days are ignored)."""
    unlocks = failed = night = 0
    credentials: set[str] = set()
    hours: set[int] = set()
    for event in events:
        local = event.ts.astimezone(tz)
        if local.date() != day:
            continue
        if event.event == FAILED:
            failed += 1
        elif event.event == UNLOCK:
            unlocks += 1
            hours.add(local.hour)
            if local.hour in NIGHT_HOURS:
                night += 1
            if event.credential:
                credentials.add(event.credential)
    return LockDay(day, unlocks, failed, frozenset(credentials), len(hours), night)


@dataclass(frozen=True, slots=True)
class LockHeadCount:
    """Head counts implied by a window of lock days."""

    by_credentials: float
    by_unlocks: float
    credentials: int  # distinct credentials over the window
    unlocks_per_day: float
    # Distinct credentials on one day, reached on ``known_present_days`` days of the window.
    known_present: int = 0

    @property
    def persons(self) -> float:
        # Either way of hiding fails against the other signal, so the larger one counts.
        return max(self.by_credentials, self.by_unlocks)


def lock_head_count(days: Sequence[LockDay], norms: LockNorms) -> LockHeadCount | None:
    """Head count from the last ``norms.window_days`` lock days (``None`` without any)."""
    window = list(days)[-norms.window_days :]
    if not window:
        return None
    credentials = frozenset().union(*(day.credentials for day in window))
    unlocks_per_day = sum(day.unlocks for day in window) / len(window)
    return LockHeadCount(
        by_credentials=len(credentials) / norms.credentials_per_person,
        by_unlocks=unlocks_per_day / norms.unlocks_per_person_day,
        credentials=len(credentials),
        unlocks_per_day=unlocks_per_day,
        known_present=known_present(window, norms.known_present_days),
    )


def known_present(days: Sequence[LockDay], on_days: int) -> int:
    """The largest number of distinct credentials that opened the door on at least ``on_days``
    of ``days`` (0 when there are fewer days than that)."""
    if on_days < 1:
        raise ValueError(f"on_days must be at least 1, not {on_days}")
    daily = sorted((len(day.credentials) for day in days), reverse=True)
    return daily[on_days - 1] if len(daily) >= on_days else 0

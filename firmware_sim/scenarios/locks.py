"""A flat's smart-lock log for one day, from when its people leave and come back.

Coming home unlocks the door from outside: with the person's usual credential (now and then
their second one), with a mechanical key now and then (logged with an empty credential), after
a failed attempt now and then (a wet finger, a mistyped PIN). People arriving within two minutes
of each other come in on one unlock; a person without a credential (a small child, a guest
without a PIN) is let in by whoever is at home and leaves no trace. Opening from inside is never
logged; some locks log ``lock`` (empty credential) when the door closes behind someone leaving.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from firmware_sim.scenarios.people import Person
from firmware_sim.scenarios.schedules import DAY_S, Window

__all__ = ["TOGETHER_S", "LockEvent", "arrivals", "departures", "lock_events"]

TOGETHER_S = 120  # people at the door within this many seconds come and go together
LockEvent = tuple[int, str, str]  # (second of the day, event, credential)


def arrivals(trips: Sequence[tuple[Person, Sequence[Window]]]) -> list[tuple[int, Person]]:
    """(second, person) of every arrival home, in time order, groups kept whole."""
    return sorted(
        ((back, person) for person, windows in trips for _, back in windows if back < DAY_S),
        key=lambda item: item[0],
    )


def departures(trips: Sequence[tuple[Person, Sequence[Window]]]) -> list[int]:
    """The second of every departure, in time order."""
    return sorted(leave for _, windows in trips for leave, _ in windows if leave > 0)


def _first_of_groups(times: Sequence[int]) -> list[int]:
    """Indexes of the times that start a new group (more than TOGETHER_S after the last)."""
    starts = []
    last = -TOGETHER_S - 1
    for i, t in enumerate(times):
        if t - last > TOGETHER_S:
            starts.append(i)
        last = t
    return starts


def lock_events(
    trips: Sequence[tuple[Person, Sequence[Window]]],
    logs_leaving: bool,
    rng: random.Random,
) -> list[LockEvent]:
    """The lock's events of the day, in time order."""
    events: list[LockEvent] = []
    coming = arrivals(trips)
    for i in _first_of_groups([t for t, _ in coming]):
        t, person = coming[i]
        if not person.credentials:
            continue
        if rng.random() < 0.015:
            events.append((t, "unlock", ""))  # mechanical key
            continue
        credentials = person.credentials
        usual = len(credentials) == 1 or rng.random() < 0.8
        credential = credentials[0] if usual else rng.choice(credentials[1:])
        if rng.random() < 0.03:
            events.append((max(0, t - rng.randint(5, 25)), "failed", credential))
        events.append((t, "unlock", credential))
    if logs_leaving:
        going = departures(trips)
        for i in _first_of_groups(going):
            events.append((min(DAY_S - 1, going[i] + rng.randint(3, 20)), "lock", ""))
    events.sort()
    return events

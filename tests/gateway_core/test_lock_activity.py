"""Lock activity: per-day counts from pseudonymised events, and the head counts they imply."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from gateway.ble.credentials import CredentialPseudonymiser, new_pseudonym_key
from gateway.core.lock_activity import (
    LockDay,
    LockEvent,
    LockNorms,
    known_present,
    lock_head_count,
    summarise_lock_day,
)

CST = timezone(timedelta(hours=8))
DAY = date(2026, 3, 2)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


def test_a_day_of_events_becomes_counts() -> None:
    events = [
        LockEvent(at(1, 30), "unlock", "p-night"),  # a night-shift worker comes home
        LockEvent(at(8), "lock", "p-a"),
        LockEvent(at(18, 5), "unlock", "p-a"),
        LockEvent(at(18, 40), "unlock", "p-b"),
        LockEvent(at(18, 41), "failed", "p-c"),
        LockEvent(at(19), "unlock", ""),  # mechanical key: an unlock, not a credential
        LockEvent(at(23, 59) + timedelta(minutes=2), "unlock", "p-next-day"),
    ]
    assert summarise_lock_day(events, DAY, CST) == LockDay(
        day=DAY,
        unlocks=4,
        failed=1,
        credentials=frozenset({"p-night", "p-a", "p-b"}),
        active_hours=3,
        night_unlocks=1,
    )


def lock_day(offset: int, unlocks: int, credentials: set[str]) -> LockDay:
    return LockDay(DAY + timedelta(days=offset), unlocks, 0, frozenset(credentials), 3, 0)


@pytest.mark.parametrize(
    ("days", "by_credentials", "by_unlocks", "persons"),
    [
        # A couple, one fingerprint each, home once or twice a day.
        ([lock_day(i, 3, {"a", "b"}) for i in range(7)], 2 / 1.4, 3 / 1.2, 3 / 1.2),
        # Nine people sharing one PIN: the credential count hides them, the unlocks do not.
        ([lock_day(i, 14, {"pin"}) for i in range(7)], 1 / 1.4, 14 / 1.2, 14 / 1.2),
        # Eight enrolled fingerprints, not all used every day: the week counts them all.
        (
            [lock_day(i, 6, {f"f{(i + k) % 8}" for k in range(4)}) for i in range(7)],
            8 / 1.4,
            6 / 1.2,
            8 / 1.4,
        ),
    ],
)
def test_head_count_takes_the_signal_that_hides_least(
    days: list[LockDay], by_credentials: float, by_unlocks: float, persons: float
) -> None:
    count = lock_head_count(days, LockNorms())
    assert count is not None
    assert count.by_credentials == pytest.approx(by_credentials)
    assert count.by_unlocks == pytest.approx(by_unlocks)
    assert count.persons == pytest.approx(persons)


def test_only_the_window_counts_and_no_days_means_no_count() -> None:
    old = [lock_day(i, 2, {f"old-{i}"}) for i in range(10)]
    recent = [lock_day(10 + i, 2, {"a"}) for i in range(7)]
    count = lock_head_count(old + recent, LockNorms(window_days=7))
    assert count is not None and count.credentials == 1
    assert lock_head_count([], LockNorms()) is None


def test_credentials_on_the_same_day_are_people_known_to_be_there() -> None:
    # Seven frugal renters, one credential each, six or seven of them home on most days.
    renters = [f"r{k}" for k in range(7)]
    week = [lock_day(i, 7, set(renters[: 6 + i % 2])) for i in range(7)]
    count = lock_head_count(week, LockNorms())
    assert count is not None and count.known_present == 7  # reached on days 1, 3 and 5
    assert count.known_present > count.by_credentials  # 7 / 1.4 = 5


def test_a_family_enrolling_many_credentials_is_not_more_people() -> None:
    # Four people, each with a fingerprint and a card (eight credentials in the week), using
    # one of them each day: the week's count says 5.7, the same-day count stays at 4.
    week = [
        lock_day(
            i, 5, {f"{who}-{'card' if (i + k) % 3 else 'finger'}" for k, who in enumerate("abcd")}
        )
        for i in range(7)
    ]
    count = lock_head_count(week, LockNorms())
    assert count is not None and count.credentials == 8
    assert count.known_present == 4


@pytest.mark.parametrize(
    ("daily", "on_days", "expected"),
    [
        ([9, 2, 2, 2, 2, 2, 2], 3, 2),  # one busy day (a party) is not a head count
        ([9, 9, 2, 2, 2, 2, 2], 3, 2),
        ([9, 9, 8, 2, 2, 2, 2], 3, 8),
        ([5, 5], 3, 0),  # fewer days than asked: nothing is known yet
        ([5, 5], 1, 5),
    ],
)
def test_known_present_is_reached_on_enough_days(
    daily: list[int], on_days: int, expected: int
) -> None:
    days = [lock_day(i, n, {f"c{k}" for k in range(n)}) for i, n in enumerate(daily)]
    assert known_present(days, on_days) == expected
    with pytest.raises(ValueError, match="on_days must be at least 1"):
        known_present(days, 0)


def test_pseudonyms_are_stable_per_key_and_unlinkable_across_keys() -> None:
    one, other = CredentialPseudonymiser(new_pseudonym_key()), CredentialPseudonymiser(b"k" * 32)
    assert one.pseudonym("fp-3a9c") == one.pseudonym("fp-3a9c")
    assert one.pseudonym("fp-3a9c") != one.pseudonym("fp-3a9d")
    assert one.pseudonym("fp-3a9c") != other.pseudonym("fp-3a9c")
    assert "3a9c" not in other.pseudonym("fp-3a9c")  # fixed key: deterministic
    assert len(one.pseudonym("card 0042")) == 16
    assert one.pseudonym("") == ""
    with pytest.raises(ValueError, match="at least 16 bytes"):
        CredentialPseudonymiser(b"short")
